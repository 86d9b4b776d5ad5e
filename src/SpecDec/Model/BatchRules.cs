namespace SpecDec.Model;

/// <summary>What every backend checks and derives from a <see cref="ForwardBatch"/> the same way.</summary>
public static class BatchRules
{
    /// <summary>
    /// Checks a forward's request against the model's <paramref name="config"/> and its cache before anything is
    /// written; returns the number of logit rows. Every backend calls it, so a batch is refused alike everywhere.
    /// </summary>
    public static int Validate(in ForwardBatch batch, ModelConfig config, int cacheLength, int cacheCapacity, int logitsLength)
    {
        int n = batch.Count;
        if (n == 0) throw new ArgumentException("the batch has no rows");
        if (batch.Tokens.IsEmpty == batch.Embeddings.IsEmpty)
            throw new ArgumentException("a batch holds either tokens or embeddings");
        if (!batch.Tokens.IsEmpty && batch.Tokens.Length != n)
            throw new ArgumentException($"{n} positions for {batch.Tokens.Length} tokens");
        if (!batch.Embeddings.IsEmpty && batch.Embeddings.Length != (long)n * config.HiddenSize)
            throw new ArgumentException($"embeddings hold {batch.Embeddings.Length} floats; {n} rows × {config.HiddenSize} are needed");
        if (config.IsEagleHead != !batch.Features.IsEmpty)
            throw new ArgumentException(config.IsEagleHead ? "an EAGLE head needs a feature per row (Features) beside its tokens" : "only an EAGLE head reads Features");
        if (config.IsEagleHead && (batch.Tokens.IsEmpty || batch.Features.Length != (long)n * config.HiddenSize))
            throw new ArgumentException($"an EAGLE head reads {n} tokens and {n} × {config.HiddenSize} feature floats (got {batch.Tokens.Length} and {batch.Features.Length})");
        if (cacheLength + n > cacheCapacity)
            throw new ArgumentException($"the KV cache holds {cacheLength} of {cacheCapacity} rows: no room for {n} more");
        for (int i = 0; i < batch.Tokens.Length; i++)
            if ((uint)batch.Tokens[i] >= (uint)config.VocabSize)
                throw new ArgumentOutOfRangeException(nameof(batch), batch.Tokens[i], $"token {i} is outside the vocabulary of {config.VocabSize}");
        for (int i = 0; i < n; i++)
            if (batch.Positions[i] < 0)
                throw new ArgumentOutOfRangeException(nameof(batch), batch.Positions[i], $"position {i} is negative");
        if (!batch.Parents.IsEmpty)
        {
            if (!batch.Mask.IsEmpty) throw new ArgumentException("a batch has parents or a mask, not both");
            if (batch.Parents.Length != n) throw new ArgumentException($"{batch.Parents.Length} parents for {n} tokens");
            if (n > ForwardBatch.MaxRows) throw new ArgumentException($"a tree batch holds at most {ForwardBatch.MaxRows} tokens, not {n}");
            for (int i = 0; i < n; i++)
                if (batch.Parents[i] < -1 || batch.Parents[i] >= i)
                    throw new ArgumentException($"parent {batch.Parents[i]} of row {i} is not an earlier row or -1");
        }
        if (!batch.Mask.IsEmpty)
        {
            if (batch.Mask.Length != n) throw new ArgumentException($"{batch.Mask.Length} mask rows for {n} rows");
            if (n > ForwardBatch.MaxRows) throw new ArgumentException($"a masked batch holds at most {ForwardBatch.MaxRows} rows, not {n}");
            for (int i = 0; i < n; i++)
                if ((batch.Mask[i] >> i) != 1)
                    throw new ArgumentException($"mask row {i} must see itself and only earlier rows");
        }
        int layers = config.LayerCount;
        if (batch.FirstLayer < 0 || batch.Layers < 0 || batch.FirstLayer + Math.Max(batch.Layers, 1) > layers)
            throw new ArgumentOutOfRangeException(nameof(batch), $"layers {batch.FirstLayer} + {batch.Layers} are outside the model's {layers}");
        foreach (int r in batch.LogitRows)
            if ((uint)r >= (uint)n) throw new ArgumentOutOfRangeException(nameof(batch), r, $"logit row outside the batch of {n}");
        int logitRows = batch.LogitRows.IsEmpty ? 1 : batch.LogitRows.Length;
        if (logitsLength < (long)logitRows * config.LogitCount)
            throw new ArgumentException($"logits hold {logitsLength} floats; {logitRows} rows × {config.LogitCount} are needed", "logits");
        foreach (int l in batch.HiddenLayers)
            if ((uint)l > (uint)layers)
                throw new ArgumentOutOfRangeException(nameof(batch), l, $"hidden layer outside 0..{layers}");
        if (batch.Hidden.Length < (long)batch.HiddenLayers.Length * n * config.HiddenSize)
            throw new ArgumentException($"Hidden holds {batch.Hidden.Length} floats; {batch.HiddenLayers.Length} layers × {n} rows × {config.HiddenSize} are needed");
        return logitRows;
    }

