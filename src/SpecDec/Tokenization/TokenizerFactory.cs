namespace SpecDec.Tokenization;

/// <summary>Builds an <see cref="ITokenizer"/> from the files a checkpoint ships.</summary>
public static class TokenizerFactory
{
    /// <summary>
    /// From a Hugging Face folder's tokenizer.json, with tokenizer_config.json (add_bos_token, chat_template,
    /// added tokens) and generation_config.json (eos ids) beside it when present.
    /// </summary>
    public static ITokenizer FromTokenizerJson(string tokenizerJsonPath) => TokenizerJsonLoader.Load(tokenizerJsonPath);

    /// <summary>
    /// From GGUF `tokenizer.ggml.*` metadata. Arrays arrive as typed .NET arrays (string[], float[], int[]…),
    /// scalars as their .NET types. <paramref name="source"/> names the file in error messages.
    /// </summary>
    public static ITokenizer FromGgufMetadata(IReadOnlyDictionary<string, object> metadata, string source) =>
        GgufTokenizerLoader.Load(metadata, source);
}
