using SpecDec.Formats;
using SpecDec.Tokenization;

namespace SpecDec.Model;

/// <summary>
/// Where a model file meets its tokenizer: every id the tokenizer can produce (added tokens included) must have
/// an embedding row, or a prompt that hits such an id fails mid-run instead of at load.
/// </summary>
internal static class TokenizerFit
{
    public static ITokenizer Checked(ITokenizer tokenizer, ModelConfig config, string path) =>
        tokenizer.VocabSize <= config.VocabSize ? tokenizer
            : throw new ModelFormatException(path,
                $"the tokenizer has {tokenizer.VocabSize} tokens (added tokens included) but the model has only {config.VocabSize} embedding rows");
}
