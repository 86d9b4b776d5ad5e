namespace SpecDec.Model.Heads;

/// <summary>Medusa heads on a backend: one feature in, every head's logits out.</summary>
public interface IMedusaHeads : IDisposable
{
    MedusaConfig Config { get; }

    /// <summary>Logits width: the target's vocabulary.</summary>
    int VocabSize { get; }

    /// <summary>
    /// Head i's logits for the token i + 2 places after the feature's position, from <paramref name="feature"/>
    /// [hidden] (the target's final-normed hidden state) into <paramref name="logits"/> [HeadCount × VocabSize].
    /// </summary>
    void Forward(ReadOnlySpan<float> feature, Span<float> logits);
}
