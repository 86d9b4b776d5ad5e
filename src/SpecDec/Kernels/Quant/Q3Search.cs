namespace SpecDec.Kernels.Quant;

/// <summary>
/// ggml's make_q3_quants (with its rmse refinement) for Q3_K's groups of 16: a symmetric scale from the value
/// of largest magnitude, then up to 5 sweeps that move single quants when that raises the least-squares fit
/// (weights x²).
/// </summary>
internal static class Q3Search
{
    const int Nmax = 4;

    /// <summary>The group's scale; levels gets the quants in [−4, 3].</summary>
    public static float Scale(ReadOnlySpan<float> x, Span<sbyte> levels)
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
            // ggml leaves its stored levels (quant + 4) at 0 here, i.e. quants of −4, which decode to 0 all the same.
            levels[..n].Fill(-Nmax);
            return 0f;
        }
        float iscale = -Nmax / max;
        float sumLX = 0, sumL2 = 0;
        for (int i = 0; i < n; i++)
        {
            int l = Math.Clamp(QuantFormat.NearestInt(iscale * x[i]), -Nmax, Nmax - 1);
            levels[i] = (sbyte)l;
            float w = x[i] * x[i];
            sumLX += w * x[i] * l;
            sumL2 += w * l * l;
        }
        for (int sweep = 0; sweep < 5; sweep++)
        {
            int changed = 0;
            for (int i = 0; i < n; i++)
            {
                float w = x[i] * x[i];
                float slx = sumLX - w * x[i] * levels[i];
                if (slx <= 0) continue;
                float sl2 = sumL2 - w * levels[i] * levels[i];
                int l = Math.Clamp(QuantFormat.NearestInt(x[i] * sl2 / slx), -Nmax, Nmax - 1);
                if (l == levels[i]) continue;
                slx += w * x[i] * l;
                sl2 += w * l * l;
                if (sl2 > 0 && slx * slx * sumL2 > sumLX * sumLX * sl2)
                {
                    levels[i] = (sbyte)l;
                    sumLX = slx;
                    sumL2 = sl2;
                    changed++;
                }
            }
            if (changed == 0) break;
        }
        return sumL2 > 0 ? sumLX / sumL2 : 0f;
    }
}
