namespace SpecDec.Tools.Benchmarking;

/// <summary>A method as a summary records it: its name, what it is, and its exact speculation settings.</summary>
/// <param name="Speculation">The registry name of the method ("none", "draft", "pld"; older runs wrote None, DraftModel, PromptLookup).</param>
/// <param name="DraftContext">The draft model's context window (0: all); absent, and so 0, in summaries of older runs.</param>
/// <param name="TreeNodes">The node budget of a draft tree; 0 for chains (and in summaries of older runs).</param>
/// <param name="Lossy">Typical acceptance: the sampled output does not follow the target's law.</param>
public sealed record BenchMethodInfo(string Name, string Description, string Speculation, int DraftMin, int DraftMax,
    float DraftPMin, int NgramMin, int NgramMax, int DraftContext = 0, int TreeNodes = 0, bool Lossy = false)
{
    public static BenchMethodInfo From(BenchMethod m) => new(m.Name, m.Description, m.Speculation.Method,
        m.Speculation.DraftMin, m.Speculation.DraftMax, m.Speculation.DraftPMin, m.Speculation.NgramMin, m.Speculation.NgramMax,
        m.Speculation.DraftContext, m.Speculation.Tree ? m.Speculation.TreeNodes : 0, m.Speculation.Typical.IsOn);

    /// <summary>The name as every table shows it: a lossy method is marked in each row.</summary>
    public string Label => Lossy ? $"{Name} (LOSSY)" : Name;
}
