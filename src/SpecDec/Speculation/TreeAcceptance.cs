using System.Numerics;
using System.Numerics.Tensors;

namespace SpecDec.Speculation;

/// <summary>
/// The acceptance walk down a draft tree, the one rule every verification follows (chains included). Generic
/// in the number type only so that the exact enumeration test can run this very code in double precision;
/// the engine runs it in float.
/// <code>
/// u = root
/// loop:
///   p = p_u (the target's distribution after u, from the one sampling function)
///   if u has no children: emit a bonus token ~ p; stop
///   greedy: if a child's token is argmax p, accept it (u = child) and go on; else emit argmax p; stop
///   for each child cᵢ of u (token xᵢ), in order:
///       qᵢ = δ(xᵢ)                                   point masses (top-k, n-gram, retrieval, greedy drafts)
///            q_u                                    drawn with replacement (a chain from a draft model)
///            q_u without x₁ … xᵢ₋₁, renormalised     drawn without replacement
///       accept cᵢ with probability min(1, p(xᵢ) / qᵢ(xᵢ)): u = cᵢ; continue the loop
///       else p = norm(max(0, p − qᵢ))
///   no child stood: emit a correction ~ p (the residual); stop
/// </code>
/// With <see cref="TypicalAcceptance"/> on (an opt-in, lossy), sampling replaces the loop over the children: the
/// child whose token has the largest p(x) above the typical cut stands; if none passes, the next token is drawn
/// from p itself.
/// Each step leaves the law of the emitted token equal to p_u (SpecInfer, Miao et al. 2024; Sequoia, Chen et
/// al. 2024), so the output is distributed exactly as plain sampling's. The residual is kept unnormalised
/// with its mass m: "u &lt; p(x) / (m · q(x))" and "max(0, p − m · q)" are the normalised rule without a
/// division or a pass to rescale, and for the first child (m = 1) they are the chain rule bit for bit.
/// Example (point masses): p = [0.5, 0.3, 0.2], children 1 then 0. Child 1 stands with 0.3; else p becomes
/// [0.5, 0, 0.2] (m = 0.7), child 0 stands with 0.5 / 0.7; else the correction is 2.
/// </summary>
internal class TreeAcceptance<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    private readonly T[] _p;   // [V] the target's distribution at the node being verified
    private readonly T[] _cur; // [V] unnormalised residual of p after the rejected children
    private readonly T[] _qi;  // [V] a without-replacement child's q with earlier siblings removed

    public TreeAcceptance(int vocabSize)
    {
        _p = new T[vocabSize];
        _cur = new T[vocabSize];
        _qi = new T[vocabSize];
    }

    /// <summary>
    /// Walks <paramref name="tree"/> from the root, writing the accepted nodes to <paramref name="path"/>
    /// [tree depth]. Returns how many were accepted and the token that follows them. <paramref name="typical"/>
    /// applies when not greedy; off (default) keeps the walk lossless.
    /// </summary>
    public Verdict Walk<TDists, TRandom>(DraftTree tree, bool greedy, ref TDists dists, ref TRandom random, Span<int> path,
        TypicalAcceptance typical = default)
        where TDists : ITreeDistributions<T>, allows ref struct
        where TRandom : IRandomChoices<T>, allows ref struct
    {
        int node = -1, depth = 0;
        while (true)
        {
            int best = dists.Target(node + 1, path[..depth], _p);
            int first = tree.FirstChild(node);
            if (first < 0) return new Verdict(depth, greedy ? best : random.Sample(_p), IsBonus: true);

            int child;
            if (greedy)
            {
                child = first;
                while (child >= 0 && tree.Tokens[child] != best) child = tree.NextSibling(child);
                if (child < 0) return new Verdict(depth, best, IsBonus: false);
            }
            else if (typical.IsOn)
            {
                child = TypicalChild(tree, first, typical.Cutoff<T>(_p));
                if (child < 0) return new Verdict(depth, random.Sample(_p), IsBonus: false);
            }
            else
            {
                child = TryChildren(tree, first, ref dists, ref random, out bool residualHasMass);
                if (child < 0) return new Verdict(depth, random.Sample(residualHasMass ? _cur : _p), IsBonus: false);
            }
            path[depth++] = child;
            node = child;
        }
    }

    /// <summary>The child from <paramref name="first"/> on whose token is likeliest under p with p(x) &gt; <paramref name="cut"/>, or -1.</summary>
    private int TypicalChild(DraftTree tree, int first, T cut)
    {
        int best = -1;
        T bestP = cut;
        for (int c = first; c >= 0; c = tree.NextSibling(c))
        {
            int x = tree.Tokens[c];
            if ((uint)x < (uint)_p.Length && _p[x] > bestP)
            {
                best = c;
                bestP = _p[x];
            }
        }
        return best;
    }

    /// <summary>Tries the children from <paramref name="first"/> on; returns the accepted one, or -1 with the residual in _cur.</summary>
    private int TryChildren<TDists, TRandom>(DraftTree tree, int first, ref TDists dists, ref TRandom random, out bool residualHasMass)
        where TDists : ITreeDistributions<T>, allows ref struct
        where TRandom : IRandomChoices<T>, allows ref struct
    {
        // The residual starts as p itself, copied only at the first rejection: an accepted first child (the
        // common case) costs no pass over the vocabulary.
        T[] residual = _p;
        T mass = T.One; // p from the sampling function is normalised
        T drawn = T.Zero; // without replacement: q mass of the siblings tried so far
        residualHasMass = true;
        for (int c = first; c >= 0; c = tree.NextSibling(c))
        {
            int x = tree.Tokens[c];
            bool inVocab = (uint)x < (uint)residual.Length;
            T px = inVocab ? residual[x] : T.Zero;
            ReadOnlySpan<T> q = tree.Draws == SiblingDraws.PointMass ? default : dists.Draft(c);
            if (tree.Draws == SiblingDraws.WithoutReplacement) q = SiblingQ(tree, first, c, q, drawn);
            T qx = q.IsEmpty ? T.One : inVocab ? q[x] : T.Zero;
            if (random.Accept(px, qx * mass)) return c;

            if (residual == _p)
            {
                _p.CopyTo(_cur, 0);
                residual = _cur;
            }
            Residual(_cur, mass, q, x);
            if (tree.Draws == SiblingDraws.WithoutReplacement) drawn += dists.Draft(c)[x];
            mass = Mass(_cur);
            // No mass left only arises from rounding when p ≈ q; p itself is then the right law.
            if (!(mass > T.Zero))
            {
                residualHasMass = false;
                return -1;
            }
        }
        return -1;
    }

    /// <summary>
    /// q of child <paramref name="child"/> drawn without replacement: the shared q with its earlier siblings
    /// (<paramref name="first"/> …) removed, divided by what is left (1 − <paramref name="drawn"/>).
    /// Virtual only so tests can show that skipping the renormalisation breaks the exact test.
    /// </summary>
    protected virtual ReadOnlySpan<T> SiblingQ(DraftTree tree, int first, int child, ReadOnlySpan<T> q, T drawn)
    {
        if (child == first) return q;
        q.CopyTo(_qi);
        for (int s = first; s != child; s = tree.NextSibling(s))
            if ((uint)tree.Tokens[s] < (uint)_qi.Length) _qi[tree.Tokens[s]] = T.Zero;
        TensorPrimitives.Divide(_qi, T.One - drawn, _qi);
        return _qi;
    }

    /// <summary>
    /// After rejecting token <paramref name="x"/>: residual ← max(0, residual − mass · q), or, for a point mass
    /// (<paramref name="q"/> empty), the residual without x. Virtual only so tests can break it.
    /// </summary>
    protected virtual void Residual(Span<T> residual, T mass, ReadOnlySpan<T> q, int x)
    {
        if (q.IsEmpty)
        {
            if ((uint)x < (uint)residual.Length) residual[x] = T.Zero;
            return;
        }
        TensorPrimitives.MultiplyAdd(q, -mass, residual, residual);
        TensorPrimitives.Max(residual, T.Zero, residual);
    }

    /// <summary>The residual's mass, which the next child's acceptance test divides by. Virtual only so tests can break it.</summary>
    protected virtual T Mass(ReadOnlySpan<T> residual) => TensorPrimitives.Sum(residual);
}
