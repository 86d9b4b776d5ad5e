using SpecDec.Model;
using SpecDec.Model.Heads;

namespace SpecDec.Speculation;

/// <summary>
/// Draft heads loaded beside a target: an EAGLE head run as a model of its own (<see cref="ModelConfig.IsEagleHead"/>),
/// Medusa heads, or both. The caller that loaded them disposes them.
/// </summary>
public sealed record DraftHeads(ILanguageModel? Eagle = null, IMedusaHeads? Medusa = null);
