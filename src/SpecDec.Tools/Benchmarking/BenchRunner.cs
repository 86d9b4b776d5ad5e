using System.Diagnostics;
using SpecDec.Generation;
using SpecDec.Sampling;

namespace SpecDec.Tools.Benchmarking;

/// <summary>
/// Times every method on every item: one warm-up pass, then <see cref="BenchSettings.Runs"/> runs. Within a
/// run the methods take turns item by item, so a slow patch of a shared machine hits them alike. Multi-turn
/// items run turn by turn, each later prompt holding the model's own earlier answers.
/// </summary>
public sealed class BenchRunner
{
    private readonly Generator _generator;
    private readonly IReadOnlyList<BenchMethod> _methods;
    private readonly BenchSettings _settings;

    /// <param name="generator">Holds the target, and the draft model when a method needs one.</param>
    public BenchRunner(Generator generator, IReadOnlyList<BenchMethod> methods, BenchSettings settings)
    {
        settings.Validate();
        if (methods.Count == 0) throw new SpecDecException("no method to benchmark");
        _generator = generator;
        _methods = methods;
        _settings = settings;
    }

    /// <summary>Every timed record, in the order they ran.</summary>
    public IReadOnlyList<BenchRecord> Run(IReadOnlyList<BenchItem> items, Action<BenchProgress>? progress = null,
        CancellationToken cancellationToken = default)
    {
        if (items.Count == 0) throw new SpecDecException("no benchmark item selected");
        int warmUp = _settings.WarmUp ? _methods.Count : 0;
        int total = warmUp + _settings.Runs * items.Count * _methods.Count;
        int done = 0;

        if (_settings.WarmUp)
        {
            foreach (var method in _methods)
            {
                cancellationToken.ThrowIfCancellationRequested();
                var record = RunItem(items[0], method, run: 0, maxTurns: 1);
                ReserveFullContext(items[0], method);
                progress?.Invoke(new BenchProgress(++done, total, true, 0, items[0].Id, method.Name, record.NewTokens, record.TokensPerSecond));
            }
        }

        var records = new List<BenchRecord>(total - warmUp);
        for (int run = 1; run <= _settings.Runs; run++)
        {
            // Every run starts as a fresh process would: no proposer has learned from earlier answers (those of
            // the warm-up and of earlier runs are answers to these very items).
            _generator.Forget();
            foreach (var item in items)
            {
                foreach (var method in _methods)
                {
                    cancellationToken.ThrowIfCancellationRequested();
                    var record = RunItem(item, method, run, int.MaxValue);
                    records.Add(record);
                    progress?.Invoke(new BenchProgress(++done, total, false, run, item.Id, method.Name, record.NewTokens, record.TokensPerSecond));
                }
            }
        }
        return records;
    }

    /// <summary>Decodes up to <paramref name="maxTurns"/> turns of <paramref name="item"/> with <paramref name="method"/>.</summary>
    internal BenchRecord RunItem(BenchItem item, BenchMethod method, int run, int maxTurns)
    {
        var tokenizer = _generator.Target.Tokenizer;
        int context = _generator.Target.Config.ContextLength;
        var turns = new List<TurnRecord>();
        var answers = new List<string>();
        for (int t = 0; t < Math.Min(item.TurnCount, maxTurns); t++)
        {
            string prompt = item.Turns.Count == 0 ? item.Prompt : ChatFormat.Prompt(item.Turns, answers, t);
            int[] ids = tokenizer.Encode(prompt, addSpecial: true, parseSpecial: true);
            // A conversation that has outgrown the context ends here, for every method alike (greedy answers
            // are equal, so the prompts are too).
            if (ids.Length >= context) break;
            var options = new GenerationOptions
            {
                MaxTokens = Math.Min(_settings.MaxTokens, context - ids.Length),
                Sampling = _settings.Sampling(StreamSeed(item.Id, t)),
                Speculation = method.Speculation,
            };
            var turn = Decode(ids, options);
            turns.Add(turn);
            answers.Add(ChatFormat.Answer(turn.Text));
        }
        return new BenchRecord { ItemId = item.Id, Category = item.Category, Method = method.Name, Run = run, Turns = turns };
    }

    /// <summary>
    /// Sizes the target's and the method's proposer caches for the whole context now, so no timed request
    /// pays for growing them (and the method that happens to meet the longest prompt first is not charged).
    /// </summary>
    private void ReserveFullContext(BenchItem item, BenchMethod method)
    {
        int[] ids = _generator.Target.Tokenizer.Encode(item.Prompt, addSpecial: true, parseSpecial: true);
        int room = _generator.Target.Config.ContextLength - ids.Length;
        if (room < 1) return;
        _generator.Start(ids, new GenerationOptions { MaxTokens = room, Sampling = _settings.Sampling(0), Speculation = method.Speculation });
    }

    /// <summary>
    /// Runs the generation loop round by round so each round's produced tokens can be recorded; the clock
    /// covers the loop's setup, prefill and rounds.
    /// </summary>
    private TurnRecord Decode(int[] prompt, GenerationOptions options)
    {
        var acceptLengths = new List<int>(options.MaxTokens ?? 0);
        long start = Stopwatch.GetTimestamp();
        var loop = _generator.Start(prompt, options);
        loop.Prefill();
        while (loop.FinishReason is null)
        {
            long accepted = loop.Stats.Accepted, rounds = loop.Stats.Rounds;
            loop.Step();
            if (loop.Stats.Rounds != rounds) acceptLengths.Add((int)(loop.Stats.Accepted - accepted) + 1);
        }
        double wallMs = Stopwatch.GetElapsedTime(start).TotalMilliseconds;

        var stats = loop.Stats;
        int[] output = loop.Generated.ToArray();
        return new TurnRecord
        {
            PromptTokens = stats.PromptTokens,
            NewTokens = stats.GeneratedTokens,
            WallMs = wallMs,
            PrefillMs = stats.PrefillMs,
            DraftMs = stats.DraftMs,
            VerifyMs = stats.VerifyMs,
            Rounds = stats.Rounds,
            Drafted = stats.Drafted,
            Accepted = stats.Accepted,
            AcceptLengths = acceptLengths,
            Methods = stats.Methods.Count == 0 ? null : new Dictionary<string, MethodUse>(stats.Methods),
            FinishReason = loop.FinishReason.Value.ToString(),
            OutputIds = output,
            Text = _generator.Target.Tokenizer.Decode(output, skipSpecial: false),
        };
    }

    /// <summary>FNV-1a of the item id, mixed with the turn: the same stream for every method and run.</summary>
    private static ulong StreamSeed(string itemId, int turn) => Fnv1a.Add(Fnv1a.Hash(itemId), (uint)turn);
}
