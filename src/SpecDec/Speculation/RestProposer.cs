using System.Diagnostics;
using SpecDec.Retrieval;
using SpecDec.Sampling;
using SpecDec.Tokenization;

namespace SpecDec.Speculation;

/// <summary>
/// Retrieval drafting (REST, He et al. 2024, with suffix decoding's two trees, Oliaro et al. 2024): the longest suffix
/// of the context, 16 tokens down to 2, is looked up in two sources, and the continuations of its occurrences are
/// counted in a trie per source (<see cref="ContinuationTrie"/>):
/// <list type="bullet">
/// <item>the request: its own prompt and output (what prompt lookup copies from);</item>
/// <item>the stores: the file datastore (<see cref="SpeculationOptions.Datastore"/>, memory-mapped suffix array;
/// none when unset) and what this proposer learned from the answers it saw finish (<see cref="IDraftProposer.Finished"/>,
/// up to <see cref="LearnedCapacity"/> tokens; <see cref="SaveLearned"/> writes it as a datastore file), merged where
/// their longest matches are equally long.</item>
/// </list>
/// Each source's nodes are ranked by the chance the target follows them: a node's share of the continuations, times
/// α per level, with α learned from this proposer's own rounds per source and match length
/// (<see cref="AcceptanceEstimate"/>: a 2-token match in prose rarely holds, a 12-token one in a copied passage almost
/// always does). A source's tree is the best-ranked prefix with the most expected tokens per unit of verification
/// time, (1 + Σ p) / c(nodes + 1), under the verification cost curve (<see cref="LearnedCostCurve"/>: on a CPU each
/// verified row costs a fraction of a forward, so a rare path costs more than it saves), and the round drafts the
/// source whose tree promises more, or nothing where neither beats plain decoding (suffix decoding's choice between
/// its per-request and global trees by score). How deep a continuation is trusted follows from α alone (suffix
/// decoding caps it at the match's length; with α learned per match length that cap only cut copies short: on the
/// loaded machine, `bench --methods ar,pld,rest --categories rag,qa,summarization,code_edit --limit 6`, rounds plus a
/// sixth per drafted row, 1182 with the cap and 1171 without, 6 deep, 1106 without it 8 deep; pld 1144–1156 in the
/// same runs). Drafts are point masses.
/// Example: context "… the cat", the store holds "the cat sat" twice and "the cat ran" once: the tree is
/// "sat" then "ran" below the root, "sat" tried first.
/// </summary>
public sealed class RestProposer : IDraftProposer
{
    /// <summary>Most occurrences whose continuations are counted per in-memory store and round.</summary>
    public const int MaxHits = 256;

    /// <summary>
    /// Most occurrences of the file datastore counted per round, spread evenly over its matches: the suffix array
    /// orders them by what follows, so the first ones alone would be the alphabetically first continuations, and each
    /// one read is a random access into the mapped file (with 256 the lookups cost auto about 0.3 ms a round, loaded).
    /// </summary>
    public const int FileHits = 64;

    /// <summary>Most tokens the learned store keeps; later answers are not learned (its index costs ~0.2 kB a token).</summary>
    public const int LearnedCapacity = 1 << 17;

    private readonly ITokenizer _tokenizer;
    private readonly Func<LearnedCostCurve>? _costSource;
    private readonly bool _timesRounds;
    private readonly TokenHistory _context = new();
    private readonly TokenHistory _learned = new();
    private readonly ContinuationTrie _requestTrie = new();
    private readonly ContinuationTrie _storeTrie = new();
    private readonly AcceptanceEstimate[] _requestAcceptance = AcceptanceEstimate.PerMatchBucket(); // [match-length bucket]
    private readonly AcceptanceEstimate[] _storeAcceptance = AcceptanceEstimate.PerMatchBucket();   // [match-length bucket]
    private readonly int[] _starts = new int[MaxHits];
    private readonly int[] _continuation = new int[SpeculationOptions.MaxVerifyRows];
    private LearnedCostCurve? _cost;
    private Datastore? _store;
    private long _rounds;
    private DraftTree? _tree;                // the round's proposal, to tell whether its accepted path could have gone on
    private AcceptanceEstimate? _estimate;   // … and the estimate its outcome updates
    private long _verifyStart;               // … and when it went to the verifier (Stopwatch ticks; 0: not timed)

