namespace SpecDec.Generation;

/// <summary>A finished request: the continuation (not the prompt) as text and ids, why it ended, and its statistics.</summary>
public sealed record GenerationResult(string Text, IReadOnlyList<int> Tokens, FinishReason FinishReason, GenerationStats Stats);
