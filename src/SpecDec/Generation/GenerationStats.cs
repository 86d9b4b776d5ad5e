using System.Globalization;
using System.Text;
using SpecDec.Speculation;

namespace SpecDec.Generation;

/// <summary>
/// What one request (or several, summed with <see cref="Sum"/>) cost and how well speculation worked.
/// Vocabulary: each round the target verifies the drafted tokens in one forward; the accepted ones stand and
/// one more token follows — a correction where a draft token was rejected, or a bonus after a full accept.
/// Plain decoding is rounds with nothing drafted, so each of its tokens is a bonus and τ = 1.
/// </summary>
public sealed class GenerationStats
{
    private long[] _draftedAt = [];
    private long[] _acceptedAt = [];
    private Dictionary<string, MethodUse> _methods = [];
    private string? _lastMethod;
    private string? _roundMethod; // the method of the round in progress, until its time is recorded

    public int PromptTokens { get; internal set; }

    /// <summary>Tokens in the output (a stop token is not counted).</summary>
    public int GeneratedTokens { get; internal set; }

    /// <summary>Target forwards after the prefill: one per round (the first token comes from the prefill, in none).</summary>
    public long Rounds { get; private set; }
    public long Drafted { get; private set; }
    public long Accepted { get; private set; }
    public long CorrectionTokens { get; private set; }
    public long BonusTokens { get; private set; }

    /// <summary>
    /// Prompt processing: the target's prefill of every prompt token (its last row gives the first token), then the
    /// proposer's reading of the prompt (a draft model's own prefill), which runs after the first token, before the
    /// first round.
    /// </summary>
    public double PrefillMs { get; internal set; }

    /// <summary>Time to the first token: the target's prefill, whose last row gives it (the proposer reads the prompt after it).</summary>
    public double FirstTokenMs { get; internal set; }

    /// <summary>Time in the rounds, which produce every token after the first.</summary>
    public double DecodeMs { get; internal set; }

    /// <summary>Time spent in the proposer while drafting (its prefill is in <see cref="PrefillMs"/>).</summary>
    public double DraftMs { get; internal set; }

    /// <summary>Time spent in the target's verification forwards and the verifier.</summary>
    public double VerifyMs { get; internal set; }

    /// <summary>
    /// True when typical acceptance decided which sampled draft tokens stood (<c>--typical-acceptance</c> at a
    /// temperature above 0): the output then does not follow the target's distribution.
    /// </summary>
    public bool Lossy { get; internal set; }

    /// <summary>The tree size the proposer chose for this machine (EAGLE, Medusa), or null.</summary>
    public TreeShape? TreeSize { get; internal set; }

    /// <summary>Rounds that drafted at each draft position (0 = first after the committed text; for a chain, its tokens there).</summary>
    public IReadOnlyList<long> DraftedAtPosition => _draftedAt;

    /// <summary>Rounds, tokens and time of each method, for a proposer that chooses (auto, layer skipping's exit); empty otherwise.</summary>
    public IReadOnlyDictionary<string, MethodUse> Methods => _methods;

    /// <summary>Times the chosen method changed from one round to the next.</summary>
    public long MethodSwitches { get; private set; }

    /// <summary>Draft tokens accepted at each draft position.</summary>
    public IReadOnlyList<long> AcceptedAtPosition => _acceptedAt;

    /// <summary>α: the fraction of draft tokens accepted (of a tree's nodes, at most one path can stand).</summary>
    public double Alpha => Drafted == 0 ? 0 : (double)Accepted / Drafted;

    /// <summary>τ: tokens produced per target forward (accepted + correction + bonus, per round).</summary>
    public double Tau => Rounds == 0 ? 0 : (double)(Accepted + CorrectionTokens + BonusTokens) / Rounds;

    public double PrefillTokensPerSecond => PrefillMs <= 0 ? 0 : PromptTokens / (PrefillMs / 1000);

    /// <summary>The tokens the rounds produced (all but the first, which the prefill gave) over their time.</summary>
    public double DecodeTokensPerSecond => DecodeMs <= 0 ? 0 : Math.Max(0, GeneratedTokens - 1) / (DecodeMs / 1000);

    /// <summary>Acceptance rate at a draft position: accepted there / drafted there.</summary>
    public double AcceptanceAt(int position) =>
        position < _draftedAt.Length && _draftedAt[position] > 0 ? (double)_acceptedAt[position] / _draftedAt[position] : 0;

    /// <summary>Sizes the per-position counters; no allocation afterwards.</summary>
    internal void Begin(int maxDraft)
    {
        _draftedAt = new long[maxDraft];
        _acceptedAt = new long[maxDraft];
    }

    /// <summary>A round that drafted <paramref name="drafted"/> nodes, <paramref name="depth"/> deep (a chain: as deep as long).</summary>
    internal void RecordRound(int drafted, int depth, Verdict verdict)
    {
        Rounds++;
        Drafted += drafted;
        Accepted += verdict.Accepted;
        if (verdict.IsBonus) BonusTokens++;
        else CorrectionTokens++;
        for (int i = 0; i < depth; i++) _draftedAt[i]++;
        for (int i = 0; i < verdict.Accepted; i++) _acceptedAt[i]++;
        if (_roundMethod is not null) Use(_roundMethod).Tokens += verdict.Accepted + 1;
    }

    /// <summary>A round drafted by <paramref name="method"/>.</summary>
    internal void RecordMethod(string method)
    {
        if (_lastMethod is not null && _lastMethod != method) MethodSwitches++;
        _lastMethod = _roundMethod = method;
        Use(method).Rounds++;
    }

