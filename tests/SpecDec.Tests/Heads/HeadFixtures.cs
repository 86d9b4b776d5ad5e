using System.Text.Json;
using SpecDec.Backends.Cpu;
using SpecDec.Model;
using SpecDec.Model.Heads;
using SpecDec.Tests.Tools.Benchmarking;

namespace SpecDec.Tests.Heads;

/// <summary>
/// The heads training/train_heads.py saved for the fixture model demo-draft-tiny in the reference layouts
/// (tests/fixtures/heads: EAGLE folder, Medusa folder) and its PyTorch fp32 outputs (reference.json).
/// </summary>
internal static class HeadFixtures
{
    public static string Path(string relative) => System.IO.Path.Combine(RepoPaths.Root, relative);
    public static string Target => Path("tests/fixtures/models/demo-draft-tiny");
    public static string Eagle => Path("tests/fixtures/heads/eagle");
    public static string Medusa => Path("tests/fixtures/heads/medusa");

    public static Transformer LoadTarget() => Transformer.Load(ModelSource.Open(Target), threads: 1);

    public static Transformer LoadEagle(Transformer target, string? path = null) => Transformer.LoadEagleHead(HeadFile.Open(path ?? Eagle), target);

    public static MedusaHeads LoadMedusa(Transformer target, string? path = null)
    {
        var file = HeadFile.Open(path ?? Medusa);
        try
        {
            return new MedusaHeads(file, target);
        }
        catch
        {
            file.Dispose();
            throw;
        }
    }

    public sealed record Reference(int[] InputIds, int BaseNextToken, float[][] Features, float[][] EagleFeatures, int[] EagleArgmax,
        int[] EagleChain, int[][] MedusaArgmax);

    public static Reference LoadReference()
    {
        using var doc = JsonDocument.Parse(File.ReadAllText(Path("tests/fixtures/heads/reference.json")));
        JsonElement r = doc.RootElement;
        int[] Ints(JsonElement e) => e.EnumerateArray().Select(x => x.GetInt32()).ToArray();
        float[][] Rows(JsonElement e) => e.EnumerateArray().Select(row => row.EnumerateArray().Select(x => x.GetSingle()).ToArray()).ToArray();
        return new Reference(Ints(r.GetProperty("input_ids")), r.GetProperty("base_next_token").GetInt32(), Rows(r.GetProperty("features")),
            Rows(r.GetProperty("eagle_features")), Ints(r.GetProperty("eagle_argmax")), Ints(r.GetProperty("eagle_chain_after_next_token")),
            r.GetProperty("medusa_argmax").EnumerateArray().Select(Ints).ToArray());
    }

    public static int Argmax(ReadOnlySpan<float> x)
    {
        int best = 0;
        for (int i = 1; i < x.Length; i++) if (x[i] > x[best]) best = i;
        return best;
    }

    /// <summary>Largest |a − b| over the largest |b|: the error relative to the reference's scale.</summary>
    public static double RelativeError(ReadOnlySpan<float> a, ReadOnlySpan<float> b)
    {
        double err = 0, scale = 0;
        for (int i = 0; i < b.Length; i++)
        {
            err = Math.Max(err, Math.Abs(a[i] - b[i]));
            scale = Math.Max(scale, Math.Abs(b[i]));
        }
        return err / scale;
    }
}
