using System.Diagnostics;
using SpecDec.Model;
using SpecDec.Speculation;

namespace SpecDec.Generation;

/// <summary>
/// Continuous batching: one round of each of several sessions on one target, their verification forwards run as one
/// (<see cref="ILanguageModel.Forward(in ForwardBatch, ReadOnlySpan{SequenceRows}, Span{float})"/>), so every weight is
/// read once for all their rows. Each session proposes, verifies and commits as <see cref="GenerationSession.Step"/>
/// does, on exactly the logits its round alone would get: its tokens are those it would generate alone. Sessions
/// that draft with a draft model (<see cref="IStepwiseDrafter"/>) run their drafting forwards together too, one forward
/// of the draft model per draft position for all of them, each row with the bits it gets alone, so the drafts are
/// those each would propose alone. Sessions
/// whose rows would take a forward past <see cref="ForwardBatch.MaxRows"/> go in the next forward of the same call;
/// a session whose proposer asks for the target's hidden states, or one left alone in a forward, verifies on its own. A round's time, in each
/// session's statistics, is the whole call's up to its commit; a proposer that learns from its rounds' timing
/// (auto's cost curve) is told when the forward was shared (<see cref="Speculation.IDraftProposer.SharedForward"/>). One caller at a time; allocates nothing per round
/// once its logits buffer has grown to the most logit rows one forward has needed.
/// </summary>
public sealed class BatchedRounds(ILanguageModel target)
{
    private const int MaxRows = ForwardBatch.MaxRows;
    private readonly int _vocab = target.Config.LogitCount;
    private readonly int[] _tokens = new int[MaxRows];            // [rows] the forward's rows: each session's round rows in turn
    private readonly int[] _positions = new int[MaxRows];         // [rows]
    private readonly int[] _parents = new int[MaxRows];           // [rows] parents counted from the session's first row
    private readonly int[] _logitRows = new int[MaxRows];         // [logit rows] batch rows
    private readonly SequenceRows[] _sequences = new SequenceRows[MaxRows];
    private readonly int[] _members = new int[MaxRows];           // [sequences] index of each sequence's session
    private readonly int[] _memberLogits = new int[MaxRows];      // [sequences] its logit rows
    private float[] _logits = [];                                 // [logit rows × V]
    private int _count, _rows, _logitCount;
    private readonly List<int> _opened = [];                      // sessions whose round is open, in order
    private List<IStepwiseDrafter> _drafting = [], _next = [];    // drafters wanting a forward (this step's, the next's)
    private readonly IStepwiseDrafter?[] _drafters = new IStepwiseDrafter?[MaxRows]; // [sequences] of a draft forward
    private float[] _draftLogits = [];                            // [sequences × draft V] their last rows' logits

    public ILanguageModel Target => target;

    /// <summary>
    /// One round of every session that has not finished; <paramref name="texts"/>[i] gets the text session i's round
    /// added (empty for one that had finished), and its <see cref="GenerationSession.RoundTokens"/> tell the round's tokens.
    /// </summary>
    public void Step(ReadOnlySpan<GenerationSession> sessions, Span<string> texts)
    {
        if (texts.Length < sessions.Length) throw new ArgumentException($"{texts.Length} texts for {sessions.Length} sessions", nameof(texts));
        long start = Stopwatch.GetTimestamp();
        try
        {
            for (int i = 0; i < sessions.Length; i++)
            {
                var loop = sessions[i].Loop;
                if (!ReferenceEquals(loop.Target, target)) throw new ArgumentException($"session {i} generates with another model", nameof(sessions));
                texts[i] = "";
                if (!loop.OpenRound(start, out bool propose)) continue;
                _opened.Add(i);
                if (!propose) continue;
                if (loop.Proposer is IStepwiseDrafter drafter)
                {
                    if (drafter.BeginPropose(loop.ProposalContext, loop.Tree!, loop.Rng)) _drafting.Add(drafter);
                }
                else loop.Proposer!.Propose(loop.ProposalContext, loop.Tree!, loop.Rng);
            }
            Draft();
            foreach (int i in _opened)
            {
                var loop = sessions[i].Loop;
                loop.LayOutRound();
                if (!loop.Batchable)
                {
                    texts[i] = loop.VerifyAlone();
                    continue;
                }
                var batch = loop.RoundBatch;
                if (_rows + batch.Count > MaxRows) Verify(sessions, texts);
                Add(i, batch, loop.Cache);
            }
            Verify(sessions, texts);
        }
        finally
        {
            _count = _rows = _logitCount = 0;
            _opened.Clear();
            _drafting.Clear();
            _next.Clear();
            _sequences.AsSpan().Clear(); // holds no cache between calls
            _drafters.AsSpan().Clear();
        }
    }

