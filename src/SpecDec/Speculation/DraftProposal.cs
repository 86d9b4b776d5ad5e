namespace SpecDec.Speculation;

/// <summary>
/// What a proposer drafted: <see cref="Count"/> tokens, and whether it also wrote the distributions q they were
/// drawn from (else the verifier treats each token as a point mass).
/// </summary>
public readonly record struct DraftProposal(int Count, bool HasDistributions)
{
    public static DraftProposal Empty => default;
}
