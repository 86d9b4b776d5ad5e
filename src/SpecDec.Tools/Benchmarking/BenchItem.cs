namespace SpecDec.Tools.Benchmarking;

/// <summary>
/// One benchmark item. <see cref="Prompt"/> is ready to feed; a chat item also has its user
/// <see cref="Turns"/>, run one after another with the model's own answers fed back (see
/// <see cref="ChatFormat"/>). A plain-text item (code or prose continuation) has no turns.
/// </summary>
public sealed record BenchItem(string Id, string Category, string Source, string Prompt, IReadOnlyList<string> Turns)
{
    /// <summary>Number of generation requests the item makes: one per user turn, or one for a plain prompt.</summary>
    public int TurnCount => Turns.Count == 0 ? 1 : Turns.Count;
}
