using System.CommandLine;
using System.Globalization;
using SpecDec.Formats;
using SpecDec.Formats.Gguf;
using SpecDec.Model;
using SpecDec.Model.Heads;
using SpecDec.Tensors;
using SpecDec.Tokenization;

namespace SpecDec.Cli.Commands;

/// <summary>`specdec inspect PATH`: what a model file holds — architecture, hyper-parameters, tokenizer, tensors.</summary>
public static class InspectCommand
{
    public static Command Create()
    {
        var path = new Argument<string>("path") { Description = "GGUF file, or Hugging Face folder (or its config.json), or a draft head (EAGLE or Medusa: GGUF or folder)" };
        var command = new Command("inspect", "Show a model's architecture, hyper-parameters, tokenizer and tensor table");
        command.Arguments.Add(path);
        command.SetAction(parse =>
        {
            string from = parse.GetValue(path)!;
            if (HeadFile.IsHead(from))
            {
                using HeadFile head = HeadFile.Open(from);
                WriteHead(head, Console.Out);
                return 0;
            }
            using IModelSource source = ModelSource.Open(from);
            Write(source, Console.Out);
            return 0;
        });
        return command;
    }

    public static void Write(IModelSource source, TextWriter o)
    {
        ModelConfig c = source.Config;
        var rows = new List<(string, string)>
        {
            ("model", source.Path),
            ("format", source.FormatName),
        };
        if (source.Metadata.TryGetValue(GgufKeys.Name, out object? name)) rows.Add(("name", $"{name}"));
        rows.AddRange(
        [
            ("architecture", c.Architecture),
            ("vocab size", $"{c.VocabSize}"),
            ("hidden size", $"{c.HiddenSize}"),
            ("intermediate size", $"{c.IntermediateSize}"),
            ("layers", $"{c.LayerCount}"),
            ("attention heads", $"{c.HeadCount} (kv {c.KvHeadCount}, head dim {c.HeadDim})"),
            ("context length", $"{c.ContextLength}"),
            ("rms norm eps", c.RmsNormEps.ToString("G", CultureInfo.InvariantCulture)),
            ("rope", $"{c.RopeStyle.ToString().ToLowerInvariant()}, theta {c.RopeTheta.ToString("G", CultureInfo.InvariantCulture)}{Scaling(source)}"),
            ("output", c.TiedEmbeddings ? "tied to token_embd" : "separate output.weight"),
            ("qkv bias", c.AttentionBias ? "yes" : "no"),
            ("q/k norm", c.QkNorm ? c.QkNormWhole ? "yes, over the whole projection" : "yes, per head" : "no"),
        ]);
        if (c.IsMoe)
            rows.Add(("experts", $"{c.ExpertCount} of width {c.ExpertFfnSize}, {c.ExpertsUsed} per token, weights {(c.NormalizeExpertWeights ? "renormalised" : "raw")}"));
        rows.Add(("tokenizer", TokenizerSummary(source)));
        int keyWidth = rows.Max(r => r.Item1.Length);
        foreach ((string key, string value) in rows) o.WriteLine($"{key.PadRight(keyWidth)}  {value}");

        o.WriteLine();
        WriteTensorTable(source.Tensors, o);
    }

