namespace SpecDec.Generation;

/// <summary>How a token of the output came to be, as a round of speculative decoding decided it.</summary>
public enum TokenOrigin : byte
{
    /// <summary>The round drafted nothing: the target's own next token (plain decoding, or a proposer with no guess).</summary>
    Plain,

    /// <summary>A draft token the target accepted.</summary>
    Accepted,

    /// <summary>The target's token where a draft token was rejected.</summary>
    Correction,

    /// <summary>The target's extra token after every draft token of the round was accepted.</summary>
    Bonus,
}

/// <summary>
/// One token a round produced: its id, its origin, and where its text ends in the round's text. A token's
/// text is what its commit released; a token whose bytes complete a character, or that ends a text a stop
/// string might have continued, releases the text held back before it, and a stop token (which ends the answer
/// and is not part of it) releases only what was held back.
/// </summary>
public readonly record struct RoundToken(int Id, TokenOrigin Origin, int TextEnd);
