namespace SpecDec.Speculation;

/// <summary>
/// One way of drafting, as the registry (<see cref="SpeculationMethods"/>) knows it: the name users type, what
/// it does, its own default options, and the factory of its proposer (null for plain decoding). A proposer is
/// built once per generator and reused across requests; per-request settings reach it in
/// <see cref="IDraftProposer.Reset"/>.
/// </summary>
public sealed record SpeculationMethod(
    string Name,
    string Description,
    bool NeedsDraftModel,
    SpeculationOptions Defaults,
    Func<ProposerContext, IDraftProposer>? Create)
{
    /// <summary>The kind of draft head the method reads (<c>"eagle"</c>, <c>"medusa"</c>), or null when it needs none.</summary>
    public string? Head { get; init; }
}
