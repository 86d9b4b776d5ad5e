namespace SpecDec.Speculation;

/// <summary>
/// How a proposer chose the children of a tree node. The verifier's rule for each is lossless (see
/// <see cref="TreeAcceptance{T}"/>); using the wrong one is not.
/// </summary>
public enum SiblingDraws
{
    /// <summary>
    /// Deterministic candidates (top-k, static trees, n-gram and retrieval continuations, greedy drafts): each
    /// child is a point mass, q = δₓ. Accept child x with p(x), else zero p(x), renormalise, try the next.
    /// </summary>
    PointMass,

    /// <summary>
    /// Children drawn independently from the node's q (SpecInfer's multi-draft speculative sampling); a chain
    /// drawn from a draft model's q is this with one child per node.
    /// </summary>
    WithReplacement,

    /// <summary>Children drawn from q without replacement (Sequoia, EAGLE-1): each draw excludes the earlier siblings.</summary>
    WithoutReplacement,
}
