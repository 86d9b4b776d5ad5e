using System.Text.Json;
using CsCheck;

namespace SpecDec.Tests;

/// <summary>
/// CsCheck's generators and size-based shrinking, run on one thread from a fixed seed so that every run tests
/// the same cases (CsCheck's own Sample takes its seed for the first case only and draws the rest from a
/// per-thread random generator). After the first failure the remaining cases only count when smaller than the
/// smallest failure so far, as in CsCheck; the report names that smallest case, and the CsCheck seed that
/// regenerates it: <c>gen.Sample(assert, seed: "…", iter: 1)</c>.
/// </summary>
internal static class PropertyCheck
{
    public static void ForAll<T>(Gen<T> gen, Action<T> assert, ulong seed, int cases)
    {
        var pcg = new PCG(1, seed);
        Size? smallest = null;
        T? smallestCase = default;
        Exception? smallestError = null;
        string smallestSeed = "";
        int failed = 0;
        for (int i = 0; i < cases; i++)
        {
            ulong state = pcg.State;
            T value = gen.Generate(pcg, smallest, out Size size);
            if (smallest != null && !Size.IsLessThan(size, smallest)) continue;
            try
            {
                assert(value);
            }
            catch (Exception e)
            {
                (smallest, smallestCase, smallestError, smallestSeed) = (size, value, e, pcg.ToString(state));
                failed++;
            }
        }
        if (smallestError != null)
            throw new CsCheckException($"{failed} ever smaller failing cases in {cases} (seed {seed}); the smallest, CsCheck seed \"{smallestSeed}\": {Show(smallestCase)}", smallestError);
    }

    /// <summary>Strings in JSON quoting, so that control characters and spaces in a failing case are visible.</summary>
    private static string Show<T>(T value) => value is string text ? JsonSerializer.Serialize(text) : Check.Print(value);
}
