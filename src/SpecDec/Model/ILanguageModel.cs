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
}
