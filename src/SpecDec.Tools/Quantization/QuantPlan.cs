using SpecDec.Formats;
using SpecDec.Model;
using SpecDec.Tensors;
using SpecDec.Tools.Conversion;

namespace SpecDec.Tools.Quantization;

/// <summary>
/// The type each tensor gets under a <see cref="QuantScheme"/>, following llama.cpp's llama_tensor_get_type:
/// <list type="bullet">
/// <item>1-D tensors (norms, biases, rope_freqs) stay F32.</item>
/// <item>A single-type scheme gives every matrix that type.</item>
/// <item>Q4_K_M: Q4_K by default; the output head (or token_embd when the embeddings are tied, since it is the
/// head too) Q6_K; attn_v and ffn_down Q6_K in the layers use_more_bits picks (the first and last eighth, and
/// every third layer between).</item>
/// <item>A row length that is not a whole number of blocks falls back as llama.cpp does: Q6_K → Q8_0, and Q4_K →
/// Q8_0 (llama.cpp picks Q5_0, which SpecDec does not implement; Q8_0 is the closer type it has); then F16 if
/// even 32 does not divide the row. For Q4_K_M, such an output head becomes Q8_0, as in llama.cpp.</item>
/// </list>
/// </summary>
public static class QuantPlan
{
    /// <summary>Parses a scheme name as the CLI spells it (q8_0, q4_k_m, f16, …).</summary>
    public static QuantScheme Parse(string name) => name.ToLowerInvariant() switch
    {
        "f32" => QuantScheme.F32,
        "f16" => QuantScheme.F16,
        "bf16" => QuantScheme.BF16,
        "q8_0" => QuantScheme.Q8_0,
        "q4_0" => QuantScheme.Q4_0,
        "q4_k" => QuantScheme.Q4_K,
        "q6_k" => QuantScheme.Q6_K,
        "q4_k_m" => QuantScheme.Q4_K_M,
        _ => throw new SpecDecException($"unknown quantization type '{name}' (expected one of {Names})"),
    };

    public const string Names = "f32, f16, bf16, q8_0, q4_0, q4_k, q6_k, q4_k_m";

    /// <summary>llama.cpp's general.file_type (enum llama_ftype) for the scheme; Q4_K is reported as Q4_K_S.</summary>
    public static uint FileType(QuantScheme scheme) =>
        scheme == QuantScheme.Q4_K_M ? GgufFileType.Q4_K_M : GgufFileType.Of(SingleType(scheme));

    /// <summary>The type for tensor <paramref name="name"/> with GGUF dims (dims[0] = row length).</summary>
    /// <param name="layerCount">Transformer blocks in the model (for Q4_K_M's per-layer choices).</param>
    /// <param name="tiedEmbeddings">True when the file has no output.weight, so token_embd is also the head.</param>
    public static GgmlType TypeFor(QuantScheme scheme, string name, long[] dims, int layerCount, bool tiedEmbeddings)
    {
        if (CountDims(dims) < 2 || !name.EndsWith(".weight", StringComparison.Ordinal) || name.Contains("_norm.", StringComparison.Ordinal))
            return GgmlType.F32;
        GgmlType type = scheme == QuantScheme.Q4_K_M ? Q4KMType(name, dims[0], layerCount, tiedEmbeddings) : SingleType(scheme);
        return Fallback(type, dims[0]);
    }

    /// <summary>The one type every matrix gets under a single-type scheme.</summary>
    static GgmlType SingleType(QuantScheme scheme) => scheme switch
    {
        QuantScheme.F32 => GgmlType.F32,
        QuantScheme.F16 => GgmlType.F16,
        QuantScheme.BF16 => GgmlType.BF16,
        QuantScheme.Q8_0 => GgmlType.Q8_0,
        QuantScheme.Q4_0 => GgmlType.Q4_0,
        QuantScheme.Q4_K => GgmlType.Q4_K,
        QuantScheme.Q6_K => GgmlType.Q6_K,
        _ => throw new ArgumentOutOfRangeException(nameof(scheme)),
    };

    static GgmlType Q4KMType(string name, long rowLength, int layerCount, bool tiedEmbeddings)
    {
        if (name == TensorNames.Output || (tiedEmbeddings && name == TensorNames.TokenEmbedding))
            return rowLength % 256 != 0 ? GgmlType.Q8_0 : GgmlType.Q6_K;
        int layer = LayerOf(name);
        if (layer >= 0 && (name == TensorNames.AttnV(layer) || name == TensorNames.FfnDown(layer)) && UseMoreBits(layer, layerCount))
            return GgmlType.Q6_K;
        return GgmlType.Q4_K;
    }

    /// <summary>llama.cpp's use_more_bits: the first and last eighth of the layers, and every third one between.</summary>
    public static bool UseMoreBits(int layer, int layerCount) =>
        layer < layerCount / 8 || layer >= 7 * layerCount / 8 || (layer - layerCount / 8) % 3 == 2;

    static GgmlType Fallback(GgmlType type, long rowLength)
    {
        if (rowLength % GgmlTypeInfo.BlockSize(type) == 0) return type;
        GgmlType smaller = type is GgmlType.Q4_K or GgmlType.Q6_K ? GgmlType.Q8_0 : type;
        return rowLength % GgmlTypeInfo.BlockSize(smaller) == 0 ? smaller : GgmlType.F16;
    }

    /// <summary>The layer index of a "blk.N.…" name, or −1.</summary>
    static int LayerOf(string name)
    {
        if (!name.StartsWith("blk.", StringComparison.Ordinal)) return -1;
        int end = name.IndexOf('.', 4);
        return end > 4 && int.TryParse(name.AsSpan(4, end - 4), out int layer) ? layer : -1;
    }

    /// <summary>Dimensions up to the last one greater than 1 (ggml_n_dims).</summary>
    static int CountDims(long[] dims)
    {
        int n = 1;
        for (int i = 0; i < dims.Length; i++)
            if (dims[i] > 1) n = i + 1;
        return n;
    }
}
