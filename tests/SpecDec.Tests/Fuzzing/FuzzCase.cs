namespace SpecDec.Tests.Fuzzing;

/// <summary>Runs one fuzz case under a time limit and sorts its outcome: a result, a clear refusal, or a test failure.</summary>
internal static class FuzzCase
{
    private static readonly TimeSpan Limit = TimeSpan.FromSeconds(10);

    /// <returns>True when the input was accepted, false when refused with a <see cref="SpecDecException"/>.</returns>
    /// <exception cref="Xunit.Sdk.XunitException">Any other exception, or no outcome within the limit (a hang).</exception>
    public static bool Run(Action action, string input)
    {
        Task task = Task.Run(action);
        try
        {
            if (!task.Wait(Limit)) Assert.Fail($"no outcome within {Limit.TotalSeconds} s for: {Show(input)}");
            return true;
        }
        catch (AggregateException e) when (e.InnerException is SpecDecException)
        {
            return false;
        }
        catch (AggregateException e)
        {
            throw new Xunit.Sdk.XunitException($"{e.InnerException!.GetType().Name} for: {Show(input)}\n{e.InnerException}");
        }
    }

    private static string Show(string input) => input.Length <= 2000 ? input : input[..2000] + "…";
}
