using SpecDec.Tensors;
using SpecDec.Tokenization;

namespace SpecDec.Model;

/// <summary>
/// A checkpoint opened for inference: its config, tokenizer and memory-mapped tensors under canonical
/// (<see cref="TensorNames"/>) names. Implemented by the GGUF reader and the Hugging Face folder reader;
/// disposing unmaps the files, after which no <see cref="WeightTensor.Data"/> may be touched.
/// </summary>
public interface IModelSource : IDisposable
{
    /// <summary>The file or folder the model came from.</summary>
    string Path { get; }

    /// <summary>Human-readable container name, e.g. "GGUF v3" or "safetensors".</summary>
    string FormatName { get; }

    ModelConfig Config { get; }
    ITokenizer Tokenizer { get; }
    IReadOnlyList<WeightTensor> Tensors { get; }

    /// <summary>Raw metadata for display (GGUF key/values, or config.json fields).</summary>
    IReadOnlyDictionary<string, object> Metadata { get; }

    WeightTensor? Find(string name);

    /// <summary>
    /// Tells the source that <paramref name="tensor"/>'s mapped bytes will not be read again soon (the model
    /// computes from a copy), so their pages may leave memory. Reading them later must still work: a
    /// file-backed source re-reads the file. Sources in ordinary memory ignore it.
    /// </summary>
    void Evict(WeightTensor tensor) { }
}