    /// <summary>
    /// Checks a forward over several sequences (<see cref="ILanguageModel.Forward(in ForwardBatch, ReadOnlySpan{SequenceRows}, Span{float})"/>)
    /// before anything is written; returns the number of logit rows.
    /// </summary>
    public static int ValidateSequences(in ForwardBatch batch, ReadOnlySpan<SequenceRows> sequences, ModelConfig config, int logitsLength)
    {
        int n = batch.Count;
        if (sequences.IsEmpty) throw new ArgumentException("a batch of sequences needs at least one", nameof(sequences));
        if (n > ForwardBatch.MaxRows) throw new ArgumentException($"a batch of sequences holds at most {ForwardBatch.MaxRows} rows, not {n}");
        if (!batch.Embeddings.IsEmpty || !batch.Features.IsEmpty || !batch.Mask.IsEmpty || !batch.HiddenLayers.IsEmpty || batch.FirstLayer != 0 || batch.Layers != 0)
            throw new ArgumentException("a batch of sequences takes tokens, positions, parents and logit rows only");
        if (batch.LogitRows.Length < sequences.Length) throw new ArgumentException("every sequence of the batch needs a logit row");
        int at = 0, o = 0;
        for (int s = 0; s < sequences.Length; s++)
        {
            var seq = sequences[s];
            if (seq.Start != at || seq.Count < 1) throw new ArgumentException($"sequence {s} holds rows {seq.Start}..{seq.Start + seq.Count - 1}; the sequences must split the batch's rows in order");
            for (int t = 0; t < s; t++)
                if (ReferenceEquals(sequences[t].Cache, seq.Cache)) throw new ArgumentException($"sequences {t} and {s} share a cache");
            if (seq.Cache.Length + seq.Count > seq.Cache.Capacity)
                throw new ArgumentException($"the KV cache of sequence {s} holds {seq.Cache.Length} of {seq.Cache.Capacity} rows: no room for {seq.Count} more");
            if (!batch.Parents.IsEmpty)
                for (int i = 0; i < seq.Count; i++)
                    if (batch.Parents[at + i] < -1 || batch.Parents[at + i] >= i)
                        throw new ArgumentException($"parent {batch.Parents[at + i]} of row {i} of sequence {s} is not an earlier row of it or -1");
            int first = o;
            for (; o < batch.LogitRows.Length && batch.LogitRows[o] >= at && batch.LogitRows[o] < at + seq.Count; o++) { }
            if (o == first) throw new ArgumentException($"sequence {s} has no logit row, or the logit rows are not in sequence order");
            at += seq.Count;
        }
        if (at != n) throw new ArgumentException($"the sequences hold {at} rows of the batch's {n}");
        if (o != batch.LogitRows.Length) throw new ArgumentException("the logit rows are not grouped by sequence in sequence order");
        // The rest as for one sequence, over the whole batch: tokens, positions, logits room. Its tree rule on parents
        // (parent < row) holds, as each sequence's parents count from its first row.
        return Validate(batch with { Parents = default }, config, 0, int.MaxValue, logitsLength);
    }

    /// <summary>
    /// Rows [c0, c0 + rows) of the batch as visibility bits over the chunk: bit j of visible[i] means chunk row i
    /// sees chunk row j (itself always): the Mask as given, a row's parent's bits plus its own, or a causal prefix.
    /// </summary>
    public static void Visibility(in ForwardBatch batch, int c0, int rows, Span<ulong> visible)
    {
        for (int i = 0; i < rows; i++)
        {
            if (!batch.Mask.IsEmpty)
            {
                visible[i] = batch.Mask[i];
                continue;
            }
            int parent = batch.Parents.IsEmpty ? i - 1 : batch.Parents[c0 + i];
            visible[i] = (1UL << i) | (parent >= 0 ? visible[parent] : 0);
        }
    }

    /// <summary>Checks <see cref="IKvCache.Rollback"/>'s argument against the cache's <paramref name="length"/>.</summary>
    public static void CheckRollback(int target, int length)
    {
        if (target < 0 || target > length)
            throw new ArgumentOutOfRangeException("length", target, $"rollback length must be in 0..{length}");
    }

    /// <summary>Checks <see cref="IKvCache.Restart"/>'s argument against the cache's <paramref name="capacity"/>.</summary>
    public static void CheckRestart(int limit, int capacity)
    {
        if (limit < 1 || limit > capacity)
            throw new ArgumentOutOfRangeException(nameof(limit), limit, $"a sequence's limit must be in 1..{capacity}");
    }

    /// <summary>Checks <see cref="IKvCache.KeepRows"/>'s arguments against the cache's <paramref name="length"/>.</summary>
    public static void CheckKeepRows(int start, ReadOnlySpan<int> rows, int length)
    {
        if (start < 0 || start > length) throw new ArgumentOutOfRangeException(nameof(start), start, $"start must be in 0..{length}");
        for (int j = 0; j < rows.Length; j++)
        {
            if (rows[j] < start || rows[j] >= length)
                throw new ArgumentOutOfRangeException(nameof(rows), rows[j], $"row {rows[j]} is outside {start}..{length - 1}");
            if (j > 0 && rows[j] <= rows[j - 1])
                throw new ArgumentException($"rows must be strictly ascending ({rows[j - 1]} then {rows[j]})", nameof(rows));
        }
    }
}
