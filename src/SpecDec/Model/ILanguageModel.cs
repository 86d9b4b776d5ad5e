using SpecDec.Tokenization;

namespace SpecDec.Model;

/// <summary>
/// The call every decoder and verifier makes. One forward over n new tokens loads each weight once and
/// applies it to all n rows, so verifying k draft tokens costs far less than k single-token forwards.
/// </summary>
public interface ILanguageModel : IDisposable
{
    ModelConfig Config { get; }
    ITokenizer Tokenizer { get; }

    /// <summary>A fresh, empty cache for one sequence of at most capacity tokens.</summary>
    IKvCache CreateCache(int capacity);

    /// <summary>
    /// Bytes a cache from <see cref="CreateCache"/> holds once it has grown to <paramref name="positions"/>
    /// positions: what a request of that many tokens needs besides the weights, checked before it starts.
    /// </summary>
    long CacheBytes(long positions);

    /// <summary>
    /// Runs the new tokens, appends their keys/values to <paramref name="cache"/> (which must come from
    /// this model) and writes logits [LogitRows.Length (or 1) × Config.LogitCount] into
    /// <paramref name="logits"/>.
    /// </summary>
    void Forward(in ForwardBatch batch, IKvCache cache, Span<float> logits);

    /// <summary>
    /// One forward over several sequences' rows (continuous batching): <paramref name="sequences"/> split the batch's
    /// rows, in order, into runs of one sequence each, with its own cache; every weight is loaded once for all rows,
    /// and each row gets exactly the bits the same rows would get in a forward of their sequence alone. Tokens and
    /// positions only (no embeddings, mask, hidden states or layer range); <see cref="ForwardBatch.Parents"/>, when
    /// given, index rows of the same sequence counted from its first row. <see cref="ForwardBatch.LogitRows"/> are
    /// batch rows, every sequence's together and in sequence order, at least one per sequence; the logits come in
    /// that order. At most <see cref="ForwardBatch.MaxRows"/> rows in all. This default runs the sequences one
    /// after another; a backend that can batch them overrides it.
    /// </summary>
    void Forward(in ForwardBatch batch, ReadOnlySpan<SequenceRows> sequences, Span<float> logits)
    {
        BatchRules.ValidateSequences(batch, sequences, Config, logits.Length);
        int vocab = Config.LogitCount;
        Span<int> rows = stackalloc int[ForwardBatch.MaxRows];
        int o = 0;
        foreach (var s in sequences)
        {
            int m = 0;
            for (; o + m < batch.LogitRows.Length && batch.LogitRows[o + m] < s.Start + s.Count; m++) rows[m] = batch.LogitRows[o + m] - s.Start;
            Forward(new ForwardBatch
            {
                Tokens = batch.Tokens.Slice(s.Start, s.Count), Positions = batch.Positions.Slice(s.Start, s.Count),
                Parents = batch.Parents.IsEmpty ? default : batch.Parents.Slice(s.Start, s.Count), LogitRows = rows[..m],
            }, s.Cache, logits.Slice(o * vocab, m * vocab));
            o += m;
        }
    }
}
