namespace SpecDec.Benchmarks;

/// <summary>
/// A benchmark whose operation reads a known amount of memory. <see cref="ReadColumn"/> asks a fresh instance
/// with only its [Params] properties set (no setup run), so the count must follow from the parameters alone.
/// </summary>
public interface IReadsMemory
{
    long BytesReadPerOperation { get; }
}
