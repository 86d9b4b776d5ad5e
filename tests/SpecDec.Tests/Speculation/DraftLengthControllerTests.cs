using SpecDec.Speculation;

namespace SpecDec.Tests.Speculation;

public class DraftLengthControllerTests
{
    [Fact]
    public void GrowsByTwoOnAFullAcceptAndShrinksByOneOnARejection()
    {
        var length = new DraftLengthController(2, 8);
        Assert.Equal(8, length.Current);
        length.Observe(8, 3);
        Assert.Equal(7, length.Current);
        length.Observe(7, 6);
        Assert.Equal(6, length.Current);
        length.Observe(6, 6);
        Assert.Equal(8, length.Current);
        length.Observe(8, 8);
        Assert.Equal(8, length.Current); // capped at max
        for (int i = 0; i < 10; i++) length.Observe(length.Current, 0);
        Assert.Equal(2, length.Current); // floored at min
    }

    [Fact]
    public void RoundsWithoutDraftsTeachNothing()
    {
        var length = new DraftLengthController(1, 5);
        length.Observe(5, 1);
        length.Observe(0, 0);
        Assert.Equal(4, length.Current);
    }

    [Fact]
    public void EqualBoundsFixTheLength()
    {
        var length = new DraftLengthController(4, 4);
        length.Observe(4, 0);
        length.Observe(4, 4);
        Assert.Equal(4, length.Current);
    }
}
