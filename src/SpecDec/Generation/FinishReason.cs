namespace SpecDec.Generation;

/// <summary>Why generation ended.</summary>
public enum FinishReason
{
    /// <summary>The model produced a stop token (EOS, end of turn); it is not part of the output.</summary>
    StopToken,

    /// <summary>The output reached one of the stop strings; the text ends just before it.</summary>
    StopString,

    /// <summary>The requested number of new tokens was generated.</summary>
    MaxTokens,

    /// <summary>The sequence filled the model's context.</summary>
    ContextFull,
}
