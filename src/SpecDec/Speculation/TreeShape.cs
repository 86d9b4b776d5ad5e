using System.Globalization;

namespace SpecDec.Speculation;

/// <summary>
/// A draft tree's size: at most <see cref="Nodes"/> nodes, <see cref="Depth"/> deep, <see cref="TopK"/>
/// children per node; with what <see cref="TreeSizer"/> expected of it (accepted drafts per round, and
/// tokens per unit of one-row target time, plain decoding being 1).
/// </summary>
/// <param name="VerifyCost">c(Nodes + 1): the verification forward's time in one-row forwards, as measured here.</param>
/// <param name="DraftCost">The proposer's drafting per round in the same unit, as measured here.</param>
public readonly record struct TreeShape(int Nodes, int Depth, int TopK, double ExpectedAccepted = 0, double ExpectedSpeedup = 0, double VerifyCost = 0,
    double DraftCost = 0)
{
    public override string ToString() => string.Create(CultureInfo.InvariantCulture,
        $"{Nodes} nodes, depth {Depth}, top-{TopK}") + (ExpectedSpeedup > 0
            ? string.Create(CultureInfo.InvariantCulture,
                $" (c({Nodes + 1}) = {VerifyCost:F2}, drafting {DraftCost:F2} one-row forwards; expects {ExpectedAccepted:F2} accepted/round, {ExpectedSpeedup:F2}× plain)")
            : "");
}

/// <summary>One node of a static tree plan: its parent's index (-1: the root), its rank among its siblings (0 = best candidate), its depth.</summary>
public readonly record struct TreeNodePlan(int Parent, int Rank, int Depth);
