namespace SpecDec.Tests.Fuzzing;

/// <summary>Runs one fuzz case under a time limit and sorts its outcome: a result, a clear refusal, or a test failure.</summary>
internal static class FuzzCase
{
    private static readonly TimeSpan Limit = TimeSpan.FromSeconds(10);

    /// <returns>True when the input was accepted, false when refused with a <see cref="SpecDecException"/>.</returns>
    /// <exception cref="Xunit.Sdk.XunitException">Any other exception, or no outcome within the limit (a hang).</exception>
    public static bool Run(Action action, string input)
    {
        try
        {
            return Within(() =>
            {
                action();
                return true;
            }, input);
        }
        catch (Xunit.Sdk.XunitException e) when (e.InnerException is SpecDecException)
        {
            return false;
        }
    }

    /// <summary>The result of <paramref name="run"/>; any exception it throws, or a hang, fails the test naming the input.</summary>
    public static T Within<T>(Func<T> run, string input)
    {
        Task<T> task = Task.Run(run);
        try
        {
            if (!task.Wait(Limit)) Assert.Fail($"no outcome within {Limit.TotalSeconds} s for: {Show(input)}");
            return task.Result;
        }
        catch (AggregateException e)
        {
            Exception inner = e.InnerException!;
            throw new Xunit.Sdk.XunitException($"{inner.GetType().Name} for: {Show(input)}\n{inner}", inner);
        }
    }

    private static string Show(string input) => input.Length <= 2000 ? input : input[..2000] + "…";
}
