using SpecDec.Model;

namespace SpecDec.Speculation;

/// <summary>
/// Which proposer drafts and how long its drafts may be. The draft length adapts between
/// <see cref="DraftMin"/> and <see cref="DraftMax"/> (see <see cref="DraftLengthController"/>);
/// DraftMin = DraftMax fixes it, DraftPMin = 0 turns the confidence cut-off off.
/// </summary>
public sealed record SpeculationOptions
{
    /// <summary>A name in <see cref="SpeculationMethods"/>.</summary>
    public string Method { get; init; } = SpeculationMethods.None;

    /// <summary>True for plain decoding.</summary>
    public bool IsNone => Method == SpeculationMethods.None;

    /// <summary>Most draft tokens per round; the target verifies DraftMax + 1 rows at most.</summary>
    public int DraftMax { get; init; } = 8;

    /// <summary>The adaptive length never drops below this.</summary>
    public int DraftMin { get; init; } = 1;

    /// <summary>The draft model stops drafting when its top probability (softmax at T = 1) falls below this.</summary>
    public float DraftPMin { get; init; } = 0.5f;

    /// <summary>
    /// The draft model reads only the first 4 and the latest DraftContext tokens of the context; 0 reads all of
    /// it (see <see cref="DraftModelProposer.Window"/>). Measured with the bundled pair (`specdec bench
    /// --methods ar,draft`, greedy): on 25 held-out code completions acceptance stayed the same (α 0.835 against
    /// 0.838, τ 3.08 both) while drafting cost half as much per token, decode speedup 1.23× → 1.58×; over 6
    /// items of every category 1.26× (all) → 1.28× (128), 1.33× (256), 1.30× (512).
    /// </summary>
    public int DraftContext { get; init; } = 256;

    /// <summary>Longest n-gram prompt lookup tries to match.</summary>
    public int NgramMax { get; init; } = 4;

    /// <summary>Shortest n-gram prompt lookup accepts as a match.</summary>
    public int NgramMin { get; init; } = 2;

    /// <summary>
    /// Draft a tree where the method can (prompt lookup: a branch per distinct continuation of the n-gram's
    /// earlier matches), each branch at most DraftMax deep, at most <see cref="TreeNodes"/> nodes in all.
    /// </summary>
    public bool Tree { get; init; }

    /// <summary>Most nodes of a draft tree: the target verifies TreeNodes + 1 rows at most.</summary>
    public int TreeNodes { get; init; } = 8;

    /// <summary>Retrieval (rest): the datastore file to draft from (`specdec datastore build`); null: none, only the in-process stores.</summary>
    public string? Datastore { get; init; }

    /// <summary>
    /// Layer skipping: the blocks the target drafts with (an early exit, for a model trained for one); 0
    /// chooses them online from what each delivers.
    /// </summary>
    public int ExitLayer { get; init; }

    /// <summary>Lookahead: columns W of the Jacobi window (set with the others through <see cref="WithLookahead"/>).</summary>
    public int LookaheadWindow { get; init; } = 5;

    /// <summary>Lookahead: n-gram size N; the window has N − 1 levels and a guess is the N − 1 tokens after its first.</summary>
    public int LookaheadNgram { get; init; } = 4;

    /// <summary>Lookahead: most pooled n-grams verified per round (G).</summary>
    public int LookaheadGuesses { get; init; } = 4;

    /// <summary>
    /// Lookahead's settings and what follows from them: every round verifies up to G n-grams as a tree N − 1
    /// deep (G · (N − 1) nodes) beside a window of (N − 1) · W rows, (N − 1)(W + G) rows in one forward.
    /// </summary>
    public SpeculationOptions WithLookahead(int? window = null, int? ngram = null, int? guesses = null)
    {
        int n = ngram ?? LookaheadNgram, g = guesses ?? LookaheadGuesses;
        return this with
        {
            LookaheadWindow = window ?? LookaheadWindow, LookaheadNgram = n, LookaheadGuesses = g,
            DraftMin = Math.Max(n - 1, 1), DraftMax = Math.Max(n - 1, 1), Tree = true, TreeNodes = Math.Max(g * (n - 1), 1),
        };
    }

    /// <summary>
    /// Choose the tree's node count (at most <see cref="TreeNodes"/>), and its depth and top-k where
    /// <see cref="TreeDepth"/> and <see cref="TreeTopK"/> are not given, from this machine's measured verification
    /// cost and the acceptance by depth (<see cref="TreeSizer"/>); EAGLE and Medusa do. False: TreeNodes is the size.
    /// </summary>
    public bool SizeTree { get; init; }

    /// <summary>A fixed tree depth (at most <see cref="DraftMax"/>), or null to choose it (EAGLE, Medusa).</summary>
    public int? TreeDepth { get; init; }

