using SpecDec.Generation;

namespace SpecDec.Tools.Benchmarking;

/// <summary>
/// Spec-Bench's metrics over raw records (hemingkx/Spec-Bench evaluation/speed.py):
/// <list type="bullet">
/// <item>an item's speed is its new tokens ÷ its wall time, both summed over its turns;</item>
/// <item>a method's speed on a category is the mean of its items' speeds (overall: of every item's);</item>
/// <item>speedup = method speed ÷ baseline speed, per run on the same items, then averaged over runs
/// (with the sample standard deviation across runs);</item>
/// <item>decode speedup: the same with each item's prefill time taken out (not in Spec-Bench, whose GPU
/// prefill is cheap; on a CPU a long prompt's prefill can take half of a short answer's time);</item>
/// <item>τ = every round's produced tokens (accepted + 1) pooled: Σ(accepted + rounds) ÷ Σ rounds;</item>
/// <item>α = Σ accepted ÷ Σ drafted; time shares = Σ phase time ÷ Σ wall time.</item>
/// </list>
/// </summary>
public static class BenchMetrics
{
    /// <summary>The category name of the row over every item.</summary>
    public const string Overall = "overall";

    /// <summary>
    /// Metrics of every method on every category that has records, then <see cref="Overall"/>, in the given
    /// orders. Records of an item with no turn (it did not fit the context) are left out.
    /// </summary>
    public static IReadOnlyList<MethodMetrics> Compute(IReadOnlyList<BenchRecord> records, IReadOnlyList<string> methods,
        IReadOnlyList<string> categories, string baseline = BenchMethods.Baseline)
    {
        var ran = records.Where(r => r.Turns.Count > 0).ToArray();
        var result = new List<MethodMetrics>();
        foreach (string method in methods)
        {
            foreach (string category in categories.Append(Overall))
            {
                var mine = Select(ran, method, category);
                if (mine.Length == 0) continue;
                result.Add(Aggregate(method, category, mine, Select(ran, baseline, category)));
            }
        }
        return result;
    }

    private static BenchRecord[] Select(BenchRecord[] records, string method, string category) =>
        records.Where(r => r.Method == method && (category == Overall || r.Category == category)).ToArray();

    private static MethodMetrics Aggregate(string method, string category, BenchRecord[] mine, BenchRecord[] baseline)
    {
        var runs = mine.Select(r => r.Run).Distinct().Order().ToArray();
        var speeds = new double[runs.Length];
        var speedups = new double[runs.Length];
        var decodeSpeedups = new double[runs.Length];
        for (int i = 0; i < runs.Length; i++)
        {
            var inRun = mine.Where(r => r.Run == runs[i]).ToArray();
            var ids = inRun.Select(r => r.ItemId).ToHashSet(StringComparer.Ordinal);
            var baseInRun = baseline.Where(r => r.Run == runs[i] && ids.Contains(r.ItemId)).ToArray();
            if (baseInRun.Length != inRun.Length)
                throw new InvalidOperationException($"run {runs[i]} of '{category}' has {inRun.Length} records of {method} but {baseInRun.Length} of the baseline on the same items");
            speeds[i] = inRun.Average(r => r.TokensPerSecond);
            double baseSpeed = baseInRun.Average(r => r.TokensPerSecond);
            speedups[i] = baseSpeed > 0 ? speeds[i] / baseSpeed : 0;
            double baseDecode = baseInRun.Average(r => r.DecodeTokensPerSecond);
            decodeSpeedups[i] = baseDecode > 0 ? inRun.Average(r => r.DecodeTokensPerSecond) / baseDecode : 0;
        }

        var turns = mine.SelectMany(r => r.Turns).ToArray();
        long rounds = turns.Sum(t => t.Rounds);
        long drafted = turns.Sum(t => t.Drafted);
        long accepted = turns.Sum(t => t.Accepted);
        double wall = turns.Sum(t => t.WallMs), draftMs = turns.Sum(t => t.DraftMs), verifyMs = turns.Sum(t => t.VerifyMs);
        return new MethodMetrics
        {
            Method = method,
            Category = category,
            Items = mine.Select(r => r.ItemId).Distinct().Count(),
            Runs = runs.Length,
            TokensPerSecond = speeds.Average(),
            TokensPerSecondStd = SampleStd(speeds),
            Speedup = speedups.Average(),
            SpeedupStd = SampleStd(speedups),
            DecodeSpeedup = decodeSpeedups.Average(),
            Tau = rounds == 0 ? 0 : (double)(accepted + rounds) / rounds,
            Alpha = drafted == 0 ? null : (double)accepted / drafted,
            DraftShare = Share(draftMs, wall),
            VerifyShare = Share(verifyMs, wall),
            PrefillShare = Share(turns.Sum(t => t.PrefillMs), wall),
            NewTokens = turns.Sum(t => (long)t.NewTokens),
            WallMs = wall,
            DraftMs = draftMs,
            VerifyMs = verifyMs,
            Rounds = rounds,
            Drafted = drafted,
            Accepted = accepted,
            Methods = SumMethods(turns),
        };
    }

    /// <summary>Each choice's rounds, tokens and time over <paramref name="turns"/>; null when none chose.</summary>
    private static Dictionary<string, MethodUse>? SumMethods(TurnRecord[] turns)
    {
        Dictionary<string, MethodUse>? sum = null;
        foreach (var (method, use) in turns.Where(t => t.Methods is not null).SelectMany(t => t.Methods!))
        {
            sum ??= new(StringComparer.Ordinal);
            var s = sum.GetValueOrDefault(method);
            sum[method] = new MethodUse { Rounds = s.Rounds + use.Rounds, Tokens = s.Tokens + use.Tokens, Ms = s.Ms + use.Ms };
        }
        return sum;
    }

    private static double Share(double part, double whole) => whole > 0 ? part / whole : 0;

    /// <summary>Standard deviation with n − 1 in the denominator (numpy's ddof=1); null below two values.</summary>
    private static double? SampleStd(double[] values)
    {
        if (values.Length < 2) return null;
        double mean = values.Average();
        return Math.Sqrt(values.Sum(v => (v - mean) * (v - mean)) / (values.Length - 1));
    }
}
