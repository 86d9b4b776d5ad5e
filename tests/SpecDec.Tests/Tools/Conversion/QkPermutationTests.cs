using SpecDec.Tools.Conversion;

namespace SpecDec.Tests.Tools.Conversion;

public sealed class QkPermutationTests
{
    [Theory]
    [InlineData(64, 5, 4)]  // 4 heads of 16
    [InlineData(32, 3, 2)]  // 2 kv heads of 16
    [InlineData(128, 2, 4)] // Qwen3-like head dim 32
    [InlineData(8, 1, 1)]
    public void MatchesNumpyReshapeSwapaxes(int rows, int cols, int heads)
    {
        float[] w = Enumerable.Range(0, rows * cols).Select(i => (float)i).ToArray();
        float[] expected = NumpyPermute.Permute(w, rows, cols, heads);
        int[] order = QkPermutation.SourceRows(rows, heads);
        var actual = new float[w.Length];
        for (int r = 0; r < rows; r++) Array.Copy(w, order[r] * cols, actual, r * cols, cols);
        Assert.Equal(expected, actual);
    }

    [Fact]
    public void OneHeadInterleavesItsHalves()
    {
        // Rows (a0 a1 a2 a3 | b0 b1 b2 b3) become (a0 b0 a1 b1 a2 b2 a3 b3): rotate_half pairs made adjacent.
        Assert.Equal([0, 4, 1, 5, 2, 6, 3, 7], QkPermutation.SourceRows(8, 1));
    }

    [Fact]
    public void RefusesHeadsThatDoNotSplitEvenly() =>
        Assert.Throws<ArgumentException>(() => QkPermutation.SourceRows(12, 4));
}
