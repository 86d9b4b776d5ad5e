namespace SpecDec.Kernels.Quant;

/// <summary>
/// The scale search of ggml's quantize_row_iq4_nl_impl (no importance matrix, 7 tries), shared by IQ4_NL and
/// IQ4_XS: per block of 32, weights x², a first scale from the largest value, then 15 trial scales around it,
/// keeping the least-squares refit that explains most of the block.
/// </summary>
internal static class IQ4Search
{
    /// <summary>Index of the table value nearest to x (ggml's best_index_int8).</summary>
    public static int BestIndex(float x)
    {
        ReadOnlySpan<sbyte> values = BlockIQ4_NL.Values;
        if (x <= values[0]) return 0;
        if (x >= values[15]) return 15;
        int lo = 0, hi = 15;
        while (hi - lo > 1)
        {
            int mid = (lo + hi) / 2;
            if (x < values[mid]) hi = mid;
            else lo = mid;
        }
        return x - values[hi - 1] < values[hi] - x ? hi - 1 : hi;
    }

    /// <summary>The block's scale (0 for an all-zero block); levels gets the indices of the first pick.</summary>
    public static float BlockScale(ReadOnlySpan<float> x, Span<byte> levels)
    {
        const int tries = 7;
        ReadOnlySpan<sbyte> values = BlockIQ4_NL.Values;
        float amax = 0, max = 0;
        foreach (float v in x)
        {
            if (MathF.Abs(v) > amax)
            {
                amax = MathF.Abs(v);
                max = v;
            }
        }
        if (amax < 1e-15f)
        {
            levels.Clear();
            return 0f;
        }
        float d = -max / values[0];
        float id = 1 / d;
        float sumQX = 0, sumQ2 = 0;
        for (int j = 0; j < x.Length; j++)
        {
            int l = BestIndex(id * x[j]);
            levels[j] = (byte)l;
            float q = values[l], w = x[j] * x[j];
            sumQX += w * q * x[j];
            sumQ2 += w * q * q;
        }
        d = sumQ2 > 0 ? sumQX / sumQ2 : 0f;
        float best = d * sumQX;
        for (int t = -tries; t <= tries; t++)
        {
            id = (t + values[0]) / max;
            sumQX = sumQ2 = 0;
            for (int j = 0; j < x.Length; j++)
            {
                float q = values[BestIndex(id * x[j])], w = x[j] * x[j];
                sumQX += w * q * x[j];
                sumQ2 += w * q * q;
            }
            if (sumQ2 > 0 && sumQX * sumQX > best * sumQ2)
            {
                d = sumQX / sumQ2;
                best = d * sumQX;
            }
        }
        return d;
    }

    /// <summary>32·n indices into n × 16 bytes: byte j of each 16 holds element j low and j + 16 high.</summary>
    public static void PackNibbles(ReadOnlySpan<byte> levels, Span<byte> qs)
    {
        for (int i = 0; i < levels.Length / 32; i++)
            for (int j = 0; j < 16; j++)
                qs[16 * i + j] = (byte)(levels[32 * i + j] | levels[32 * i + 16 + j] << 4);
    }
}