    /// <summary>A draft head: its kind, sizes, the base model it was trained for, and its tensors.</summary>
    public static void WriteHead(HeadFile head, TextWriter o)
    {
        var rows = new List<(string, string)> { ("head", head.Path), ("format", head.FormatName), ("kind", head.Kind) };
        if (head.Eagle is ModelConfig c)
            rows.AddRange(
            [
                ("hidden size", $"{c.HiddenSize}"),
                ("intermediate size", $"{c.IntermediateSize}"),
                ("layers", "1 (fc over [embedding; feature], no input norm, the target's output head)"),
                ("attention heads", $"{c.HeadCount} (kv {c.KvHeadCount}, head dim {c.HeadDim})"),
                ("rope", $"{c.RopeStyle.ToString().ToLowerInvariant()}, theta {c.RopeTheta.ToString("G", CultureInfo.InvariantCulture)}"),
                ("draft vocabulary", head.DraftVocab is { } d ? $"{d.Count} tokens (d2t): logits over those rows of the target's output head" : "all tokens"),
            ]);
        else if (head.Medusa is MedusaConfig m)
            rows.AddRange(
            [
                ("heads", $"{m.HeadCount} (head i guesses the token i + 2 after the feature's position)"),
                ("residual blocks", $"{m.BlockCount} per head"),
                ("hidden size", $"{m.HiddenSize}"),
                ("output", m.OwnOutputs ? "each head's own" : "the target's"),
            ]);
        BaseModelIdentity b = head.Base;
        rows.Add(("base model", $"{b.Name ?? "unnamed"}, vocabulary {(b.VocabSize is int v ? v.ToString(CultureInfo.InvariantCulture) : "not recorded")}, {b.TokenHash ?? "no token fingerprint"}"));
        int keyWidth = rows.Max(r => r.Item1.Length);
        foreach ((string key, string value) in rows) o.WriteLine($"{key.PadRight(keyWidth)}  {value}");
        o.WriteLine();
        WriteTensorTable(head.Tensors.OrderBy(t => t.Name, StringComparer.Ordinal).ToList(), o);
    }

    private static string Scaling(IModelSource source) => source.Config.RopeScaling is RopeScaling s
        ? $", llama3 scaling (factor {s.Factor:G}, low {s.LowFreqFactor:G}, high {s.HighFreqFactor:G}, original context {s.OriginalContextLength})"
        : source.Find(TensorNames.RopeFreqs) is not null ? ", llama3 scaling (rope_freqs.weight)"
        : source.Config.RopeOriginalContext > 0
            ? $", LongRoPE (short factors for a request up to the original context {source.Config.RopeOriginalContext}, long ones past it, attention factor {source.Config.RopeAttentionFactor:G5})"
        : "";

    private static string TokenizerSummary(IModelSource source)
    {
        ITokenizer t;
        try
        {
            t = source.Tokenizer;
        }
        catch (SpecDecException e)
        {
            // inspect is a diagnosis tool: show the rest of the model even when its tokenizer is broken.
            return $"unreadable: {e.Message}";
        }
        string Token(int? id) => id is int i ? $"{i} {t.TokenText(i)}" : "none";
        return $"{t.Kind}, {t.VocabSize} tokens, BOS {Token(t.BosId)}, EOS {Token(t.EosId)}, " +
               $"add BOS {(t.AddBos ? "yes" : "no")}, chat template {(t.ChatTemplate is null ? "no" : "yes")}";
    }

    private static void WriteTensorTable(IReadOnlyList<WeightTensor> tensors, TextWriter o)
    {
        var rows = tensors.Select(t => (t.Name, Type: t.Type.ToString(), Dims: string.Join(" × ", t.Dims), Bytes: t.ByteLength.ToString("N0", CultureInfo.InvariantCulture))).ToList();
        int nameW = Math.Max(4, rows.Max(r => r.Name.Length)), typeW = Math.Max(4, rows.Max(r => r.Type.Length));
        int dimsW = Math.Max(4, rows.Max(r => r.Dims.Length)), bytesW = Math.Max(5, rows.Max(r => r.Bytes.Length));
        o.WriteLine($"{"name".PadRight(nameW)}  {"type".PadRight(typeW)}  {"dims".PadRight(dimsW)}  {"bytes".PadLeft(bytesW)}");
        foreach (var r in rows) o.WriteLine($"{r.Name.PadRight(nameW)}  {r.Type.PadRight(typeW)}  {r.Dims.PadRight(dimsW)}  {r.Bytes.PadLeft(bytesW)}");
        long total = tensors.Sum(t => t.ByteLength);
        o.WriteLine($"{tensors.Count} tensors, {total.ToString("N0", CultureInfo.InvariantCulture)} bytes ({total / (1024.0 * 1024.0):F2} MiB); dims are row length first (GGUF order)");
    }
}
