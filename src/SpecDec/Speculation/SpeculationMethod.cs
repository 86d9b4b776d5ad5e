namespace SpecDec.Speculation;

/// <summary>Where draft tokens come from.</summary>
public enum SpeculationMethod
{
    /// <summary>Plain autoregressive decoding: one target forward per token.</summary>
    None,

    /// <summary>A smaller model with the same tokenizer drafts, with its own distributions q.</summary>
    DraftModel,

    /// <summary>Prompt lookup decoding: copy what followed an earlier occurrence of the last n-gram (<see cref="PromptLookupProposer"/>).</summary>
    PromptLookup,
}
