namespace SpecDec;

/// <summary>A model, tokenizer or config file that cannot be read as what it claims to be.</summary>
public sealed class ModelFormatException : SpecDecException
{
    public string FilePath { get; }

    public ModelFormatException(string filePath, string problem)
        : base($"{filePath}: {problem}") => FilePath = filePath;

    public ModelFormatException(string filePath, string problem, Exception inner)
        : base($"{filePath}: {problem}", inner) => FilePath = filePath;
}
