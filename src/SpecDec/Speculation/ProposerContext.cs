using SpecDec.Model;

namespace SpecDec.Speculation;

/// <summary>What a method's factory may build its proposer from: the target and, when loaded, a draft model and draft heads.</summary>
public sealed record ProposerContext(ILanguageModel Target, ILanguageModel? DraftModel, DraftHeads? Heads = null);
