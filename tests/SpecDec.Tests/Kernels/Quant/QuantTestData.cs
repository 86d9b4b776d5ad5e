namespace SpecDec.Tests.Kernels.Quant;

/// <summary>Seeded random data for the quantization tests.</summary>
internal static class QuantTestData
{
    /// <summary>n normal values with the given std (Box–Muller), reproducible from the seed.</summary>
    public static float[] Normal(int n, int seed, float std = 1f)
    {
        var rng = new Random(seed);
        var x = new float[n];
        for (int i = 0; i < n; i++)
        {
            double u1 = 1 - rng.NextDouble(), u2 = rng.NextDouble();
            x[i] = (float)(std * Math.Sqrt(-2 * Math.Log(u1)) * Math.Cos(2 * Math.PI * u2));
        }
        return x;
    }

    public static double Rmse(ReadOnlySpan<float> a, ReadOnlySpan<float> b)
    {
        double s = 0;
        for (int i = 0; i < a.Length; i++) s += (a[i] - (double)b[i]) * (a[i] - (double)b[i]);
        return Math.Sqrt(s / a.Length);
    }

    public static byte[] HalfBytes(float value)
    {
        var bytes = new byte[2];
        BitConverter.TryWriteBytes(bytes, BitConverter.HalfToUInt16Bits((Half)value));
        return bytes;
    }
}
