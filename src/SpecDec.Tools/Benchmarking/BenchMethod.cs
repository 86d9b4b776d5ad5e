using SpecDec.Speculation;

namespace SpecDec.Tools.Benchmarking;

/// <summary>
/// One way of decoding that the benchmark times: a name for the tables and the speculation options that
/// make it. The baseline is plain decoding (no speculation); every other method is measured against it.
/// </summary>
public sealed record BenchMethod(string Name, string Description, SpeculationOptions Speculation)
{
    public bool IsBaseline => Speculation.IsNone;

    public bool NeedsDraftModel => SpeculationMethods.Get(Speculation.Method).NeedsDraftModel;

    /// <summary>The kind of draft head the method reads (eagle, medusa), or null.</summary>
    public string? Head => SpeculationMethods.Get(Speculation.Method).Head;
}
