using SharpFuzz;
using SpecDec;
using SpecDec.Formats.Safetensors;
using SpecDec.Model;
using SpecDec.Tokenization;

// One parser per run, named by the argument; afl++ feeds inputs through SharpFuzz's forkserver. A refusal
// (SpecDecException) is a normal outcome; any other exception is a crash that afl++ records.
var targets = new Dictionary<string, (string File, Action<string> Parse)>
{
    ["gguf"] = ("model.gguf", path =>
    {
        using IModelSource source = ModelSource.Open(path);
        source.Tokenizer.Encode("def fib(n): <s>");
    }),
    ["safetensors"] = ("model.safetensors", path => SafetensorsFile.Open(path).Dispose()),
    ["tokenizer"] = ("tokenizer.json", path =>
    {
        ITokenizer tokenizer = TokenizerFactory.FromTokenizerJson(path);
        tokenizer.Decode(tokenizer.Encode("abc de <|endoftext|> é😀"));
    }),
    ["config"] = ("config.json", path => HfConfigReader.Read(path)),
};
if (args.Length != 1 || !targets.TryGetValue(args[0], out var target))
{
    Console.Error.WriteLine($"usage: SpecDec.Fuzz {string.Join("|", targets.Keys)}");
    return 2;
}

string file = Path.Combine(Directory.CreateTempSubdirectory("specdec-fuzz-").FullName, target.File);
Fuzzer.OutOfProcess.Run(stream =>
{
    using (FileStream copy = File.Create(file)) stream.CopyTo(copy);
    try
    {
        target.Parse(file);
    }
    catch (SpecDecException)
    {
    }
});
return 0;