    /// <param name="tokenizer">The target's: a datastore file must have been built with it.</param>
    /// <param name="cost">The verification cost curve, read at each <see cref="Reset"/>; null: rows cost nothing (every
    /// ranked node is drafted, within the budget).</param>
    /// <param name="timesRounds">Whether this proposer teaches <paramref name="cost"/> the time from its proposal to the
    /// accepted path (false where a caller drafts through it and times the rounds itself: auto).</param>
    public RestProposer(ITokenizer tokenizer, Func<LearnedCostCurve>? cost = null, bool timesRounds = false)
    {
        _tokenizer = tokenizer;
        _costSource = cost;
        _timesRounds = timesRounds && cost is not null;
    }

    /// <summary>The file datastore in use, if any.</summary>
    public Datastore? Store => _store;

    /// <summary>Tokens learned from earlier answers (document separators included).</summary>
    public int LearnedTokens => _learned.Count;

    public void Reset(in ProposalRequest request)
    {
        string? path = request.Speculation.Datastore;
        if (path != _store?.Path)
        {
            _store?.Dispose();
            _store = null;
            if (path is not null) _store = Datastore.Open(path, _tokenizer);
        }
        _cost = _costSource?.Invoke();
        _context.Clear(request.Capacity);
        _requestTrie.Reserve(MaxHits, request.Speculation.DraftMax);
        _storeTrie.Reserve(2 * MaxHits, request.Speculation.DraftMax);
        _tree = null;
        _estimate = null;
        _verifyStart = 0;
    }

    public void Prefill(ReadOnlySpan<int> prompt) => _context.Append(prompt);

    /// <summary>Length of the suffix the last proposal matched (0: none), which predicts how far its continuations hold.</summary>
    public int MatchLength { get; private set; }

    /// <summary>Tokens the last proposal is expected to yield with the verifier's own: 1 + Σ p over its nodes (1: no draft).</summary>
    public double ExpectedTokens { get; private set; } = 1;

    public void Propose(ReadOnlySpan<int> context, DraftTree tree, Xoshiro256StarStar rng)
    {
        _rounds++;
        _context.Append(context[_context.Count..]);
        var tail = context[^Math.Min(context.Length, 16)..];
        int depth = tree.MaxDepth, budget = tree.Budget;
        MatchLength = 0;
        ExpectedTokens = 1;
        _tree = tree;
        _estimate = null;

        // The request: its own earlier occurrences of the suffix.
        int requestMatch = _context.Match(tail, _starts, out _);
        if (requestMatch > 0)
        {
            _requestTrie.Clear();
            Count(_requestTrie, _context, tail, depth);
        }

        // The stores: the file and the learned answers, at the longer match (both where equal).
        int fileMatch = FileMatch(tail, out long first, out long count);
        int learnedMatch = _learned.Match(tail, _starts, out _);
        int storeMatch = Math.Max(fileMatch, learnedMatch);
        if (storeMatch > 0)
        {
            _storeTrie.Clear();
            if (learnedMatch == storeMatch) Count(_storeTrie, _learned, tail, depth);
            if (fileMatch == storeMatch)
            {
                long taken = Math.Min(count, FileHits);
                for (long h = 0; h < taken; h++)
                {
                    long start = _store!.Suffix(first + h * count / taken) + storeMatch;
                    int length = 0;
                    for (; length < depth; length++)
                    {
                        int token = _store.Token(start + length);
                        if (token < 0) break;
                        _continuation[length] = token;
                    }
                    if (length > 0) _storeTrie.Add(_continuation.AsSpan(0, length));
                }
            }
        }

        double bestRate = 1; // plain decoding: one token per one-row round
        int requestNodes = 0, storeNodes = 0;
        double requestTokens = 1, storeTokens = 1;
        double requestRate = requestMatch > 0 ? Plan(_requestTrie, _requestAcceptance[AcceptanceEstimate.MatchBucket(requestMatch)],
            budget, depth, out requestNodes, out requestTokens) : 0;
        double storeRate = storeMatch > 0 ? Plan(_storeTrie, _storeAcceptance[AcceptanceEstimate.MatchBucket(storeMatch)],
            budget, depth, out storeNodes, out storeTokens) : 0;
        if (requestRate > bestRate && requestRate >= storeRate)
        {
            _requestTrie.Draft(tree, requestNodes);
            (MatchLength, ExpectedTokens, _estimate) = (requestMatch, requestTokens, _requestAcceptance[AcceptanceEstimate.MatchBucket(requestMatch)]);
        }
        else if (storeRate > bestRate)
        {
            _storeTrie.Draft(tree, storeNodes);
            (MatchLength, ExpectedTokens, _estimate) = (storeMatch, storeTokens, _storeAcceptance[AcceptanceEstimate.MatchBucket(storeMatch)]);
        }
        if (_timesRounds) _verifyStart = Stopwatch.GetTimestamp();
    }

