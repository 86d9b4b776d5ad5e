using SpecDec.Kernels.Quant;

namespace SpecDec.Tests.Kernels.Quant;

public unsafe class QuantFormatTests
{
    [Fact]
    public void HalfAtAgreesWithTheFrameworkOnEveryHalf()
    {
        for (int i = 0; i < 65536; i++)
        {
            ushort bits = (ushort)i;
            float expected = (float)BitConverter.UInt16BitsToHalf(bits);
            float actual = QuantFormat.HalfAt((byte*)&bits);
            if (float.IsNaN(expected)) Assert.True(float.IsNaN(actual), $"0x{i:X4}");
            else Assert.Equal(BitConverter.SingleToUInt32Bits(expected), BitConverter.SingleToUInt32Bits(actual));
        }
    }
}
