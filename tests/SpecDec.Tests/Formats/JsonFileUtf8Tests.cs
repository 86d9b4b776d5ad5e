using System.Text;
using SpecDec.Model;
using SpecDec.Tokenization;

namespace SpecDec.Tests.Formats;

/// <summary>
/// A JSON file with a byte UTF-8 never uses inside a string (found by the afl++ run, docs/fuzzing.md): refused
/// naming the file, not an InvalidOperationException when the string is read.
/// </summary>
public sealed class JsonFileUtf8Tests
{
    [Theory]
    [InlineData("config.json")]
    [InlineData("tokenizer.json")]
    [InlineData("tokenizer_config.json")]
    public void InvalidUtf8IsRefusedNamingTheFile(string name)
    {
        using var dir = new TempDirectory();
        new TinyHf { TokenizerConfig = new() { ["add_bos_token"] = false } }.Write(dir.Path);
        string path = dir.File(name);
        byte[] bytes = File.ReadAllBytes(path);
        bytes[Encoding.UTF8.GetString(bytes).IndexOf('"') + 1] = 0xFF; // the first key's first character
        File.WriteAllBytes(path, bytes);

        var e = Assert.Throws<ModelFormatException>(() =>
        {
            HfConfigReader.Read(dir.File("config.json"));
            TokenizerFactory.FromTokenizerJson(dir.File("tokenizer.json"));
        });
        Assert.Equal(path, e.FilePath);
        Assert.Contains("is not valid UTF-8", e.Message);
    }
}
