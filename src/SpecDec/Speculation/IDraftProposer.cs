using SpecDec.Sampling;

namespace SpecDec.Speculation;

/// <summary>
/// Proposes a tree of candidate tokens (a chain is the special case) that the target then verifies in one
/// forward. A proposer keeps whatever state it needs (its own KV cache, an n-gram index) in step with the
/// committed context, and never touches the target's cache. Call order per sequence: Reset, Prefill, then
/// (Propose, Accepted)*; <see cref="TargetHidden"/> reports the target's hidden states as they are computed.
/// One instance serves one sequence at a time; everything a request sets arrives in <see cref="Reset"/>.
/// </summary>
public interface IDraftProposer
{
    /// <summary>
    /// Layers of the target whose hidden states this proposer reads (0..L−1: the residual stream after that
    /// block; L: the final-normed state the output head reads). Empty (the default): none, and the target
    /// computes none for it.
    /// </summary>
    ReadOnlySpan<int> TargetLayers => default;

    /// <summary>The tree size this proposer chose for the machine (<see cref="TreeSizer"/>), or null when it sizes none.</summary>
    TreeShape? TreeSize => null;

    /// <summary>Starts a new sequence; forgets the previous one.</summary>
    void Reset(in ProposalRequest request);

    /// <summary>
    /// Reads the committed context before the first round: the prompt and the first token, which the target's
    /// prefill gave (all of it but that last token, as the target's cache holds), so that the proposer's share of
    /// prompt processing is timed as prefill, not as the first round's drafting, and comes after the first token
    /// is out. Proposing works without it: the first <see cref="Propose"/> then reads what was skipped.
    /// </summary>
    void Prefill(ReadOnlySpan<int> prompt);

    /// <summary>
    /// Drafts into <paramref name="tree"/> (cleared, with its budget set) tokens that may follow
    /// <paramref name="context"/> (every committed token: the prompt and what was generated; the target has not
    /// yet seen the last one, the tree's root). Adding nothing skips speculation for the round.
    /// </summary>
    void Propose(ReadOnlySpan<int> context, DraftTree tree, Xoshiro256StarStar rng);

    /// <summary>
    /// The verifier kept the nodes <paramref name="path"/> (root's child first) of the last proposal; their
    /// tokens, and the token after them, become committed and arrive in the next <see cref="Propose"/>'s context.
    /// </summary>
    void Accepted(ReadOnlySpan<int> path);

    /// <summary>
    /// The target computed the hidden states of committed positions [<paramref name="start"/>, start +
    /// <paramref name="rows"/>): <paramref name="hidden"/> is [TargetLayers.Length × rows × hidden size]. Called
    /// during the prefill for every chunk, and after each round for the root and the accepted path, before
    /// <see cref="Accepted"/>; so every position arrives once, in order (the round that ends generation reports its
    /// whole accepted path, also past a stop token). Only when <see cref="TargetLayers"/> is not empty.
    /// </summary>
    void TargetHidden(int start, int rows, ReadOnlySpan<float> hidden) { }

    /// <summary>
    /// What drafts this round when the proposer chooses among ways of drafting (auto's method, layer skipping's
    /// exit); null for a proposer that always drafts the same way. Read after <see cref="Propose"/>; the same
    /// strings every time (no allocation per round).
    /// </summary>
    string? ActiveMethod => null;

    /// <summary>
    /// Most rows <see cref="SideRows"/> may ever add (0, the default: none). Read after <see cref="Reset"/>.
    /// </summary>
    int MaxSideRows => 0;

    /// <summary>
    /// Rows this proposer rides on the round's verification forward besides the tree (lookahead's Jacobi
    /// window), called after <see cref="Propose"/>. They are no candidates: each sees the cache, the root and its
    /// own ancestors among them, none of the tree's nodes, and they leave the cache after the round. Writes at
    /// most <paramref name="tokens"/>.Length rows (each a token and a parent: −1 for the root, else an earlier
    /// side row; its position is the root's plus its depth below the root) and, in
    /// <paramref name="wanted"/>, the side rows whose logits it wants; returns how many rows, with
    /// <paramref name="wantedCount"/>. The logits arrive in <see cref="SideLogits"/>.
    /// </summary>
    int SideRows(Span<int> tokens, Span<int> parents, Span<int> wanted, out int wantedCount)
    {
        wantedCount = 0;
        return 0;
    }

    /// <summary>
    /// The sequence ended normally; <paramref name="generated"/> is what it produced after the prompt. A proposer
    /// that learns across requests (retrieval's in-process store) keeps it; the default ignores it.
    /// </summary>
    void Finished(ReadOnlySpan<int> generated) { }

    /// <summary>Drops whatever was learned across requests (<see cref="Finished"/>).</summary>
    void Forget() { }

    /// <summary>The target's logits [wanted × V] of the side rows <see cref="SideRows"/> asked for, in its order; before <see cref="Accepted"/>.</summary>
    void SideLogits(ReadOnlySpan<float> logits) { }

    /// <summary>
    /// This round's verification shared one forward with other sequences' rounds (continuous batching), before
    /// <see cref="Accepted"/>: the time from <see cref="Propose"/> to <see cref="Accepted"/> includes theirs and says
    /// nothing of what this round's rows cost. The default ignores it.
    /// </summary>
    void SharedForward() { }
}
