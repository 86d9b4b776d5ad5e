using System.Numerics.Tensors;

namespace SpecDec.Sampling;

/// <summary>
/// The one function from logits to the distribution that is actually sampled. Plain decoding, the draft model
/// and the verifier all call <see cref="Distribution"/>, so speculative sampling compares the same
/// post-processed p and q that plain sampling would draw from — the condition for it to be lossless.
/// Owns its scratch buffers: no allocation per token; one instance per sequence (not thread-safe).
/// </summary>
public sealed class Sampler
{
    private readonly float[] _logits;   // [V] penalised, temperature-scaled logits
    private readonly int[] _candidates; // [V] token ids, partially ordered by selection
    private readonly int[] _seen;       // [V] stamp of the last penalty pass that saw each id
    private int _stamp;

    public Sampler(SamplingOptions options, int vocabSize)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(vocabSize, 1);
        options.Validate();
        Options = options;
        VocabSize = vocabSize;
        _logits = new float[vocabSize];
        _candidates = new int[vocabSize];
        _seen = new int[vocabSize];
    }

    public SamplingOptions Options { get; }
    public int VocabSize { get; }

    /// <summary>
    /// Writes into <paramref name="probs"/> [V] the distribution the next token is drawn from, given its
    /// <paramref name="logits"/> [V] and the <paramref name="context"/> before it (only the last
    /// RepetitionWindow tokens matter). Steps, as Hugging Face orders them:
    /// 1. repetition penalty (CTRL, Keskar et al. 2019, as llama.cpp's penalty_repeat): each distinct recent
    ///    token's logit l becomes l / θ if l &gt; 0, else l × θ;
    /// 2. greedy (temperature 0): a one-hot vector on the argmax, ties to the lowest id — stop here;
    /// 3. temperature: l / T;
    /// 4. top-k: keep the K largest logits (ties to the lower id);
    /// 5. top-p: keep the smallest prefix, in that order, whose softmax mass reaches P;
    /// 6. min-p: keep tokens with probability ≥ MinP × the top probability;
    /// 7. softmax over what is kept; every other entry is exactly 0.
    /// Returns the most likely token of the result (the greedy choice).
    /// </summary>
    public int Distribution(ReadOnlySpan<float> logits, ReadOnlySpan<int> context, Span<float> probs)
    {
        int v = VocabSize;
        if (logits.Length < v || probs.Length < v)
            throw new ArgumentException($"logits and probs need {v} entries (got {logits.Length} and {probs.Length})");
        probs = probs[..v];
        Span<float> work = _logits;
        logits[..v].CopyTo(work);
        ApplyRepetitionPenalty(work, context);

        int best = ArgMax(work);
        // The argmax of logits with a NaN is a NaN: one check covers NaN, +∞ and rows with no finite logit.
        if (!float.IsFinite(work[best]))
            throw new SpecDecException($"the model produced a logit of {work[best]} (token {best}): its weights or activations are not finite, so there is nothing to sample from");
        if (Options.IsGreedy)
        {
            probs.Clear();
            probs[best] = 1f;
            return best;
        }

        if (Options.Temperature != 1f) TensorPrimitives.Multiply(work, 1f / Options.Temperature, work);
        float max = work[best];

        // Unnormalised softmax weights exp(l − max) of the candidates, stored at their ids (the top one's is 1).
        int n = Options.TopK > 0 && Options.TopK < v ? Options.TopK : v;
        bool truncates = n < v || Options.TopP < 1f || Options.MinP > 0f;
        Span<int> ids = _candidates;
        double total = 0;
        if (n < v)
        {
            CandidateSelection.SelectTop(work, ids[..n]);
            probs.Clear();
            for (int i = 0; i < n; i++)
            {
                float e = MathF.Exp(work[ids[i]] - max);
                probs[ids[i]] = e;
                total += e;
            }
        }
        else
        {
            TensorPrimitives.Subtract(work, max, probs);
            TensorPrimitives.Exp(probs, probs);
            total = TensorPrimitives.Sum(probs);
            if (truncates)
            {
                // Top-p and min-p each keep a prefix of the ranking, so tokens that neither can keep are dropped
                // before the selection: min-p's own threshold, and for top-p any token below (1 − P) / V of the
                // mass (were it kept, the ≤ V tokens from it on would hold more than 1 − P, yet each holds less
                // than (1 − P) / V). The 0.999 leaves rounding on the safe side.
                float floor = Options.MinP;
                if (Options.TopP < 1f) floor = MathF.Max(floor, (float)((1 - Options.TopP) * total / v * 0.999));
                n = 0;
                for (int i = 0; i < v; i++)
                {
                    if (probs[i] >= floor) ids[n++] = i;
                    else probs[i] = 0f;
                }
            }
        }
        if (!truncates)
        {
            TensorPrimitives.Multiply(probs, (float)(1.0 / total), probs);
            return best;
        }

        int kept = n;
        if (Options.TopP < 1f)
            kept = CandidateSelection.SelectNucleus(ids[..n], work, probs, Options.TopP * total);

        if (Options.MinP > 0f)
        {
            // Probabilities relative to the top one are the unnormalised weights themselves.
            int w = 0;
            for (int i = 0; i < kept; i++)
            {
                if (probs[ids[i]] >= Options.MinP) (ids[w], ids[i]) = (ids[i], ids[w++]);
            }
            kept = w;
        }

        double keptMass = 0;
        for (int i = 0; i < kept; i++) keptMass += probs[ids[i]];
        for (int i = kept; i < n; i++) probs[ids[i]] = 0f;
        float scale = (float)(1.0 / keptMass);
        for (int i = 0; i < kept; i++) probs[ids[i]] *= scale;
        return best;
    }

    /// <summary>
    /// Draws an id with probability proportional to <paramref name="probs"/> (inverse CDF over one uniform
    /// draw). Entries that are 0 are never returned. The walk adds whole blocks with SIMD sums and scans
    /// only the block where the draw lands.
    /// </summary>
    public static int Sample(ReadOnlySpan<float> probs, Xoshiro256StarStar rng)
    {
        const int block = 256;
        double total = 0;
        for (int at = 0; at < probs.Length; at += block)
            total += TensorPrimitives.Sum(probs.Slice(at, Math.Min(block, probs.Length - at)));
        if (!(total > 0)) throw new ArgumentException("cannot sample from a distribution with no mass", nameof(probs));

        double target = rng.NextDouble() * total;
        double cumulative = 0;
        for (int at = 0; at < probs.Length; at += block)
        {
            var span = probs.Slice(at, Math.Min(block, probs.Length - at));
            double sum = TensorPrimitives.Sum(span);
            if (cumulative + sum <= target)
            {
                cumulative += sum;
                continue;
            }
            for (int i = 0; i < span.Length; i++)
            {
                if (span[i] <= 0f) continue;
                cumulative += span[i];
                if (target < cumulative) return at + i;
            }
        }
        return probs.LastIndexOfAnyExcept(0f); // rounding put the draw past the final bucket
    }

    /// <summary>First index of the largest value: ties go to the lowest id.</summary>
    public static int ArgMax(ReadOnlySpan<float> values) => TensorPrimitives.IndexOfMax(values);

    private void ApplyRepetitionPenalty(Span<float> work, ReadOnlySpan<int> context)
    {
        float penalty = Options.RepetitionPenalty;
        int window = Math.Min(Options.RepetitionWindow, context.Length);
        if (penalty == 1f || window == 0) return;
        // A fresh stamp marks ids already penalised in this pass, so repeats count once (as in llama.cpp).
        if (++_stamp == int.MaxValue)
        {
            Array.Clear(_seen);
            _stamp = 1;
        }
        foreach (int id in context[^window..])
        {
            if ((uint)id >= (uint)work.Length || _seen[id] == _stamp) continue;
            _seen[id] = _stamp;
            work[id] = work[id] > 0 ? work[id] / penalty : work[id] * penalty;
        }
    }
}
