using System.Globalization;
using SpecDec.Speculation;

namespace SpecDec.Tools.Benchmarking;

/// <summary>
/// The methods the benchmark knows, by name: variants of the engine's registered methods
/// (<see cref="SpeculationMethods"/>). A method is a name plus how to build its <see cref="SpeculationOptions"/>
/// from an optional length k, written <c>name:k</c> on the command line (<c>draft:6</c>, <c>pld-fixed:3</c>; for
/// <c>pld-tree</c>, k is the node budget).
/// </summary>
public static class BenchMethods
{
    /// <summary>Plain autoregressive decoding, the baseline every speedup is measured against.</summary>
    public const string Baseline = "ar";

    private static readonly SpeculationOptions Defaults = new();

    private static readonly string DraftReads =
        $"draft model reading the first {DraftModelProposer.SinkTokens} and latest {Defaults.DraftContext} tokens";

    private static readonly SpeculationOptions Rest = SpeculationOptions.For(SpeculationMethods.Retrieval);

    private static readonly string Ngrams = $"prompt lookup (n-grams {Defaults.NgramMin}..{Defaults.NgramMax})";

    /// <summary>A method: its name, its description for a length k (null: its default), and its options for k.</summary>
    private sealed record Entry(string Name, Func<int?, string> Describe, Func<int?, SpeculationOptions> Build);

    private static readonly Entry[] Known =
    [
        new(Baseline, _ => "plain autoregressive decoding (the baseline)", _ => SpeculationOptions.None),
        new("draft", k => $"{DraftReads}; length adapts in 1..{k ?? Defaults.DraftMax}, stops below p-min {Defaults.DraftPMin}",
            k => new SpeculationOptions { Method = SpeculationMethods.DraftModel, DraftMin = 1, DraftMax = k ?? Defaults.DraftMax }),
        new("draft-fixed", k => $"{DraftReads}; always {k ?? 4} tokens, no confidence cut-off",
            k => new SpeculationOptions { Method = SpeculationMethods.DraftModel, DraftMin = k ?? 4, DraftMax = k ?? 4, DraftPMin = 0 }),
        new("pld", k => $"{Ngrams}; length adapts in 1..{k ?? Defaults.DraftMax}",
            k => new SpeculationOptions { Method = SpeculationMethods.PromptLookup, DraftMin = 1, DraftMax = k ?? Defaults.DraftMax }),
        new("pld-fixed", k => $"{Ngrams}; up to {k ?? 4} tokens every round" + (k is null ? " (`--spec pld`'s default)" : ""),
            k => SpeculationOptions.For(SpeculationMethods.PromptLookup, k, k)),
        new("pld-tree", k => $"{Ngrams} as a tree: a branch per distinct continuation of the 8 latest matches, 4 deep, at most {k ?? Defaults.TreeNodes} nodes (`--spec pld --draft-tree --tree-nodes k`)",
            k => SpeculationOptions.For(SpeculationMethods.PromptLookup) with { Tree = true, TreeNodes = k ?? Defaults.TreeNodes }),
        new("rest", k => $"retrieval: the longest suffix match (16 down to 2 tokens) in the datastore (--datastore), in earlier answers of the run and in the item itself; the most frequent continuations as a tree of at most {k ?? Rest.TreeNodes} nodes, {Rest.DraftMax} deep (`--spec rest --tree-nodes k`)",
            k => Rest with { TreeNodes = k ?? Rest.TreeNodes }),
        new("layerskip", k => k is null ? "layer skipping: the target drafts 4 tokens through its first blocks, the exit chosen online by measured speed" : $"layer skipping: the target drafts 4 tokens through its first {k} blocks (`--spec layerskip --exit-layer {k}`)",
            k => SpeculationOptions.For(SpeculationMethods.LayerSkip) with { ExitLayer = k ?? 0 }),
        new("auto", _ => "auto: each round prompt lookup, retrieval, the draft model (when loaded) or none, by expected tokens per unit of measured verification cost (`--spec auto`)",
            _ => SpeculationOptions.For(SpeculationMethods.Auto)),
        new("lookahead", k => $"lookahead decoding: window {k ?? Defaults.LookaheadWindow} × {Defaults.LookaheadNgram - 1} levels, up to {Defaults.LookaheadGuesses} {Defaults.LookaheadNgram}-grams verified as a tree (`--spec lookahead --lookahead-window k`)",
            k => SpeculationOptions.For(SpeculationMethods.Lookahead).WithLookahead(window: k)),
        new("eagle", k => "EAGLE-2 head (models/eagle-q8_0.gguf or --head): dynamic tree" + (k is null ? " sized for this machine from its measured verification cost" : $" of {k} nodes, depth and top-k sized for this machine"),
            k => SpeculationOptions.For(SpeculationMethods.Eagle) with { TreeNodes = k ?? SpeculationOptions.MaxVerifyRows - 1, SizeTree = k is null }),
        new("medusa", k => "Medusa heads (models/medusa-q8_0.gguf or --heads): static tree of their top-k" + (k is null ? " sized for this machine" : $" of {k} nodes"),
            k => SpeculationOptions.For(SpeculationMethods.Medusa) with { TreeNodes = k ?? SpeculationOptions.MaxVerifyRows - 1, SizeTree = k is null }),
        new("medusa-typical", k => "LOSSY when sampling: the medusa method with Medusa's typical acceptance (a draft token stands if the target gives it more than min(0.09, 0.3·exp(−entropy)); `--spec medusa --typical-acceptance`), not the target's distribution; greedy runs decode as medusa does" + (k is null ? "" : $", tree of {k} nodes"),
            k => SpeculationOptions.For(SpeculationMethods.Medusa) with { TreeNodes = k ?? SpeculationOptions.MaxVerifyRows - 1, SizeTree = k is null, Typical = TypicalAcceptance.Medusa }),
    ];

