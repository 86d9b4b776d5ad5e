using SpecDec.Sampling;

namespace SpecDec.Speculation;

/// <summary>The engine's chance: uniforms from the request's generator, samples by <see cref="Sampler.Sample"/>.</summary>
internal readonly struct RngChoices(Xoshiro256StarStar rng) : IRandomChoices<float>
{
    // Written without the division so that a scale of 0 (q(x) = 0) cannot produce NaN.
    public bool Accept(float mass, float scale) => rng.NextDouble() * scale < mass;

    public int Sample(ReadOnlySpan<float> weights) => Sampler.Sample(weights, rng);
}
