namespace SpecDec.Model;

/// <summary>
/// Element type of a KV cache. F16 halves its memory and the bytes attention reads per token (what long
/// contexts spend their decode time on), at the cost of rounding keys and values to half precision
/// (saturating at ±65504), as llama.cpp's default f16 cache does.
/// </summary>
public enum KvCacheType
{
    F32,
    F16,
}

public static class KvCacheTypes
{
    /// <summary>Bytes of one stored key or value element: 4 for F32, 2 for F16.</summary>
    public static int ElementBytes(this KvCacheType type) => type == KvCacheType.F16 ? sizeof(ushort) : sizeof(float);
}