    /// <summary>Every known method name, baseline first.</summary>
    public static IReadOnlyList<string> Names { get; } = Known.Select(e => e.Name).ToArray();

    /// <summary>
    /// Every known method that can run: the draft-model ones only when a draft model is loaded, the head ones only
    /// when their kind of head is in <paramref name="heads"/>. Lossy variants (typical acceptance) run only when named.
    /// </summary>
    public static IReadOnlyList<BenchMethod> Available(bool hasDraftModel, IReadOnlyCollection<string>? heads = null) =>
        Known.Select(e => Create(e, null))
            .Where(m => (hasDraftModel || !m.NeedsDraftModel) && (m.Head is null || heads?.Contains(m.Head) == true) && !m.Speculation.Typical.IsOn)
            .ToArray();

    /// <summary>
    /// Parses a comma-separated list such as <c>ar,draft,pld:6</c>. The baseline is put first, and added when
    /// missing: speedups and the lossless check need it. Throws a <see cref="SpecDecException"/> on an
    /// unknown or repeated name, a bad length, or a draft-model method without a draft model.
    /// </summary>
    public static IReadOnlyList<BenchMethod> Parse(string list, bool hasDraftModel)
    {
        var methods = new List<BenchMethod>();
        foreach (string raw in list.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            var method = ParseOne(raw);
            if (methods.Any(m => m.Name == method.Name)) throw new SpecDecException($"method '{method.Name}' is listed twice");
            if (method.NeedsDraftModel && !hasDraftModel)
                throw new SpecDecException($"method '{method.Name}' needs a draft model (--draft-model)");
            methods.Add(method);
        }
        if (methods.Count == 0) throw new SpecDecException("--methods names no method");
        int baseline = methods.FindIndex(m => m.IsBaseline);
        var first = baseline >= 0 ? methods[baseline] : Create(Known[0], null);
        if (baseline >= 0) methods.RemoveAt(baseline);
        methods.Insert(0, first);
        return methods;
    }

    private static BenchMethod ParseOne(string text)
    {
        int colon = text.IndexOf(':');
        string name = colon < 0 ? text : text[..colon];
        var entry = Known.FirstOrDefault(e => e.Name == name)
            ?? throw new SpecDecException($"unknown method '{name}'; known methods: {string.Join(", ", Names)}");
        if (colon < 0) return Create(entry, null);
        if (entry.Name == Baseline) throw new SpecDecException($"method '{Baseline}' takes no length (got '{text}')");
        if (!int.TryParse(text.AsSpan(colon + 1), NumberStyles.None, CultureInfo.InvariantCulture, out int k))
            throw new SpecDecException($"method '{text}': the length after ':' must be a whole number");
        return Create(entry, k);
    }

    private static BenchMethod Create(Entry entry, int? k)
    {
        var speculation = entry.Build(k);
        speculation.Validate();
        string name = k is null ? entry.Name : $"{entry.Name}:{k}";
        return new BenchMethod(name, entry.Describe(k), speculation);
    }
}
