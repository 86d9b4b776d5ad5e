namespace SpecDec.Model.Heads;

/// <summary>
/// Medusa heads (Cai et al. 2024): <see cref="HeadCount"/> heads, head i predicting the token i + 2 places after
/// the feature's position; each is <see cref="BlockCount"/> residual blocks h ← h + SiLU(W h + b) over the
/// target's final-normed hidden state, then an output head: its own when <see cref="OwnOutputs"/> (published
/// Medusa-1 heads), else the target's (heads trained to share it stay small).
/// </summary>
public sealed record MedusaConfig(int HeadCount, int BlockCount, int HiddenSize, int VocabSize, bool OwnOutputs);
