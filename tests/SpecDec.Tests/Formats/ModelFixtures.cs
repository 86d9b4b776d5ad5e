namespace SpecDec.Tests.Formats;

/// <summary>
/// The tiny reference checkpoints in tests/fixtures/models (made by tests/fixtures/make_fixtures.py and
/// make_arch_fixtures.py with transformers), found by walking up from the test assembly to the folder holding SpecDec.slnx.
/// </summary>
internal static class ModelFixtures
{
    public static readonly string[] Names = ["llama-f32", "llama-f16", "llama-bf16", "llama-sharded", "mistral-f32", "qwen2-f32", "qwen3-bf16",
        "phi3-longrope", "phi3-longrope-long", "phi4-like", "mixtral", "qwen3moe", "olmoe", "gemma2", "gemma3"];

    /// <summary>The fixtures make_arch_fixtures.py builds from configs with random weights (no training).</summary>
    public static readonly string[] RandomInitialised = ["phi3-longrope", "phi3-longrope-long", "phi4-like", "mixtral", "qwen3moe", "olmoe", "gemma2", "gemma3"];

    public static string Dir(string name)
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir != null; dir = dir.Parent)
        {
            if (!File.Exists(Path.Combine(dir.FullName, "SpecDec.slnx"))) continue;
            string folder = Path.Combine(dir.FullName, "tests", "fixtures", "models", name);
            Assert.True(File.Exists(Path.Combine(folder, "config.json")), $"model fixture missing: {folder}/config.json");
            return folder;
        }
        throw new InvalidOperationException("no SpecDec.slnx above " + AppContext.BaseDirectory);
    }
}
