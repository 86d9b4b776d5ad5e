using SpecDec.Tools.Benchmarking;
using static SpecDec.Tests.Tools.Benchmarking.BenchRecords;

namespace SpecDec.Tests.Tools.Benchmarking;

public class LosslessCheckerTests
{
    private static readonly int[] Ids = [5, 9, 2, 7, 7, 1, 3];

    private static List<BenchRecord> Equal() =>
    [
        Record("a", "x", "ar", Turn(7, 10, ids: Ids)),
        Record("a", "x", "draft", Turn(7, 5, ids: Ids)),
        Record("a", "x", "pld", Turn(7, 5, ids: Ids)),
        Record("b", "y", "ar", Turn(3, 10, ids: [1, 2, 3]), Turn(2, 10, ids: [4, 5])),
        Record("b", "y", "draft", Turn(3, 5, ids: [1, 2, 3]), Turn(2, 10, ids: [4, 5])),
        Record("b", "y", "pld", Turn(3, 5, ids: [1, 2, 3]), Turn(2, 10, ids: [4, 5])),
    ];

    [Fact]
    public void EqualOutputsPass()
    {
        var verdict = LosslessChecker.Check(Equal());
        Assert.True(verdict.Checked);
        Assert.True(verdict.Passed);
        Assert.Empty(verdict.Mismatches);
        Assert.Contains("4 outputs", verdict.Note);
    }

    [Fact]
    public void APlantedMismatchIsReportedWithItsItemMethodAndIndex()
    {
        var records = Equal();
        records[2] = Record("a", "x", "pld", Turn(7, 5, ids: [5, 9, 2, 7, 8, 1, 3]));
        var verdict = LosslessChecker.Check(records);
        Assert.False(verdict.Passed);
        var m = Assert.Single(verdict.Mismatches);
        Assert.Equal(("a", "x", "pld", 1, 1, 4, 7, 8), (m.ItemId, m.Category, m.Method, m.Run, m.Turn, m.TokenIndex, m.BaselineToken, m.MethodToken));
        Assert.Contains("a (x), method pld, run 1, turn 1: first difference at token 4: baseline 7, pld 8", m.ToString());
    }

    [Fact]
    public void AMismatchInALaterTurnNamesThatTurn()
    {
        var records = Equal();
        records[4] = Record("b", "y", "draft", Turn(3, 5, ids: [1, 2, 3]), Turn(2, 10, ids: [6, 5]));
        var m = Assert.Single(LosslessChecker.Check(records).Mismatches);
        Assert.Equal(("b", "draft", 2, 0, 4, 6), (m.ItemId, m.Method, m.Turn, m.TokenIndex, m.BaselineToken, m.MethodToken));
    }

    [Fact]
    public void AnOutputThatEndsEarlyOrRunsOnIsAMismatch()
    {
        var records = Equal();
        records[1] = Record("a", "x", "draft", Turn(5, 5, ids: [5, 9, 2, 7, 7]));
        records[5] = Record("b", "y", "pld", Turn(4, 5, ids: [1, 2, 3, 9]), Turn(2, 10, ids: [4, 5]));
        var mismatches = LosslessChecker.Check(records).Mismatches;
        Assert.Equal(2, mismatches.Count);
        Assert.Equal(("a", 5, (int?)1, (int?)null), (mismatches[0].ItemId, mismatches[0].TokenIndex, mismatches[0].BaselineToken, mismatches[0].MethodToken));
        Assert.Equal(("b", 3, (int?)null, (int?)9), (mismatches[1].ItemId, mismatches[1].TokenIndex, mismatches[1].BaselineToken, mismatches[1].MethodToken));
        Assert.Contains("baseline (ended), pld 9", mismatches[1].ToString());
    }

    [Fact]
    public void TheBaselinesLaterRunsMustRepeatItsFirst()
    {
        var records = Equal();
        records.Add(Record("a", "x", "ar", 2, Turn(7, 10, ids: [5, 9, 2, 7, 7, 1, 4])));
        var m = Assert.Single(LosslessChecker.Check(records).Mismatches);
        Assert.Equal(("ar", 2, 6), (m.Method, m.Run, m.TokenIndex));
    }

    [Fact]
    public void WithoutABaselineNothingIsChecked()
    {
        var verdict = LosslessChecker.Check(Equal().Where(r => r.Method != "ar").ToList());
        Assert.False(verdict.Checked);
        Assert.False(verdict.Passed);
    }
}
