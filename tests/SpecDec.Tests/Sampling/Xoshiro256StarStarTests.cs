using SpecDec.Sampling;

namespace SpecDec.Tests.Sampling;

public class Xoshiro256StarStarTests
{
    [Fact]
    public void MatchesTheReferenceImplementationFromAKnownState()
    {
        // Outputs of xoshiro256starstar.c from state {1, 2, 3, 4}.
        var rng = new Xoshiro256StarStar(1, 2, 3, 4);
        ulong[] expected = [11520, 0, 1509978240, 1215971899390074240, 1216172134540287360, 607988272756665600];
        foreach (ulong e in expected) Assert.Equal(e, rng.NextUInt64());
    }

    [Fact]
    public void SplitMix64MatchesTheReferenceImplementation()
    {
        // splitmix64.c seeded with 1234567.
        ulong x = 1234567;
        ulong[] expected = [6457827717110365317, 3203168211198807973, 9817491932198370423, 4593380528125082431, 16408922859458223821];
        foreach (ulong e in expected) Assert.Equal(e, Xoshiro256StarStar.SplitMix64(ref x));
    }

    [Fact]
    public void SeedFillsTheStateFromSplitMix64()
    {
        // State from SplitMix64(0): e220a8397b1dcdaf 6e789e6aa1b965f4 06c45d188009454f f88bb8a8724c81ec.
        var seeded = new Xoshiro256StarStar(0);
        var raw = new Xoshiro256StarStar(0xe220a8397b1dcdafUL, 0x6e789e6aa1b965f4UL, 0x06c45d188009454fUL, 0xf88bb8a8724c81ecUL);
        for (int i = 0; i < 8; i++) Assert.Equal(raw.NextUInt64(), seeded.NextUInt64());
        Assert.Equal(11091344671253066420UL, new Xoshiro256StarStar(0).NextUInt64());
    }

    [Fact]
    public void NextDoubleIsInTheUnitIntervalWithTheRightMean()
    {
        var rng = new Xoshiro256StarStar(42);
        double sum = 0;
        const int n = 200_000;
        for (int i = 0; i < n; i++)
        {
            double u = rng.NextDouble();
            Assert.InRange(u, 0.0, Math.BitDecrement(1.0));
            sum += u;
        }
        // Standard error of the mean is sqrt(1/12/n) ≈ 0.00065; 5 sigma.
        Assert.InRange(sum / n, 0.5 - 0.0033, 0.5 + 0.0033);
    }
}
