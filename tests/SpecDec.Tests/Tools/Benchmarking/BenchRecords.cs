using SpecDec.Tools.Benchmarking;

namespace SpecDec.Tests.Tools.Benchmarking;

/// <summary>Hand-made records for the metric and lossless tests: every number is chosen, nothing is measured.</summary>
internal static class BenchRecords
{
    public static TurnRecord Turn(int newTokens, double wallMs, long rounds = 0, long accepted = 0, long drafted = 0,
        double draftMs = 0, double verifyMs = 0, double prefillMs = 0, int[]? ids = null) => new()
    {
        PromptTokens = 10,
        NewTokens = newTokens,
        WallMs = wallMs,
        PrefillMs = prefillMs,
        DraftMs = draftMs,
        VerifyMs = verifyMs,
        Rounds = rounds == 0 ? newTokens : rounds,
        Drafted = drafted,
        Accepted = accepted,
        AcceptLengths = [],
        FinishReason = "MaxTokens",
        OutputIds = ids ?? Enumerable.Range(0, newTokens).ToArray(),
        Text = "",
    };

    public static BenchRecord Record(string item, string category, string method, params TurnRecord[] turns) =>
        Record(item, category, method, 1, turns);

    public static BenchRecord Record(string item, string category, string method, int run, params TurnRecord[] turns) =>
        new() { ItemId = item, Category = category, Method = method, Run = run, Turns = turns };
}
