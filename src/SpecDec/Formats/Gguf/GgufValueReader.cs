using System.Runtime.InteropServices;

namespace SpecDec.Formats.Gguf;

/// <summary>
/// Reads GGUF metadata values: scalars as their .NET types (byte, sbyte, ushort, short, uint, int, float,
/// bool, string, ulong, long, double), arrays as typed .NET arrays, arrays of arrays as object[].
/// </summary>
internal static class GgufValueReader
{
    /// <summary>Deeper nesting is never written by llama.cpp; the cap keeps recursion off a corrupt file.</summary>
    public const int MaxArrayDepth = 4;

    public static object ReadValue(ref GgufCursor cursor, GgufValueType type) => type switch
    {
        GgufValueType.UInt8 => cursor.ReadU8("uint8 value"),
        GgufValueType.Int8 => (sbyte)cursor.ReadU8("int8 value"),
        GgufValueType.UInt16 => cursor.ReadU16("uint16 value"),
        GgufValueType.Int16 => (short)cursor.ReadU16("int16 value"),
        GgufValueType.UInt32 => cursor.ReadU32("uint32 value"),
        GgufValueType.Int32 => (int)cursor.ReadU32("int32 value"),
        GgufValueType.Float32 => cursor.ReadF32("float32 value"),
        GgufValueType.Bool => ToBool(ref cursor, cursor.ReadU8("bool value")),
        GgufValueType.String => cursor.ReadString("string value"),
        GgufValueType.Array => ReadArray(ref cursor, depth: 1),
        GgufValueType.UInt64 => cursor.ReadU64("uint64 value"),
        GgufValueType.Int64 => (long)cursor.ReadU64("int64 value"),
        GgufValueType.Float64 => cursor.ReadF64("float64 value"),
        _ => throw cursor.Error($"unknown metadata value type {(uint)type}"),
    };

    private static object ReadArray(ref GgufCursor cursor, int depth)
    {
        if (depth > MaxArrayDepth) throw cursor.Error($"arrays nested deeper than {MaxArrayDepth} levels");
        var elementType = (GgufValueType)cursor.ReadU32("array element type");
        switch (elementType)
        {
            case GgufValueType.UInt8: return ReadPrimitives<byte>(ref cursor);
            case GgufValueType.Int8: return ReadPrimitives<sbyte>(ref cursor);
            case GgufValueType.UInt16: return ReadPrimitives<ushort>(ref cursor);
            case GgufValueType.Int16: return ReadPrimitives<short>(ref cursor);
            case GgufValueType.UInt32: return ReadPrimitives<uint>(ref cursor);
            case GgufValueType.Int32: return ReadPrimitives<int>(ref cursor);
            case GgufValueType.Float32: return ReadPrimitives<float>(ref cursor);
            case GgufValueType.UInt64: return ReadPrimitives<ulong>(ref cursor);
            case GgufValueType.Int64: return ReadPrimitives<long>(ref cursor);
            case GgufValueType.Float64: return ReadPrimitives<double>(ref cursor);
            case GgufValueType.Bool:
            {
                var values = new bool[cursor.ReadCount("array length", 1)];
                for (int i = 0; i < values.Length; i++) values[i] = ToBool(ref cursor, cursor.ReadU8("bool element"));
                return values;
            }
            case GgufValueType.String:
            {
                var values = new string[cursor.ReadCount("array length", 8)];
                for (int i = 0; i < values.Length; i++) values[i] = cursor.ReadString("string element");
                return values;
            }
            case GgufValueType.Array:
            {
                var values = new object[cursor.ReadCount("array length", 12)];
                for (int i = 0; i < values.Length; i++) values[i] = ReadArray(ref cursor, depth + 1);
                return values;
            }
            default:
                throw cursor.Error($"unknown array element type {(uint)elementType}");
        }
    }

    /// <summary>Fixed-size elements are copied straight from the little-endian file bytes.</summary>
    private static T[] ReadPrimitives<T>(ref GgufCursor cursor) where T : unmanaged
    {
        int size = System.Runtime.CompilerServices.Unsafe.SizeOf<T>();
        int count = cursor.ReadCount("array length", size);
        return MemoryMarshal.Cast<byte, T>(cursor.ReadBytes(count * size, "array elements")).ToArray();
    }

    private static bool ToBool(ref GgufCursor cursor, byte value) =>
        value <= 1 ? value == 1 : throw cursor.Error($"bool value {value} is neither 0 nor 1");
}
