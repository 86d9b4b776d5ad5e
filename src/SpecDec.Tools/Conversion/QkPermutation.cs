namespace SpecDec.Tools.Conversion;

/// <summary>
/// The row order llama.cpp's converter gives llama Q and K weights (LlamaModel.permute):
/// w.reshape(n_head, 2, d/2, cols).swapaxes(1, 2).reshape(w.shape), with d = rows / n_head. It turns each
/// head's Hugging Face rotate_half layout (first half, second half) into adjacent RoPE pairs.
/// </summary>
public static class QkPermutation
{
    /// <summary>For each output row, the source row it takes: out[h·d + 2i + s] = in[h·d + s·d/2 + i].</summary>
    /// <param name="heads">Query heads for Q, key/value heads for K.</param>
    public static int[] SourceRows(int rows, int heads)
    {
        if (heads <= 0 || rows % (2 * heads) != 0)
            throw new ArgumentException($"{rows} rows do not split into {heads} heads of even width");
        int d = rows / heads, half = d / 2;
        var order = new int[rows];
        for (int h = 0; h < heads; h++)
            for (int i = 0; i < half; i++)
                for (int s = 0; s < 2; s++)
                    order[h * d + 2 * i + s] = h * d + s * half + i;
        return order;
    }
}
