namespace SpecDec.Tests.Tools.Conversion;

/// <summary>
/// llama.cpp's LlamaModel.permute done the way numpy does it: a C-order array gets a 4-D shape with
/// strides, axes 1 and 2 swap their strides, and the view is copied out in C order. Generic stride code,
/// so it checks the converter's closed-form row mapping instead of repeating it.
/// </summary>
internal static class NumpyPermute
{
    /// <summary>w.reshape(n_head, 2, rows // n_head // 2, cols).swapaxes(1, 2).reshape(rows, cols).</summary>
    public static float[] Permute(float[] w, int rows, int cols, int nHead)
    {
        long[] shape = [nHead, 2, rows / nHead / 2, cols];
        long[] strides = CStrides(shape);
        (shape[1], shape[2]) = (shape[2], shape[1]);
        (strides[1], strides[2]) = (strides[2], strides[1]);
        var result = new float[w.Length];
        var index = new long[4];
        for (int n = 0; n < result.Length; n++)
        {
            long offset = 0;
            for (int a = 0; a < 4; a++) offset += index[a] * strides[a];
            result[n] = w[offset];
            for (int a = 3; a >= 0; a--) // C-order increment of the view's index
            {
                if (++index[a] < shape[a]) break;
                index[a] = 0;
            }
        }
        return result;
    }

    private static long[] CStrides(long[] shape)
    {
        var strides = new long[shape.Length];
        long s = 1;
        for (int a = shape.Length - 1; a >= 0; a--)
        {
            strides[a] = s;
            s *= shape[a];
        }
        return strides;
    }
}
