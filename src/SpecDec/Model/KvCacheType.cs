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
