namespace SpecDec.Tensors;

/// <summary>How rotary embeddings pair the dimensions of a head.</summary>
public enum RopeStyle
{
    /// <summary>Adjacent pairs (x0,x1),(x2,x3)…: GGUF `llama` (llama.cpp's converter permutes Q/K rows to this).</summary>
    Normal,

    /// <summary>Halves (x_i, x_{i+d/2}): Hugging Face `rotate_half`, and GGUF `qwen2`/`qwen3`.</summary>
    Neox,
}
