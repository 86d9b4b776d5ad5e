namespace SpecDec.Kernels.Quant;

/// <summary>
/// The scale searches behind the K-quant reference quantizers (ggml-quants.c's make_qkx2_quants and
/// make_qx_quants): rather than taking the range's endpoints, they try a few scales around them and keep
/// the one with the least weighted squared error, refitting scale (and min) by least squares.
/// </summary>
internal static class KQuantSearch
{
    /// <summary>
    /// Fits x ≈ scale · L − min with L in [0, nmax] and min ≥ 0 (returned in <paramref name="min"/>), trying
    /// nstep + 1 inverse scales (rmin + rdelta·i + nmax) / (max − min); returns scale. The error weighed is
    /// squared, or absolute with <paramref name="absoluteError"/> (Q2_K's use_mad).
    /// </summary>
    public static float AffineScale(ReadOnlySpan<float> x, ReadOnlySpan<float> weights, int nmax, Span<byte> levels,
        Span<byte> trial, out float min, float rmin, float rdelta, int nstep, bool absoluteError = false)
    {
        int n = x.Length;
        float lo = x[0], hi = x[0];
        float sumW = weights[0], sumX = weights[0] * x[0];
        for (int i = 1; i < n; i++)
        {
            lo = MathF.Min(lo, x[i]);
            hi = MathF.Max(hi, x[i]);
            sumW += weights[i];
            sumX += weights[i] * x[i];
        }
        if (lo > 0) lo = 0;
        if (hi == lo)
        {
            levels[..n].Clear();
            min = -lo;
            return 0f;
        }
        float iscale = nmax / (hi - lo);
        float scale = 1 / iscale;
        float bestError = 0;
        for (int i = 0; i < n; i++)
        {
            int l = Math.Clamp(QuantFormat.NearestInt(iscale * (x[i] - lo)), 0, nmax);
            levels[i] = (byte)l;
            float diff = scale * l + lo - x[i];
            bestError += weights[i] * (absoluteError ? MathF.Abs(diff) : diff * diff);
        }
        for (int step = 0; step <= nstep; step++)
        {
            iscale = (rmin + rdelta * step + nmax) / (hi - lo);
            float sumL = 0, sumL2 = 0, sumXL = 0;
            for (int i = 0; i < n; i++)
            {
                int l = Math.Clamp(QuantFormat.NearestInt(iscale * (x[i] - lo)), 0, nmax);
                trial[i] = (byte)l;
                float w = weights[i];
                sumL += w * l;
                sumL2 += w * l * l;
                sumXL += w * l * x[i];
            }
            // Weighted least squares for x ≈ s·L + m over these levels.
            float det = sumW * sumL2 - sumL * sumL;
            if (det <= 0) continue;
            float s = (sumW * sumXL - sumX * sumL) / det;
            float m = (sumL2 * sumX - sumL * sumXL) / det;
            if (m > 0)
            {
                m = 0;
                s = sumXL / sumL2;
            }
            float error = 0;
            for (int i = 0; i < n; i++)
            {
                float diff = s * trial[i] + m - x[i];
                error += weights[i] * (absoluteError ? MathF.Abs(diff) : diff * diff);
            }
            if (error < bestError)
            {
                trial[..n].CopyTo(levels);
                bestError = error;
                scale = s;
                lo = m;
            }
        }
        min = -lo;
        return scale;
    }

    /// <summary>
    /// Fits x ≈ scale · (L − nmax) with L in [0, 2·nmax − 1], weighting each value by x², trying 19 scales
    /// around −nmax / (the value of largest magnitude); returns scale (0 for an all-zero group).
    /// </summary>
    public static float SymmetricScale(ReadOnlySpan<float> x, int nmax, Span<byte> levels)
    {
        int n = x.Length;
        float amax = 0, max = 0;
        for (int i = 0; i < n; i++)
        {
            if (MathF.Abs(x[i]) > amax)
            {
                amax = MathF.Abs(x[i]);
                max = x[i];
            }
        }
        if (amax < 1e-15f)
        {
            levels[..n].Clear();
            return 0f;
        }
        float iscale = -nmax / max;
        float sumLX = 0, sumL2 = 0;
        for (int i = 0; i < n; i++)
        {
            int l = Math.Clamp(QuantFormat.NearestInt(iscale * x[i]), -nmax, nmax - 1);
            levels[i] = (byte)(l + nmax);
            float w = x[i] * x[i];
            sumLX += w * x[i] * l;
            sumL2 += w * l * l;
        }
        float scale = sumL2 != 0 ? sumLX / sumL2 : 0f;
        float best = scale * sumLX;
        for (int step = -9; step <= 9; step++)
        {
            if (step == 0) continue;
            iscale = -(nmax + 0.1f * step) / max;
            sumLX = sumL2 = 0;
            for (int i = 0; i < n; i++)
            {
                int l = Math.Clamp(QuantFormat.NearestInt(iscale * x[i]), -nmax, nmax - 1);
                float w = x[i] * x[i];
                sumLX += w * x[i] * l;
                sumL2 += w * l * l;
            }
            // sumLX²/sumL2 is the error reduction of the least-squares scale: larger is better.
            if (sumL2 > 0 && sumLX * sumLX > best * sumL2)
            {
                for (int i = 0; i < n; i++)
                    levels[i] = (byte)(nmax + Math.Clamp(QuantFormat.NearestInt(iscale * x[i]), -nmax, nmax - 1));
                scale = sumLX / sumL2;
                best = scale * sumLX;
            }
        }
        return scale;
    }
}
