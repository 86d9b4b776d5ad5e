using SpecDec.Formats;
using SpecDec.Formats.Gguf;
using SpecDec.Kernels;
using SpecDec.Model;
using SpecDec.Tensors;
using SpecDec.Tests.Formats;
using SpecDec.Tests.Tools.Synthetic;
using SpecDec.Tools.Quantization;
using SpecDec.Tools.Synthetic;

namespace SpecDec.Tests.Tools.Quantization;

public unsafe class GgufQuantizerTests
{
    static float[] Decode(WeightTensor t)
    {
        var values = new float[t.ElementCount];
        fixed (float* dst = values)
            for (long r = 0; r < t.RowCount; r++)
                Dequantize.Row(t.Type, (byte*)t.Data + r * t.RowBytes, dst + r * t.RowLength, t.RowLength, SimdLevel.Scalar);
        return values;
    }

    [Fact]
    public void Q4_K_M_FollowsThePlanAndKeepsTheValues()
    {
        using var dir = new TempDirectory();
        string f32 = dir.File("f32.gguf"), q = dir.File("q4km.gguf");
        SyntheticModel.Write(TinyShapes.Llama, QuantScheme.F32, f32);
        var seen = new List<string>();
        GgufQuantizer.Quantize(f32, q, QuantScheme.Q4_K_M, (t, _) => seen.Add(t.Name));

        using GgufFile source = GgufFile.Open(f32), result = GgufFile.Open(q);
        Assert.Equal(source.Tensors.Select(t => t.Name), seen);
        Assert.Equal(15u, result.Metadata[GgufKeys.FileType]);
        Assert.Equal(source.Metadata[GgufKeys.Tokens], result.Metadata[GgufKeys.Tokens]);
        foreach (WeightTensor t in result.Tensors)
        {
            WeightTensor s = source.Tensors.Single(x => x.Name == t.Name);
            Assert.Equal(s.Dims, t.Dims);
            Assert.Equal(QuantPlan.TypeFor(QuantScheme.Q4_K_M, t.Name, t.Dims, 8, tiedEmbeddings: true), t.Type);
            float[] a = Decode(s), b = Decode(t);
            double err = 0, norm = 0;
            for (int i = 0; i < a.Length; i++)
            {
                err += (a[i] - b[i]) * (double)(a[i] - b[i]);
                norm += a[i] * (double)a[i];
            }
            // Q4_K keeps about 7 % relative RMS error on Gaussian weights, Q6_K about 2 %, F32 none.
            double bound = t.Type switch { GgmlType.F32 => 0, GgmlType.Q6_K => 0.025, _ => 0.1 };
            Assert.True(Math.Sqrt(err / norm) <= bound, $"{t.Name} {t.Type}: relative RMSE {Math.Sqrt(err / norm)}");
        }
    }

    [Fact]
    public void TensorsAlreadyInTheTargetTypeAreCopiedBitForBit()
    {
        using var dir = new TempDirectory();
        string a = dir.File("a.gguf"), b = dir.File("b.gguf");
        SyntheticModel.Write(TinyShapes.Qwen2, QuantScheme.Q8_0, a);
        GgufQuantizer.Quantize(a, b, QuantScheme.Q8_0);
        using GgufFile fa = GgufFile.Open(a), fb = GgufFile.Open(b);
        foreach (WeightTensor t in fa.Tensors)
        {
            WeightTensor u = fb.Tensors.Single(x => x.Name == t.Name);
            Assert.True(new ReadOnlySpan<byte>((void*)t.Data, (int)t.ByteLength).SequenceEqual(new ReadOnlySpan<byte>((void*)u.Data, (int)u.ByteLength)), t.Name);
        }
    }

    [Fact]
    public void WritingOverTheInputIsRefused()
    {
        using var dir = new TempDirectory();
        string a = dir.File("a.gguf");
        SyntheticModel.Write(TinyShapes.Qwen2, QuantScheme.F16, a);
        var e = Assert.Throws<SpecDecException>(() => GgufQuantizer.Quantize(a, a, QuantScheme.Q8_0));
        Assert.Contains("is one of the inputs", e.Message);
    }
}
