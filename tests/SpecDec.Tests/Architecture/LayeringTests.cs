using SpecDec.Tests.Tools.Benchmarking;

namespace SpecDec.Tests.Architecture;

/// <summary>
/// The engine's layers as docs/architecture.md draws them, checked on its source: no cycle between top-level
/// namespaces, and no reference a rule forbids. A new rule is one line of <see cref="Forbidden"/>.
/// </summary>
public class LayeringTests
{
    /// <summary>(from, to): namespace SpecDec.from may not refer to SpecDec.to; "*" is every other namespace.</summary>
    static readonly (string From, string To)[] Forbidden =
    [
        ("Tensors", "*"),                       // the base: GGML types and native buffers
        ("Kernels", "Model"), ("Kernels", "Formats"), ("Kernels", "Backends"), ("Kernels", "Tokenization"),
        ("Backends", "Formats"),                // a backend gets everything it computes from from ModelWeights
        ("Model", "Backends"),                  // nothing above the backends knows one
        ("Model", "Kernels"),                   // ModelWeights is for every backend
        ("Formats", "Model"), ("Formats", "Tokenization"), // file readers: Model joins a file, its config and its tokenizer
        ("Sampling", "Backends"), ("Sampling", "Kernels"),
        ("Speculation", "Backends"), ("Speculation", "Kernels"),
        ("Generation", "Backends"), ("Generation", "Kernels"),
        ("Templates", "*"),                     // the Jinja subset knows nothing of models
        ("Chat", "Backends"), ("Chat", "Kernels"),
    ];

    static readonly NamespaceGraph Engine = NamespaceGraph.Read(Path.Combine(RepoPaths.Root, "src", "SpecDec"));

    [Fact]
    public void The_source_is_read()
    {
        Assert.Contains("Model", Engine.Targets("Backends"));
        Assert.Contains("Tensors", Engine.Targets("Kernels"));
    }

    [Fact]
    public void No_forbidden_reference()
    {
        var found = Forbidden.SelectMany(rule => Engine.Targets(rule.From)
                .Where(to => rule.To == "*" || to == rule.To)
                .Select(to => $"SpecDec.{rule.From} → SpecDec.{to}"))
            .ToArray();
        Assert.Empty(found);
    }

    [Fact]
    public void No_cycle_between_namespaces()
    {
        Assert.Empty(Engine.Cycles().Select(c => string.Join(" ↔ ", c)));
    }

    [Fact]
    public void A_cycle_is_found()
    {
        var graph = new NamespaceGraph([("A", "B"), ("B", "C"), ("C", "A"), ("C", "D"), ("D", "E")]);
        Assert.Equal([["A", "B", "C"]], graph.Cycles());
        Assert.Empty(new NamespaceGraph([("A", "B"), ("B", "C"), ("C", "D")]).Cycles());
    }
}
