using SpecDec.Speculation;

namespace SpecDec.Tests.Speculation;

public class RateBanditTests
{
    /// <summary>Pulls of <paramref name="rounds"/> rounds against arms delivering the given tokens per second.</summary>
    private static int[] Play(RateBandit bandit, double[] rates, int rounds)
    {
        var pulls = new int[rates.Length];
        for (int r = 0; r < rounds; r++)
        {
            pulls[bandit.Current]++;
            bandit.Observe(tokens: 2, seconds: 2 / rates[bandit.Current]);
        }
        return pulls;
    }

    [Fact]
    public void TriesEveryArmThenMostlyPullsTheFastest()
    {
        var bandit = new RateBandit(3);
        int[] pulls = Play(bandit, [100, 300, 200], 800);
        Assert.All(pulls, p => Assert.True(p >= RateBandit.PullRounds));
        Assert.True(pulls[1] > 0.6 * 800, string.Join(", ", pulls));
        Assert.Equal(300, bandit.Rate(1), 6);
        Assert.InRange(bandit.Switches, 2, 800 / RateBandit.PullRounds);
    }

    [Fact]
    public void FollowsAWorkloadThatChanges()
    {
        var bandit = new RateBandit(2);
        Play(bandit, [300, 100], 400);
        int[] later = Play(bandit, [100, 300], 800);
        Assert.True(later[1] > later[0], string.Join(", ", later));
    }
}
