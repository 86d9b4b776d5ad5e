namespace SpecDec.Kernels.Linear;

/// <summary>
/// The number of activation rows a packed kernel's pass takes, as a type: <see cref="IPackedGroupKernel.Pass{TRows}"/>
/// is compiled once per count with the count a constant, so each length gets its own loop with its own
/// accumulators in registers. (A row-count argument would rely on the JIT inlining a large method into
/// every call site, which it stops doing past its size budget.) Counts past 8 only reach Q8_0's 512-bit pair passes.
/// </summary>
internal interface IPassRows
{
    static abstract int Count { get; }
}

internal readonly struct Rows1 : IPassRows { public static int Count => 1; }
internal readonly struct Rows2 : IPassRows { public static int Count => 2; }
internal readonly struct Rows3 : IPassRows { public static int Count => 3; }
internal readonly struct Rows4 : IPassRows { public static int Count => 4; }
internal readonly struct Rows5 : IPassRows { public static int Count => 5; }
internal readonly struct Rows6 : IPassRows { public static int Count => 6; }
internal readonly struct Rows7 : IPassRows { public static int Count => 7; }
internal readonly struct Rows8 : IPassRows { public static int Count => 8; }
internal readonly struct Rows9 : IPassRows { public static int Count => 9; }
internal readonly struct Rows10 : IPassRows { public static int Count => 10; }
internal readonly struct Rows11 : IPassRows { public static int Count => 11; }
internal readonly struct Rows12 : IPassRows { public static int Count => 12; }
internal readonly struct Rows13 : IPassRows { public static int Count => 13; }
internal readonly struct Rows14 : IPassRows { public static int Count => 14; }
internal readonly struct Rows15 : IPassRows { public static int Count => 15; }
internal readonly struct Rows16 : IPassRows { public static int Count => 16; }
