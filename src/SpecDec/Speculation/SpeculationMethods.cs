namespace SpecDec.Speculation;

/// <summary>
/// The registry of speculation methods: the CLI's <c>--spec</c>, the benchmark's methods and an application all
/// look methods up here by name, so adding a proposer is one <see cref="Register"/> call (or one entry below).
/// </summary>
public static class SpeculationMethods
{
    public const string None = "none";
    public const string DraftModel = "draft";
    public const string PromptLookup = "pld";
    public const string Lookahead = "lookahead";
    public const string Retrieval = "rest";
    public const string LayerSkip = "layerskip";
    public const string Auto = "auto";

    public const string Eagle = "eagle";
    public const string Medusa = "medusa";

    private static readonly List<SpeculationMethod> Known = []; // in registration order; a handful, so searched in turn

    static SpeculationMethods()
    {
        Register(new(None, "plain decoding: the same loop with no proposer", false, new SpeculationOptions(), null));
        Register(new(DraftModel,
            "an independent smaller model with its own KV cache (--draft-model), checked for the same vocabulary; q is the draft's own distribution",
            true, new SpeculationOptions { Method = DraftModel },
            context => new DraftModelProposer(context.DraftModel
                ?? throw new SpecDecException("speculation with a draft model needs a draft model (--draft-model)"), context.Target)));
        // A lookup draft is either a copy that goes on or wrong from its first token, and each rejected token
        // costs a verified row: over the whole benchmark (`specdec bench --limit 0`, 812 items, bundled target,
        // three runs) a fixed 4 gave a decode speedup of 1.23–1.26× greedy and 1.10–1.18× at T = 0.7, lengths
        // adapting in 1..8 1.14–1.19× and 1.03–1.11×.
        Register(new(PromptLookup,
            "prompt lookup: the continuation of an earlier match of the last n tokens in the prompt and output (point masses); with --draft-tree a branch per distinct continuation",
            false, new SpeculationOptions { Method = PromptLookup, DraftMin = 4, DraftMax = 4 },
            _ => new PromptLookupProposer()));
        Register(new(Lookahead,
            "lookahead (Jacobi) decoding: a window of W columns × N − 1 levels rides on each verification forward; its n-grams and the context's fill a pool keyed by first token, and up to G of those after the last token are verified as a tree (--lookahead-window, --lookahead-ngram, --lookahead-guesses)",
            false, new SpeculationOptions { Method = Lookahead }.WithLookahead(),
            context => new LookaheadProposer(context.Target.Config.VocabSize)));
        Register(new(Retrieval,
            "retrieval: the longest suffix match (16 down to 2 tokens) in the request itself and in the stores (a datastore, --datastore, and the answers this process generated); each source's likeliest continuations as a tree sized by the verification cost, the better source drafted (--tree-nodes, --draft-max deep)",
            false, new SpeculationOptions { Method = Retrieval, DraftMin = 8, DraftMax = 8, Tree = true, TreeNodes = 12 },
            context =>
            {
                LearnedCostCurve? cost = null; // measured at the first request, then learned from the proposer's own rounds
                return new RestProposer(context.Target.Tokenizer, () => cost ??= LearnedCostCurve.For(context.Target), timesRounds: true);
            }));
        Register(new(LayerSkip,
            "self-speculation: the target drafts through its first E blocks and its own head, in its own KV cache (--exit-layer E, or chosen online from measured speed when 0)",
            false, new SpeculationOptions { Method = LayerSkip, DraftMin = 4, DraftMax = 4 },
            context => new LayerSkipProposer(context.Target)));
        Register(new(Auto,
            "chooses every round among prompt lookup, retrieval, the draft model (when loaded) and plain decoding, by the tokens per unit of target time each is expected to yield: its learned acceptance (for copies by match length) against the measured verification cost; --stats names the sources used and the switches",
            false, new SpeculationOptions { Method = Auto, DraftMin = 8, DraftMax = 8, Tree = true, TreeNodes = 12 },
            context => new AutoProposer(context)));

        // Trees up to the verification forward's 63 nodes and 8 (EAGLE) or 4 (Medusa heads) levels; the size within
        // them is chosen per machine from the measured verification cost (TreeSizer) unless --tree-* fix it.
        Register(new(Eagle,
            "EAGLE-2: a one-layer head over the target's own features (--head) drafts a dynamic tree (top-k frontier by cumulative log-probability, then the best n nodes), sized for this machine",
            false, new SpeculationOptions { Method = Eagle, Tree = true, SizeTree = true, TreeNodes = SpeculationOptions.MaxVerifyRows - 1, DraftMin = 8, DraftMax = 8 },
            context => new EagleProposer(context.Heads?.Eagle
                ?? throw new SpecDecException("speculation with EAGLE needs an EAGLE head (--head)"), context.Target)) { Head = Eagle });
        Register(new(Medusa,
            "Medusa: heads over the target's last hidden state (--heads) each guess one more token ahead; a static tree of their top-k, sized for this machine",
            false, new SpeculationOptions { Method = Medusa, Tree = true, SizeTree = true, TreeNodes = SpeculationOptions.MaxVerifyRows - 1, DraftMin = 4, DraftMax = 4 },
            context => new MedusaProposer(context.Heads?.Medusa
                ?? throw new SpecDecException("speculation with Medusa needs Medusa heads (--heads)"), context.Target)) { Head = Medusa });
    }

    /// <summary>Every registered method, in registration order ("none" first).</summary>
    public static IReadOnlyList<SpeculationMethod> All
    {
        get
        {
            lock (Known) return Known.ToArray();
        }
    }

    /// <summary>Adds a method; throws when its name is taken.</summary>
    public static void Register(SpeculationMethod method)
    {
        ArgumentNullException.ThrowIfNull(method);
        lock (Known)
        {
            if (Find(method.Name) is not null) throw new ArgumentException($"a speculation method named '{method.Name}' is already registered");
            Known.Add(method);
        }
    }

    /// <summary>The method called <paramref name="name"/>; throws a <see cref="SpecDecException"/> listing the known names.</summary>
    public static SpeculationMethod Get(string name)
    {
        lock (Known)
            return Find(name) ?? throw new SpecDecException($"unknown speculation method '{name}'; known: {string.Join(", ", Known.Select(m => m.Name))}");
    }

    private static SpeculationMethod? Find(string name) => Known.Find(m => m.Name == name);
}
