using SpecDec.Formats;
using SpecDec.Formats.Gguf;
using SpecDec.Model;
using SpecDec.Tensors;

namespace SpecDec.Tools.Conversion;

/// <summary>
/// Hugging Face folder → GGUF, as llama.cpp's convert_hf_to_gguf.py writes it: its keys, tensor names and
/// types, llama Q/K rows permuted to adjacent RoPE pairs (Mistral and Mixtral included; the others stay neox), Gemma's
/// norms stored as 1 + w, llama3 rope scaling as the rope_freqs.weight tensor, LongRoPE as rope_factors_long/short,
/// experts stacked into ffn_*_exps, and the tokenizer as tokenizer.ggml.* metadata.
/// Tensors are streamed from the memory-mapped source one row at a time.
/// </summary>
public static class GgufConverter
{
    /// <summary>The --type choices: the type of the 2-D weights (1-D norms and biases stay F32).</summary>
    public static IReadOnlyList<GgmlType> WeightTypes { get; } = [GgmlType.F32, GgmlType.F16, GgmlType.BF16, GgmlType.Q8_0];

    /// <param name="log">Told one line per tensor written.</param>
    public static void Convert(string source, string output, GgmlType weightType, Action<string>? log = null, CancellationToken cancel = default)
    {
        if (!WeightTypes.Contains(weightType)) throw new SpecDecException($"cannot convert to {weightType}: choose one of {string.Join(", ", WeightTypes)}");
        using HfModelSource model = HfModelSource.Open(source);
        // Every file of the model folder counts as an input: its weights, config and tokenizer files are all read.
        OutputFile.CheckNotInput(output, Directory.EnumerateFiles(model.Path));
        // Built by the loader generate uses, so that convert refuses what generate would refuse (merges of unknown
        // tokens, ids past the embedding rows) before anything is written; the metadata below reads the same files.
        if (File.Exists(Path.Combine(model.Path, "tokenizer.json"))) _ = model.Tokenizer;
        ModelConfig c = model.Config;
        var writer = new GgufWriter();
        GgufModelMetadata.Add(writer, c, Path.GetFileName(Path.TrimEndingDirectorySeparator(Path.GetFullPath(model.Path))), GgufFileType.Of(weightType));
        GgufTokenizerMetadata.Add(writer, model.Path, model.Metadata, c.VocabSize);

        if (c.Architecture == "llama" && c.RopeScaling is RopeScaling scaling)
        {
            float[] factors = Llama3RopeFactors.Compute(c.HeadDim, c.RopeTheta, scaling);
            writer.AddTensor(TensorNames.RopeFreqs, GgmlType.F32, [factors.Length], s => s.Write(System.Runtime.InteropServices.MemoryMarshal.AsBytes(factors.AsSpan())));
            log?.Invoke($"{TensorNames.RopeFreqs,-28} F32   [{factors.Length}] (llama3 rope scaling)");
        }
        // LongRoPE's factors, which the source made from config.json as llama.cpp's converter does.
        foreach (string factors in new[] { TensorNames.RopeFactorsLong, TensorNames.RopeFactorsShort })
            if (model.Find(factors) is { } t)
            {
                writer.AddTensor(factors, GgmlType.F32, t.Dims, s => TensorTranscoder.Write(t, GgmlType.F32, null, s));
                log?.Invoke($"{factors,-28} F32   [{t.Dims[0]}] (LongRoPE)");
            }
        foreach ((string name, long[] dims) in ExpectedTensors.For(c))
        {
            if (model.Find(name) is null && StackedExperts(model, name, c) is { } experts)
            {
                // The checkpoint's one tensor per expert, stacked [experts × rows × columns] as llama.cpp's converter does.
                GgmlType stackedType = OutputType(experts[0], weightType);
                writer.AddTensor(name, stackedType, dims, s =>
                {
                    foreach (WeightTensor expert in experts) TensorTranscoder.Write(expert, stackedType, null, s);
                });
                log?.Invoke($"{name,-28} {stackedType,-5} [{string.Join(", ", dims)}] ({experts.Length} experts stacked)");
                continue;
            }
            WeightTensor tensor = model.Find(name)!; // HfModelSource.Open checked every expected tensor
            GgmlType type = OutputType(tensor, weightType);
            int[]? order = c.Architecture == "llama" ? PermutationFor(name, tensor, c) : null;
            // GGUF Gemma norms hold 1 + w, which llama.cpp (and our GGUF reader) multiply by directly.
            float add = name.EndsWith("norm.weight", StringComparison.Ordinal) ? c.NormWeightOffset : 0;
            writer.AddTensor(name, type, tensor.Dims, s => TensorTranscoder.Write(tensor, type, order, s, add));
            log?.Invoke($"{name,-28} {type,-5} [{string.Join(", ", tensor.Dims)}]{(order is null ? "" : " (q/k rows permuted)")}{(add != 0 ? " (+1: Gemma norm)" : "")}");
        }
        writer.Write(output, cancel);
    }

    /// <summary>The per-expert tensors of a stacked expert name (ffn_gate_exps …), or null for any other name.</summary>
    private static WeightTensor[]? StackedExperts(HfModelSource model, string name, ModelConfig c)
    {
        for (int l = 0; l < c.LayerCount; l++)
        {
            Func<int, int, string>? single = name == TensorNames.FfnGateExps(l) ? TensorNames.FfnGateExpert
                : name == TensorNames.FfnUpExps(l) ? TensorNames.FfnUpExpert
                : name == TensorNames.FfnDownExps(l) ? TensorNames.FfnDownExpert : null;
            if (single is not null) return [.. Enumerable.Range(0, c.ExpertCount).Select(e => model.Find(single(l, e))!)];
        }
        return null;
    }

    /// <summary>
    /// llama.cpp's choice: vectors and the experts' router (ffn_gate_inp) stay F32; Q8_0 rows that are not whole
    /// blocks fall back to F16.
    /// </summary>
    private static GgmlType OutputType(WeightTensor tensor, GgmlType weightType)
    {
        if (tensor.Dims.Length == 1 || tensor.Name.EndsWith(".ffn_gate_inp.weight", StringComparison.Ordinal)) return GgmlType.F32;
        if (weightType == GgmlType.Q8_0 && tensor.RowLength % GgmlTypeInfo.BlockSize(GgmlType.Q8_0) != 0) return GgmlType.F16;
        return weightType;
    }

    private static int[]? PermutationFor(string name, WeightTensor tensor, ModelConfig c) =>
        name.EndsWith(".attn_q.weight", StringComparison.Ordinal) ? QkPermutation.SourceRows((int)tensor.RowCount, c.HeadCount)
        : name.EndsWith(".attn_k.weight", StringComparison.Ordinal) ? QkPermutation.SourceRows((int)tensor.RowCount, c.KvHeadCount)
        : null;
}
