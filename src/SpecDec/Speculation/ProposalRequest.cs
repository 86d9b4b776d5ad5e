using SpecDec.Sampling;

namespace SpecDec.Speculation;

/// <summary>What one request asks of its proposer: the sampling the verifier applies (a proposer with
/// distributions drafts under it), the speculation settings, and the most tokens the sequence will hold.</summary>
public readonly record struct ProposalRequest(SamplingOptions Sampling, SpeculationOptions Speculation, int Capacity);
