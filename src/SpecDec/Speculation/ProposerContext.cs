using SpecDec.Model;

namespace SpecDec.Speculation;

/// <summary>What a method's factory may build its proposer from: the target and, when one is loaded, a draft model.</summary>
public sealed record ProposerContext(ILanguageModel Target, ILanguageModel? DraftModel);