    /// <summary>
    /// The best-ranked prefix of <paramref name="trie"/>'s nodes with the most expected tokens per unit of verification
    /// time: returns that rate (tokens per one-row round) with the prefix's length and expected tokens.
    /// </summary>
    private double Plan(ContinuationTrie trie, AcceptanceEstimate estimate, int budget, int maxDepth, out int nodes, out double tokens)
    {
        int ranked = trie.Rank(budget, maxDepth, estimate.Optimistic(_rounds));
        double best = 0, sum = 1;
        nodes = 0;
        tokens = 1;
        for (int n = 1; n <= ranked; n++)
        {
            sum += trie.Probability(n - 1);
            double rate = sum / Relative(n + 1);
            if (rate > best) (best, nodes, tokens) = (rate, n, sum);
        }
        return best;
    }

    private double Relative(int rows) => _cost?.Relative(rows) ?? 1;

    /// <summary>Counts the continuations of <paramref name="tail"/>'s longest match in <paramref name="history"/>.</summary>
    private void Count(ContinuationTrie trie, TokenHistory history, ReadOnlySpan<int> tail, int depth)
    {
        history.Match(tail, _starts, out int found);
        var tokens = history.Tokens;
        for (int i = 0; i < found; i++)
        {
            int start = _starts[i], length = 0;
            while (length < depth && start + length < tokens.Length && tokens[start + length] >= 0) length++;
            trie.Add(tokens.Slice(start, length));
        }
    }

    /// <summary>
    /// The longest suffix of <paramref name="tail"/> that the file store holds followed by a token, of the in-memory
    /// stores' lengths (<see cref="TokenHistory.Sizes"/>, 16 down to 2: seven binary searches at most, not fifteen).
    /// </summary>
    private int FileMatch(ReadOnlySpan<int> tail, out long first, out long count)
    {
        first = count = 0;
        if (_store is null) return 0;
        foreach (int size in TokenHistory.Sizes)
        {
            if (size > tail.Length) continue;
            (first, count) = _store.Find(tail[^size..]);
            if (count > 0) return size;
        }
        return 0;
    }

    /// <summary>
    /// Learns from the round: each accepted level a success for the source and match length that drafted it, and a
    /// failure where the tree went on below the accepted path; with <c>timesRounds</c>, the round's time for its rows.
    /// The committed tokens themselves arrive in the next context.
    /// </summary>
    /// <summary>A batched round's time is not this round's cost: the learned cost curve skips it.</summary>
    public void SharedForward() => _verifyStart = 0;

    public void Accepted(ReadOnlySpan<int> path)
    {
        if (_tree is null) return;
        int rows = _tree.Count + 1;
        if (_verifyStart != 0) _cost!.Observe(rows, Stopwatch.GetElapsedTime(_verifyStart).TotalMilliseconds);
        if (_estimate is not null)
        {
            int last = path.IsEmpty ? -1 : path[^1];
            bool wentOn = _tree.FirstChild(last) >= 0;
            _estimate.Observe(path.Length + (wentOn ? 1 : 0), path.Length);
        }
        _tree = null;
        _estimate = null;
        _verifyStart = 0;
    }

    public void Finished(ReadOnlySpan<int> generated)
    {
        if (generated.Length == 0 || _learned.Count + generated.Length + 1 > LearnedCapacity) return;
        _learned.Append(generated);
        _learned.Append([-1]);
    }

    /// <summary>Forgets the learned answers and what the rounds taught about each source's acceptance.</summary>
    public void Forget()
    {
        _learned.Clear();
        foreach (var e in _requestAcceptance) e.Clear();
        foreach (var e in _storeAcceptance) e.Clear();
    }

    /// <summary>Writes what was learned as a datastore file for this tokenizer (load it with <see cref="SpeculationOptions.Datastore"/>).</summary>
    public void SaveLearned(Stream output) => DatastoreWriter.Write(output, _learned.Tokens, _tokenizer);
}
