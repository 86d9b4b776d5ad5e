using System.Numerics.Tensors;
using SpecDec.Sampling;

namespace SpecDec.Speculation;

/// <summary>
/// Lookahead decoding (Fu et al. 2024; LADE, llama.cpp's lookahead example): no draft model. A 2-D Jacobi
/// window of W columns and N − 1 levels rides on every verification forward as side rows; the target's argmax
/// at the last level's rows is the next level, and each column then reads as an n-gram (its level-0 token
/// followed by the column's later levels and the new token) that goes into a pool keyed by its first token.
/// The committed context's own n-grams go into the same pool (LADE's prompt seeding), so text that repeats is
/// found too. Each round proposes, as a tree N − 1 deep, up to G pooled n-grams that start with the last
/// committed token (newest first); the verifier checks them as point masses, so greedy and sampled output stay
/// exactly the target's.
/// <para>
/// Window layout (llama.cpp's): the root (the pending token) is level 0 column 0 at position p; level-0 column
/// i sits at p + i and sees level-0 columns ≤ i; level-l column i sits at p + i + l and sees those plus column
/// i of levels 1 … l − 1. Each row sees a chain of ancestors, so the window is a tree below the root:
/// (0, i) → (0, i − 1), (l, i) → (l − 1, i), with (0, 0) the root. The n-gram of column i is then a sequence
/// at consecutive positions whose last token is the target's prediction after the others.
/// </para>
/// Example (W = 2, N = 3): levels [r a] and [b c]; the rows a (after r), b (after r), c (after r a) give
/// argmaxes x, y for b and c: n-grams (r b x) and (a c y) enter the pool, the window becomes [b c], [x y].
/// </summary>
public sealed class LookaheadProposer : IDraftProposer
{
    private readonly NgramPool _pool = new();
    private int _w, _n, _g;                 // window columns, n-gram size, guesses per round
    private int _vocab;
    private int[] _window = [];             // [(N − 1) × W] level l column i at l·W + i; (0, 0) holds the root when it is known
    private int[] _gram = [];               // [N − 1] an n-gram being pooled, after its first token
    private int[] _next = [];               // [W] the target's argmax at each last-level row: the next level
    private int _indexedUpTo;               // context n-grams starting before this index are pooled
    private bool _filled;                   // the window holds tokens (it is filled from the prompt at the first round)
    private Xoshiro256StarStar _fill = new(0);

    public LookaheadProposer(int vocabSize) => _vocab = vocabSize;

    public int MaxSideRows => (_n - 1) * _w - 1;

    public void Reset(in ProposalRequest request)
    {
        var options = request.Speculation;
        (_w, _n, _g) = (options.LookaheadWindow, options.LookaheadNgram, options.LookaheadGuesses);
        if (_w < 1 || _n < 3 || _g < 1)
            throw new ArgumentOutOfRangeException(nameof(request), $"lookahead needs window ≥ 1, ngram ≥ 3, guesses ≥ 1 (got {_w}, {_n}, {_g})");
        if (_window.Length != (_n - 1) * _w) _window = new int[(_n - 1) * _w];
        if (_gram.Length != _n - 1) _gram = new int[_n - 1];
        if (_next.Length != _w) _next = new int[_w];
        _pool.Reset(_vocab, _n - 1, _g);
        _indexedUpTo = 0;
        _filled = false;
        _fill = new Xoshiro256StarStar(0x1ADE); // the window's start is the same for every request: reproducible rounds
    }

    public void Prefill(ReadOnlySpan<int> prompt) => Pool(prompt);

    public void Propose(ReadOnlySpan<int> context, DraftTree tree, Xoshiro256StarStar rng)
    {
        Pool(context);
        int root = context[^1];
        if (!_filled) Fill(context);
        _window[0] = root;
        int depth = Math.Min(_n - 1, tree.MaxDepth);
        int guesses = Math.Min(_g, _pool.Count(root));
        for (int i = 0; i < guesses && !tree.IsFull; i++) AddBranch(tree, _pool.Get(root, i)[..depth]);
    }

    /// <summary>Adds <paramref name="gram"/> below the root, sharing the nodes it agrees with.</summary>
    private static void AddBranch(DraftTree tree, ReadOnlySpan<int> gram)
    {
        int node = -1;
        foreach (int token in gram)
        {
            int child = tree.Child(node, token);
            if (child < 0)
            {
                if (tree.IsFull) return;
                child = tree.Add(node, token);
            }
            node = child;
        }
    }

    public int SideRows(Span<int> tokens, Span<int> parents, Span<int> wanted, out int wantedCount)
    {
        wantedCount = 0;
        int rows = MaxSideRows;
        if (tokens.Length < rows) return 0; // no room this round (the end of the sequence): the window waits
        for (int l = 0; l < _n - 1; l++)
        {
            for (int i = l == 0 ? 1 : 0; i < _w; i++)
            {
                int row = Row(l, i);
                tokens[row] = _window[l * _w + i];
                parents[row] = l == 0 ? Row(0, i - 1) : Row(l - 1, i);
            }
        }
        for (int i = 0; i < _w; i++) wanted[i] = Row(_n - 2, i);
        wantedCount = _w;
        return rows;
    }

    /// <summary>Side row of level <paramref name="level"/> column <paramref name="column"/>; −1 for (0, 0), the root.</summary>
    private int Row(int level, int column) => level == 0 ? column - 1 : _w - 1 + (level - 1) * _w + column;

    public void SideLogits(ReadOnlySpan<float> logits)
    {
        for (int i = 0; i < _w; i++)
        {
            _next[i] = TensorPrimitives.IndexOfMax(logits.Slice(i * _vocab, _vocab));
            for (int l = 1; l < _n - 1; l++) _gram[l - 1] = _window[l * _w + i];
            _gram[^1] = _next[i];
            _pool.Add(_window[i], _gram);
        }
        // Levels move down one (level l takes level l + 1's tokens); the last takes the new ones.
        _window.AsSpan(_w).CopyTo(_window);
        _next.CopyTo(_window.AsSpan((_n - 2) * _w));
    }

    public void Accepted(ReadOnlySpan<int> path) { } // the committed tokens reach the pool through the next context

    /// <summary>Pools every context n-gram that is complete: N tokens starting at each index up to n − N.</summary>
    private void Pool(ReadOnlySpan<int> context)
    {
        for (; _indexedUpTo + _n <= context.Length; _indexedUpTo++)
            _pool.Add(context[_indexedUpTo], context.Slice(_indexedUpTo + 1, _n - 1));
    }

    /// <summary>Starts the window with tokens drawn from the context (llama.cpp's start): plausible tokens of the text.</summary>
    private void Fill(ReadOnlySpan<int> context)
    {
        for (int k = 0; k < _window.Length; k++) _window[k] = context[(int)(_fill.NextUInt64() % (ulong)context.Length)];
        _filled = true;
    }
}
