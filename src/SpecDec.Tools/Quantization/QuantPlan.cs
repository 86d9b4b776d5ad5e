using SpecDec.Formats;
using SpecDec.Model;
using SpecDec.Tensors;
using SpecDec.Tools.Conversion;

namespace SpecDec.Tools.Quantization;

/// <summary>
/// The type each tensor gets under a <see cref="QuantScheme"/>, following llama.cpp's llama_tensor_get_type
/// (dense models, no importance matrix):
/// <list type="bullet">
/// <item>1-D tensors (norms, biases, rope_freqs) stay F32.</item>
/// <item>A single-type scheme gives every matrix that type (llama-quantize --pure).</item>
/// <item>The mixes start from their base type (Q2_K; Q3_K for Q3_K_S/M/L; Q4_K for Q4_K_S/M; Q5_K for Q5_K_S/M;
/// Q6_K; IQ4_XS). The output head (or token_embd when the embeddings are tied, since it is the head too) is Q6_K,
/// or Q8_0 when its rows are not a whole number of the base type's blocks. attn_v, ffn_down and attn_output get
/// more bits per llama.cpp's table (<see cref="MixType"/>).</item>
/// <item>A row length that is not a whole number of blocks falls back as llama.cpp does: Q2_K/Q3_K → Q4_0,
/// Q4_K → Q5_0, Q5_K → Q5_1, Q6_K → Q8_0, IQ4_XS → IQ4_NL; then F16 if even 32 does not divide the row.</item>
/// </list>
/// </summary>
public static class QuantPlan
{
    static readonly (string Name, QuantScheme Scheme)[] All =
    [
        ("f32", QuantScheme.F32), ("f16", QuantScheme.F16), ("bf16", QuantScheme.BF16), ("q8_0", QuantScheme.Q8_0),
        ("q4_0", QuantScheme.Q4_0), ("q4_1", QuantScheme.Q4_1), ("q5_0", QuantScheme.Q5_0), ("q5_1", QuantScheme.Q5_1),
        ("iq4_nl", QuantScheme.IQ4_NL), ("mxfp4", QuantScheme.MXFP4), ("q4_k", QuantScheme.Q4_K),
        ("q2_k", QuantScheme.Q2_K), ("q3_k_s", QuantScheme.Q3_K_S), ("q3_k_m", QuantScheme.Q3_K_M), ("q3_k_l", QuantScheme.Q3_K_L),
        ("q4_k_s", QuantScheme.Q4_K_S), ("q4_k_m", QuantScheme.Q4_K_M), ("q5_k_s", QuantScheme.Q5_K_S), ("q5_k_m", QuantScheme.Q5_K_M),
        ("q6_k", QuantScheme.Q6_K), ("iq4_xs", QuantScheme.IQ4_XS),
    ];

    /// <summary>Parses a scheme name as the CLI spells it (q8_0, q4_k_m, f16, …).</summary>
    public static QuantScheme Parse(string name)
    {
        foreach ((string n, QuantScheme s) in All)
            if (string.Equals(n, name, StringComparison.OrdinalIgnoreCase)) return s;
        throw new SpecDecException($"unknown quantization type '{name}' (expected one of {Names})");
    }

    public static readonly string Names = string.Join(", ", All.Select(a => a.Name));

    /// <summary>llama.cpp's general.file_type (enum llama_ftype) for the scheme; Q4_K is reported as Q4_K_S.</summary>
    public static uint FileType(QuantScheme scheme) => scheme switch
    {
        QuantScheme.Q2_K => 10,
        QuantScheme.Q3_K_S => 11,
        QuantScheme.Q3_K_M => 12,
        QuantScheme.Q3_K_L => 13,
        QuantScheme.Q4_K_S => 14,
        QuantScheme.Q4_K_M => GgufFileType.Q4_K_M,
        QuantScheme.Q5_K_S => 16,
        QuantScheme.Q5_K_M => 17,
        QuantScheme.IQ4_XS => 30,
        _ => GgufFileType.Of(SingleType(scheme)),
    };

    /// <summary>The type for tensor <paramref name="name"/> with GGUF dims (dims[0] = row length).</summary>
    /// <param name="layerCount">Transformer blocks in the model (for the mixes' per-layer choices).</param>
    /// <param name="tiedEmbeddings">True when the file has no output.weight, so token_embd is also the head.</param>
    /// <param name="gqa">Query heads per KV head (Q2_K and IQ4_XS give attn_v more bits from 4 on).</param>
    public static GgmlType TypeFor(QuantScheme scheme, string name, long[] dims, int layerCount, bool tiedEmbeddings, int gqa = 1)
    {
        // llama-quantize keeps the experts' router in F32 too.
        if (CountDims(dims) < 2 || !name.EndsWith(".weight", StringComparison.Ordinal) || name.Contains("_norm.", StringComparison.Ordinal)
            || name.EndsWith(".ffn_gate_inp.weight", StringComparison.Ordinal))
            return GgmlType.F32;
        GgmlType type = IsMix(scheme) ? MixType(scheme, name, dims[0], layerCount, tiedEmbeddings, gqa) : SingleType(scheme);
        return Fallback(type, dims[0]);
    }