    /// <summary>
    /// The drafters' forwards, draft position by draft position: each step one forward of every drafter's staged rows
    /// (more when they pass <see cref="ForwardBatch.MaxRows"/> rows or use different draft models), until each proposal is complete.
    /// </summary>
    private void Draft()
    {
        while (_drafting.Count > 0)
        {
            foreach (var drafter in _drafting)
            {
                if (_count > 0 && (!ReferenceEquals(drafter.DraftModel, _drafters[0]!.DraftModel) || _rows + drafter.FeedTokens.Length > MaxRows)) DraftForward();
                int n = drafter.FeedTokens.Length;
                drafter.FeedTokens.CopyTo(_tokens.AsSpan(_rows));
                drafter.FeedPositions.CopyTo(_positions.AsSpan(_rows));
                for (int k = 0; k < n; k++) _parents[_rows + k] = k - 1;
                _logitRows[_count] = _rows + n - 1;
                _sequences[_count] = new SequenceRows(drafter.DraftCache, _rows, n);
                _drafters[_count++] = drafter;
                _rows += n;
            }
            DraftForward();
            (_drafting, _next) = (_next, _drafting);
            _next.Clear();
        }
    }

    /// <summary>The draft forward of the rows added so far (one sequence alone: its own forward); each drafter goes on with its logits.</summary>
    private void DraftForward()
    {
        var model = _drafters[0]!.DraftModel;
        int vocab = model.Config.LogitCount;
        long need = (long)_count * vocab;
        if (_draftLogits.Length < need) _draftLogits = new float[need];
        if (_count == 1) model.Forward(ForwardBatch.Causal(_tokens.AsSpan(0, _rows), _positions.AsSpan(0, _rows)), _sequences[0].Cache, _draftLogits);
        else
            model.Forward(new ForwardBatch
            {
                Tokens = _tokens.AsSpan(0, _rows), Positions = _positions.AsSpan(0, _rows), Parents = _parents.AsSpan(0, _rows),
                LogitRows = _logitRows.AsSpan(0, _count),
            }, _sequences.AsSpan(0, _count), _draftLogits);
        for (int s = 0; s < _count; s++)
            if (_drafters[s]!.ContinuePropose(_draftLogits.AsSpan(s * vocab, vocab))) _next.Add(_drafters[s]!);
        _sequences.AsSpan(0, _count).Clear();
        _drafters.AsSpan(0, _count).Clear();
        _count = _rows = 0;
    }

    private void Add(int member, in ForwardBatch batch, IKvCache cache)
    {
        int n = batch.Count;
        batch.Tokens.CopyTo(_tokens.AsSpan(_rows));
        batch.Positions.CopyTo(_positions.AsSpan(_rows));
        for (int k = 0; k < n; k++) _parents[_rows + k] = batch.Parents.IsEmpty ? k - 1 : batch.Parents[k];
        int logits = batch.LogitRows.IsEmpty ? 1 : batch.LogitRows.Length;
        for (int k = 0; k < logits; k++) _logitRows[_logitCount + k] = _rows + (batch.LogitRows.IsEmpty ? n - 1 : batch.LogitRows[k]);
        _sequences[_count] = new SequenceRows(cache, _rows, n);
        _members[_count] = member;
        _memberLogits[_count] = logits;
        _count++;
        _rows += n;
        _logitCount += logits;
    }

    /// <summary>The forward of the rounds added so far, and the rest of each of those rounds.</summary>
    private void Verify(ReadOnlySpan<GenerationSession> sessions, Span<string> texts)
    {
        if (_count == 0) return;
        if (_count == 1)
        {
            // One sequence: its own forward, exactly what it runs unbatched (a lone stream pays nothing for batching).
            texts[_members[0]] = sessions[_members[0]].Loop.VerifyAlone();
            _count = _rows = _logitCount = 0;
            return;
        }
        long need = (long)_logitCount * _vocab;
        if (_logits.Length < need) _logits = new float[need];
        long verifyStart = Stopwatch.GetTimestamp();
        target.Forward(new ForwardBatch
        {
            Tokens = _tokens.AsSpan(0, _rows), Positions = _positions.AsSpan(0, _rows), Parents = _parents.AsSpan(0, _rows),
            LogitRows = _logitRows.AsSpan(0, _logitCount),
        }, _sequences.AsSpan(0, _count), _logits);
        int o = 0;
        for (int s = 0; s < _count; s++)
        {
            int m = _memberLogits[s];
            texts[_members[s]] = sessions[_members[s]].Loop.EndRound(_logits.AsSpan(o * _vocab, m * _vocab), verifyStart, shared: _count > 1);
            o += m;
        }
        _count = _rows = _logitCount = 0;
    }
}
