using SpecDec.Retrieval;
using SpecDec.Sampling;
using SpecDec.Tokenization;

namespace SpecDec.Speculation;

/// <summary>
/// Retrieval drafting (REST, He et al. 2024; suffix decoding's per-request and global stores): the longest
/// suffix of the context, 16 tokens down to 2, is looked up in three stores, and the continuations of its
/// occurrences in the store(s) with the longest match are counted in a trie whose most frequent paths are
/// proposed as a tree within the node budget (<see cref="ContinuationTrie"/>), as point masses:
/// <list type="bullet">
/// <item>the file datastore (<see cref="SpeculationOptions.Datastore"/>, memory-mapped suffix array; none when unset);</item>
/// <item>what this proposer learned from the answers it saw finish (<see cref="IDraftProposer.Finished"/>), up to
/// <see cref="LearnedCapacity"/> tokens; <see cref="SaveLearned"/> writes it as a datastore file to load later;</item>
/// <item>the request's own prompt and output (prompt lookup's source).</item>
/// </list>
/// Example: context "… the cat", the store holds "the cat sat" twice and "the cat ran" once: the tree is
/// "sat" then "ran" below the root, "sat" tried first.
/// </summary>
public sealed class RestProposer : IDraftProposer
{
    /// <summary>Most occurrences whose continuations are counted per store and round.</summary>
    public const int MaxHits = 256;

    /// <summary>
    /// A node is drafted only when at least this share of the retrieved continuations runs through it: on two
    /// cores each verified row costs about a sixth of a one-row forward, so rarer paths cost more than they
    /// save. `specdec bench --methods ar,pld,rest --categories qa,rag,summarization --limit 5`: with every
    /// node up to the budget α was 0.12 and the decode speedup 1.03×; see the README for this setting's.
    /// </summary>
    public const float MinShare = 0.2f;

    /// <summary>Most tokens the learned store keeps; later answers are not learned (its index costs ~0.2 kB a token).</summary>
    public const int LearnedCapacity = 1 << 17;

    private readonly ITokenizer _tokenizer;
    private readonly TokenHistory _context = new();
    private readonly TokenHistory _learned = new();
    private readonly ContinuationTrie _trie = new();
    private readonly int[] _starts = new int[MaxHits];
    private readonly int[] _continuation = new int[SpeculationOptions.MaxVerifyRows];
    private Datastore? _store;

    public RestProposer(ITokenizer tokenizer) => _tokenizer = tokenizer;

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
        _context.Clear(request.Capacity);
        _trie.Reserve(3 * MaxHits, request.Speculation.MaxNodes);
    }

    public void Prefill(ReadOnlySpan<int> prompt) => _context.Append(prompt);

    /// <summary>Length of the suffix the last proposal matched (0: none), which predicts how far its continuations hold.</summary>
    public int MatchLength { get; private set; }

    public void Propose(ReadOnlySpan<int> context, DraftTree tree, Xoshiro256StarStar rng)
    {
        _context.Append(context[_context.Count..]);
        var tail = context[^Math.Min(context.Length, 16)..];
        int depth = tree.MaxDepth;

        int fileMatch = FileMatch(tail, out long first, out long count);
        int contextMatch = _context.Match(tail, _starts, out _);
        int learnedMatch = _learned.Match(tail, _starts, out _);
        int best = Math.Max(fileMatch, Math.Max(contextMatch, learnedMatch));
        MatchLength = best;
        if (best == 0) return;

        _trie.Clear();
        if (contextMatch == best) Count(_context, tail, depth);
        if (learnedMatch == best) Count(_learned, tail, depth);
        if (fileMatch == best)
        {
            for (long i = first; i < first + Math.Min(count, MaxHits); i++)
            {
                long start = _store!.Suffix(i) + best;
                int length = 0;
                for (; length < depth; length++)
                {
                    int token = _store.Token(start + length);
                    if (token < 0) break;
                    _continuation[length] = token;
                }
                if (length > 0) _trie.Add(_continuation.AsSpan(0, length));
            }
        }
        // Suffix decoding's rule: a continuation is trusted about as far as the match that found it.
        _trie.Draft(tree, maxDepth: best, MinShare);
    }

    /// <summary>Counts the continuations of <paramref name="tail"/>'s longest match in <paramref name="history"/>.</summary>
    private void Count(TokenHistory history, ReadOnlySpan<int> tail, int depth)
    {
        history.Match(tail, _starts, out int found);
        var tokens = history.Tokens;
        for (int i = 0; i < found; i++)
        {
            int start = _starts[i], length = 0;
            while (length < depth && start + length < tokens.Length && tokens[start + length] >= 0) length++;
            _trie.Add(tokens.Slice(start, length));
        }
    }

    /// <summary>The longest suffix of <paramref name="tail"/> (16 down to 2 tokens) that the file store holds followed by a token.</summary>
    private int FileMatch(ReadOnlySpan<int> tail, out long first, out long count)
    {
        first = count = 0;
        if (_store is null) return 0;
        for (int size = tail.Length; size >= 2; size--)
        {
            (first, count) = _store.Find(tail[^size..]);
            if (count > 0) return size;
        }
        return 0;
    }

    public void Accepted(ReadOnlySpan<int> path) { } // the committed tokens arrive in the next context

    public void Finished(ReadOnlySpan<int> generated)
    {
        if (generated.Length == 0 || _learned.Count + generated.Length + 1 > LearnedCapacity) return;
        _learned.Append(generated);
        _learned.Append([-1]);
    }

    public void Forget() => _learned.Clear();

    /// <summary>Writes what was learned as a datastore file for this tokenizer (load it with <see cref="SpeculationOptions.Datastore"/>).</summary>
    public void SaveLearned(Stream output) => DatastoreWriter.Write(output, _learned.Tokens, _tokenizer);
}
