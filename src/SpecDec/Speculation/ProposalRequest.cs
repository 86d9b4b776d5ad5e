using SpecDec.Model;
using SpecDec.Sampling;

namespace SpecDec.Speculation;

/// <summary>What one request asks of its proposer: the sampling the verifier applies (a proposer with
/// distributions drafts under it), the speculation settings, and the most tokens the sequence will hold.
/// <see cref="TargetCache"/> is the target's own cache of the sequence, for a proposer that drafts with the
/// target's layers (layer skipping): it may append draft rows but must roll the cache back to the length it
/// found before its <see cref="IDraftProposer.Propose"/> returns.</summary>
public readonly record struct ProposalRequest(SamplingOptions Sampling, SpeculationOptions Speculation, int Capacity, IKvCache? TargetCache = null);
