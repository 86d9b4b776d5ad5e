using SpecDec.Formats;

namespace SpecDec.Tokenization;

/// <summary>The token ids of generation_config.json: bos_token_id and eos_token_id (an int or a list).</summary>
public sealed class GenerationConfigFile
{
    public required string FilePath { get; init; }
    public int? BosTokenId { get; init; }
    public IReadOnlyList<int> EosTokenIds { get; init; } = [];

    public static GenerationConfigFile Load(string path)
    {
        using var doc = JsonFields.Parse(path);
        var f = new JsonFields(path);
        var root = f.Object(doc.RootElement, "(root)");
        return new GenerationConfigFile
        {
            FilePath = path,
            BosTokenId = f.Optional(root, "bos_token_id") is { } b ? f.Int(b, "bos_token_id") : null,
            EosTokenIds = f.Optional(root, "eos_token_id") is { } e ? f.IntOrIntList(e, "eos_token_id") : [],
        };
    }
}