    /// <summary>The round in progress ended <paramref name="ms"/> after it began (drafting, verification, the proposer's bookkeeping).</summary>
    internal void RecordMethodTime(double ms)
    {
        if (_roundMethod is not null) Use(_roundMethod).Ms += ms;
        _roundMethod = null;
    }

    private ref MethodUse Use(string method) => ref System.Runtime.InteropServices.CollectionsMarshal.GetValueRefOrAddDefault(_methods, method, out _);

    /// <summary>"pld 12 rounds τ 2.50 0.41 ms/tok, rest 3 rounds τ 1.33 0.80 ms/tok; 2 switches", or empty.</summary>
    public string MethodSummary() => _methods.Count == 0 ? "" :
        string.Join(", ", _methods.OrderByDescending(m => m.Value.Rounds).Select(m => string.Create(CultureInfo.InvariantCulture,
            $"{m.Key} {m.Value.Rounds} rounds τ {m.Value.Tau:F2} {m.Value.MsPerToken:F2} ms/tok"))) + $"; {MethodSwitches} switches";

    /// <summary>Totals over several requests (rates are recomputed from the sums).</summary>
    public static GenerationStats Sum(IEnumerable<GenerationStats> requests)
    {
        var total = new GenerationStats();
        foreach (var s in requests)
        {
            total.PromptTokens += s.PromptTokens;
            total.GeneratedTokens += s.GeneratedTokens;
            total.Rounds += s.Rounds;
            total.Drafted += s.Drafted;
            total.Accepted += s.Accepted;
            total.CorrectionTokens += s.CorrectionTokens;
            total.BonusTokens += s.BonusTokens;
            total.PrefillMs += s.PrefillMs;
            total.DecodeMs += s.DecodeMs;
            total.DraftMs += s.DraftMs;
            total.VerifyMs += s.VerifyMs;
            total.TreeSize = s.TreeSize ?? total.TreeSize;
            total.Lossy |= s.Lossy;
            total._draftedAt = Add(total._draftedAt, s._draftedAt);
            total._acceptedAt = Add(total._acceptedAt, s._acceptedAt);
            foreach (var (method, use) in s._methods)
            {
                ref var sum = ref total.Use(method);
                sum = new MethodUse { Rounds = sum.Rounds + use.Rounds, Tokens = sum.Tokens + use.Tokens, Ms = sum.Ms + use.Ms };
            }
            total.MethodSwitches += s.MethodSwitches;
        }
        return total;
    }

    private static long[] Add(long[] a, long[] b)
    {
        var sum = new long[Math.Max(a.Length, b.Length)];
        for (int i = 0; i < a.Length; i++) sum[i] += a[i];
        for (int i = 0; i < b.Length; i++) sum[i] += b[i];
        return sum;
    }

    /// <summary>One line: token counts and speeds, plus α, τ and drafted/accepted when anything was drafted.</summary>
    public override string ToString()
    {
        var line = string.Create(CultureInfo.InvariantCulture,
            $"prompt {PromptTokens} tok, generated {GeneratedTokens} tok, prefill {PrefillTokensPerSecond:F1} tok/s, decode {DecodeTokensPerSecond:F1} tok/s");
        if (_methods.Count > 0) line += ", methods " + MethodSummary();
        if (Drafted == 0) return line;
        return line + string.Create(CultureInfo.InvariantCulture,
            $", α {Alpha:F3}, τ {Tau:F2}, drafted {Drafted}, accepted {Accepted}") + (Lossy ? ", LOSSY: typical acceptance" : "");
    }

    /// <summary>Every counter, timing and the acceptance at each draft position, one per line.</summary>
    public string ToTable()
    {
        var c = CultureInfo.InvariantCulture;
        var sb = new StringBuilder();
        void Row(string name, FormattableString value) => sb.Append(c, $"{name,-22}").AppendLine(value.ToString(c));
        Row("prompt tokens", $"{PromptTokens}");
        Row("generated tokens", $"{GeneratedTokens}");
        Row("prefill", $"{PrefillMs:F1} ms, {PrefillTokensPerSecond:F1} tok/s");
        Row("first token", $"{FirstTokenMs:F1} ms (the target's prefill; the proposer reads the prompt after it)");
        Row("decode", $"{DecodeMs:F1} ms, {DecodeTokensPerSecond:F1} tok/s");
        Row("rounds", $"{Rounds}");
        Row("drafted", $"{Drafted}");
        Row("accepted", $"{Accepted}");
        Row("correction tokens", $"{CorrectionTokens}");
        Row("bonus tokens", $"{BonusTokens}");
        Row("α (accepted/drafted)", $"{Alpha:F3}");
        Row("τ (tokens/forward)", $"{Tau:F3}");
        Row("verification", $"{(Lossy ? "typical acceptance (LOSSY: not the target's distribution)" : "lossless")}");
        Row("draft", $"{DraftMs:F1} ms");
        Row("verify", $"{VerifyMs:F1} ms");
        if (TreeSize is TreeShape tree) Row("tree size", $"{tree}");
        if (_methods.Count > 0) Row("methods", $"{MethodSummary()}");
        for (int i = 0; i < _draftedAt.Length && _draftedAt[i] > 0; i++)
            Row($"acceptance at {i + 1}", $"{AcceptanceAt(i):F3} ({_acceptedAt[i]}/{_draftedAt[i]})");
        return sb.ToString();
    }
}
