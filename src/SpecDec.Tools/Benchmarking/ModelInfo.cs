namespace SpecDec.Tools.Benchmarking;

/// <summary>A model a benchmark ran: its role ("target" or "draft"), where it came from and how big it is.</summary>
public sealed record ModelInfo(string Role, string Path, long SizeBytes, string Format, string Architecture,
    int Layers, int HiddenSize, int VocabSize, long Parameters)
{
    /// <summary>Bytes on disk of a model file, or of every file in a model folder.</summary>
    public static long SizeOnDisk(string path) =>
        Directory.Exists(path)
            ? new DirectoryInfo(path).EnumerateFiles("*", SearchOption.AllDirectories).Sum(f => f.Length)
            : File.Exists(path) ? new FileInfo(path).Length : 0;
}
