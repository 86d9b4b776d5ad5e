namespace SpecDec.Generation;

/// <summary>
/// A piece of streamed output: new text (never a broken UTF-8 sequence, never part of a stop string). The
/// last chunk of a stream has empty text and carries why it ended and the request's statistics.
/// </summary>
public readonly record struct GenerationChunk(string Text, FinishReason? FinishReason = null, GenerationStats? Stats = null);
