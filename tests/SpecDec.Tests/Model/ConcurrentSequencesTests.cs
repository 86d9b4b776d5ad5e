using SpecDec.Backends.Cpu;
using SpecDec.Formats;
using SpecDec.Generation;
using SpecDec.Model;
using SpecDec.Sampling;
using SpecDec.Tests.Tools.Benchmarking;

namespace SpecDec.Tests.Model;

/// <summary>
/// Several sequences on one loaded model: each generates on its own KV cache from its own thread, and gets
/// exactly what it gets alone. The forwards take turns on the model's worker pool (its gate), so sharing costs
/// the wait and nothing else.
/// </summary>
public sealed class ConcurrentSequencesTests
{
    static readonly (string Prompt, GenerationOptions Options)[] Requests =
    [
        ("The history of the city begins with", new GenerationOptions { MaxTokens = 48, Sampling = SamplingOptions.Greedy }),
        ("static int\nparse_args(int argc, char **argv)\n{\n", new GenerationOptions { MaxTokens = 48, Sampling = new SamplingOptions { Seed = 7 } }),
        ("Once upon a time", new GenerationOptions { MaxTokens = 48, Sampling = new SamplingOptions { Seed = 11, Temperature = 1.0f } }),
    ];

    [Fact]
    public async Task Two_threads_on_one_model_each_get_what_they_get_alone()
    {
        using var model = Transformer.Load(ModelSource.Open(Path.Combine(RepoPaths.Root, "models/target-q8_0.gguf")), threads: 2);
        int[][] alone = Requests.Select(r => new Generator(model).Generate(r.Prompt, r.Options).Tokens.ToArray()).ToArray();

        // Every pair of requests, each on its own thread, several times over so their forwards interleave.
        for (int round = 0; round < 2; round++)
            for (int a = 0; a < Requests.Length; a++)
                for (int b = a; b < Requests.Length; b++)
                {
                    using var start = new Barrier(2);
                    Task<int[]> first = OnItsOwnThread(() => { start.SignalAndWait(); return Run(model, a); });
                    Task<int[]> second = OnItsOwnThread(() => { start.SignalAndWait(); return Run(model, b); });
                    Assert.Equal(alone[a], await first);
                    Assert.Equal(alone[b], await second);
                }
    }

    static Task<int[]> OnItsOwnThread(Func<int[]> work) =>
        Task.Factory.StartNew(work, CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);

    static int[] Run(ILanguageModel model, int request) =>
        new Generator(model).Generate(Requests[request].Prompt, Requests[request].Options).Tokens.ToArray();
}