    /// <summary>A fixed number of candidates per node, or null to choose it, up to <see cref="MaxTreeTopK"/> (EAGLE, Medusa).</summary>
    public int? TreeTopK { get; init; }

    /// <summary>
    /// Medusa's typical acceptance when sampling (<c>--typical-acceptance</c>): more tokens stand per round, but
    /// the output no longer follows the target's distribution. Off by default; greedy decoding ignores it.
    /// </summary>
    public TypicalAcceptance Typical { get; init; }

    /// <summary>Most candidates per node a sized tree considers.</summary>
    public const int MaxTreeTopK = 10;

    /// <summary>Most nodes a round may draft: the chain length, or the tree budget.</summary>
    public int MaxNodes => Tree ? Math.Max(TreeNodes, DraftMax) : DraftMax;

    /// <summary>Rows a verification forward may hold: the pending token plus the drafts.</summary>
    public const int MaxVerifyRows = ForwardBatch.MaxRows;

    public static SpeculationOptions None { get; } = new();

    /// <summary>
    /// The options of <paramref name="method"/> with its own defaults (<see cref="SpeculationMethod.Defaults"/>)
    /// where no length is given. A length given for one bound only moves the other as far as it must.
    /// </summary>
    public static SpeculationOptions For(string method, int? draftMax = null, int? draftMin = null)
    {
        var defaults = SpeculationMethods.Get(method).Defaults;
        int max = draftMax ?? Math.Max(defaults.DraftMax, draftMin ?? 0);
        return defaults with { Method = method, DraftMax = max, DraftMin = draftMin ?? Math.Min(defaults.DraftMin, max) };
    }

    /// <summary>Throws a <see cref="SpecDecException"/> naming the first option out of range.</summary>
    public void Validate()
    {
        SpeculationMethods.Get(Method);
        if (IsNone) return;
        if (DraftMax < 1 || DraftMax >= MaxVerifyRows)
            throw new SpecDecException($"draft-max must be in [1, {MaxVerifyRows - 1}] (got {DraftMax})");
        if (DraftMin < 1 || DraftMin > DraftMax)
            throw new SpecDecException($"draft-min must be in [1, draft-max = {DraftMax}] (got {DraftMin})");
        if (!(DraftPMin >= 0 && DraftPMin <= 1)) throw new SpecDecException($"draft-p-min must be in [0, 1] (got {DraftPMin})");
        if (DraftContext < 0) throw new SpecDecException($"draft-context must be ≥ 0 (got {DraftContext})");
        if (NgramMin < 1 || NgramMax < NgramMin || NgramMax > 16)
            throw new SpecDecException($"n-gram sizes must satisfy 1 ≤ ngram-min ≤ ngram-max ≤ 16 (got {NgramMin}..{NgramMax})");
        if (Tree && (TreeNodes < 1 || TreeNodes >= MaxVerifyRows))
            throw new SpecDecException($"tree-nodes must be in [1, {MaxVerifyRows - 1}] (got {TreeNodes})");
        if (ExitLayer < 0) throw new SpecDecException($"exit-layer must be ≥ 0 (got {ExitLayer}; 0 chooses online)");
        if (Method == SpeculationMethods.Lookahead)
        {
            if (LookaheadWindow < 1) throw new SpecDecException($"lookahead-window must be ≥ 1 (got {LookaheadWindow})");
            if (LookaheadNgram < 3 || LookaheadNgram > 16) throw new SpecDecException($"lookahead-ngram must be in [3, 16] (got {LookaheadNgram})");
            if (LookaheadGuesses < 1) throw new SpecDecException($"lookahead-guesses must be ≥ 1 (got {LookaheadGuesses})");
            if ((LookaheadNgram - 1) * LookaheadWindow + MaxNodes > MaxVerifyRows)
                throw new SpecDecException($"lookahead needs (ngram − 1) × (window + guesses) ≤ {MaxVerifyRows} rows in one forward (got ngram {LookaheadNgram}, window {LookaheadWindow}, guesses {LookaheadGuesses})");
        }

        if (Typical.IsOn && !(Typical.Epsilon <= 1 && Typical.Alpha > 0))
            throw new SpecDecException($"typical acceptance needs 0 < ε ≤ 1 and α > 0 (got ε {Typical.Epsilon}, α {Typical.Alpha})");
        if (TreeDepth is int d && (d < 1 || d > DraftMax))
            throw new SpecDecException($"tree-depth must be in [1, {DraftMax}] (got {d})");
        if (TreeTopK is int k && (k < 1 || k > MaxTreeTopK))
            throw new SpecDecException($"tree-topk must be in [1, {MaxTreeTopK}] (got {k})");
    }
}