    static bool IsMix(QuantScheme scheme) => scheme is QuantScheme.Q2_K or QuantScheme.Q3_K_S or QuantScheme.Q3_K_M or QuantScheme.Q3_K_L
        or QuantScheme.Q4_K_S or QuantScheme.Q4_K_M or QuantScheme.Q5_K_S or QuantScheme.Q5_K_M or QuantScheme.Q6_K or QuantScheme.IQ4_XS;

    /// <summary>The one type every matrix gets under a single-type scheme, and each mix's base type.</summary>
    static GgmlType SingleType(QuantScheme scheme) => scheme switch
    {
        QuantScheme.F32 => GgmlType.F32,
        QuantScheme.F16 => GgmlType.F16,
        QuantScheme.BF16 => GgmlType.BF16,
        QuantScheme.Q8_0 => GgmlType.Q8_0,
        QuantScheme.Q4_0 => GgmlType.Q4_0,
        QuantScheme.Q4_1 => GgmlType.Q4_1,
        QuantScheme.Q5_0 => GgmlType.Q5_0,
        QuantScheme.Q5_1 => GgmlType.Q5_1,
        QuantScheme.IQ4_NL => GgmlType.IQ4_NL,
        QuantScheme.MXFP4 => GgmlType.MXFP4,
        QuantScheme.Q4_K or QuantScheme.Q4_K_S or QuantScheme.Q4_K_M => GgmlType.Q4_K,
        QuantScheme.Q2_K => GgmlType.Q2_K,
        QuantScheme.Q3_K_S or QuantScheme.Q3_K_M or QuantScheme.Q3_K_L => GgmlType.Q3_K,
        QuantScheme.Q5_K_S or QuantScheme.Q5_K_M => GgmlType.Q5_K,
        QuantScheme.Q6_K => GgmlType.Q6_K,
        QuantScheme.IQ4_XS => GgmlType.IQ4_XS,
        _ => throw new ArgumentOutOfRangeException(nameof(scheme)),
    };

    /// <summary>llama_tensor_get_type_impl's choices for the mixes on a dense model.</summary>
    static GgmlType MixType(QuantScheme scheme, string name, long rowLength, int layerCount, bool tiedEmbeddings, int gqa)
    {
        GgmlType type = SingleType(scheme);
        if (name == TensorNames.Output || (tiedEmbeddings && name == TensorNames.TokenEmbedding))
            return rowLength % GgmlTypeInfo.BlockSize(type) != 0 ? GgmlType.Q8_0 : GgmlType.Q6_K;
        int layer = LayerOf(name);
        if (layer < 0) return type;
        bool moreBits = UseMoreBits(layer, layerCount);
        if (name == TensorNames.AttnV(layer))
            return scheme switch
            {
                QuantScheme.Q2_K => gqa >= 4 ? GgmlType.Q4_K : GgmlType.Q3_K,
                QuantScheme.Q3_K_M => layer < 2 ? GgmlType.Q5_K : GgmlType.Q4_K,
                QuantScheme.Q3_K_L => GgmlType.Q5_K,
                QuantScheme.IQ4_XS when gqa >= 4 => GgmlType.Q5_K,
                QuantScheme.Q4_K_M or QuantScheme.Q5_K_M when moreBits => GgmlType.Q6_K,
                QuantScheme.Q4_K_S when layer < 4 => GgmlType.Q5_K,
                _ => type,
            };
        if (name == TensorNames.FfnDown(layer) || name == TensorNames.FfnDownExps(layer))
            return scheme switch
            {
                QuantScheme.Q2_K => GgmlType.Q3_K,
                QuantScheme.Q3_K_M => layer < layerCount / 16 ? GgmlType.Q5_K : GgmlType.Q4_K,
                QuantScheme.Q3_K_L => GgmlType.Q5_K,
                QuantScheme.Q4_K_M when moreBits => GgmlType.Q6_K,
                QuantScheme.IQ4_XS when layer < layerCount / 8 => GgmlType.Q5_K,
                QuantScheme.Q5_K_M when moreBits => GgmlType.Q6_K,
                QuantScheme.Q4_K_S when layer < layerCount / 8 => GgmlType.Q5_K,
                _ => type,
            };
        if (name == TensorNames.AttnOutput(layer))
            return scheme switch
            {
                QuantScheme.Q2_K => GgmlType.Q3_K,
                QuantScheme.Q3_K_M => GgmlType.Q4_K,
                QuantScheme.Q3_K_L => GgmlType.Q5_K,
                _ => type,
            };
        return type;
    }

    /// <summary>llama.cpp's use_more_bits: the first and last eighth of the layers, and every third one between.</summary>
    public static bool UseMoreBits(int layer, int layerCount) =>
        layer < layerCount / 8 || layer >= 7 * layerCount / 8 || (layer - layerCount / 8) % 3 == 2;

    /// <summary>llama.cpp's tensor_type_fallback: a 32-block type where the row is not a whole number of 256-blocks.</summary>
    static GgmlType Fallback(GgmlType type, long rowLength)
    {
        if (rowLength % GgmlTypeInfo.BlockSize(type) == 0) return type;
        GgmlType smaller = type switch
        {
            GgmlType.Q2_K or GgmlType.Q3_K => GgmlType.Q4_0,
            GgmlType.Q4_K => GgmlType.Q5_0,
            GgmlType.Q5_K => GgmlType.Q5_1,
            GgmlType.Q6_K => GgmlType.Q8_0,
            GgmlType.IQ4_XS => GgmlType.IQ4_NL,
            _ => type,
        };
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
