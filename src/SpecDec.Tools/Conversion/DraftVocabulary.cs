using SpecDec.Tokenization;

namespace SpecDec.Tools.Conversion;

/// <summary>
/// EAGLE-3's reduced draft vocabulary (Li et al. 2025; its d2t): the <c>size</c> tokens most frequent in text like
/// what the target writes, so that a draft head's logits need only those rows of the output head. Each text file
/// counts equally (its token counts divided by its length), so one large part (code, say) does not crowd out the
/// others' tokens. Ties go to the lower id; the ids come back ascending, as EAGLE-3's d2t lists them.
/// </summary>
public static class DraftVocabulary
{
    /// <param name="files">UTF-8 text files (the model's training text, never held-out or benchmark text); control-token texts in them are read as those tokens.</param>
    public static int[] FromText(ITokenizer tokenizer, int vocabSize, IReadOnlyList<string> files, int size)
    {
        if (size < 1 || size > vocabSize) throw new SpecDecException($"a draft vocabulary of {size} tokens: choose 1 to {vocabSize}");
        if (files.Count == 0) throw new SpecDecException("a draft vocabulary needs at least one text file to count tokens in");
        var share = new double[vocabSize];
        var counts = new long[vocabSize];
        foreach (string file in files)
        {
            if (!File.Exists(file)) throw new SpecDecException($"{file}: no such text file");
            int[] tokens = tokenizer.Encode(File.ReadAllText(file), addSpecial: false, parseSpecial: true);
            if (tokens.Length == 0) throw new SpecDecException($"{file}: no tokens to count");
            Array.Clear(counts);
            foreach (int t in tokens)
                if ((uint)t < (uint)vocabSize) counts[t]++;
            for (int t = 0; t < vocabSize; t++) share[t] += (double)counts[t] / tokens.Length;
        }
        int[] byShare = Enumerable.Range(0, vocabSize).OrderByDescending(t => share[t]).ThenBy(t => t).Take(size).ToArray();
        Array.Sort(byShare);
        return byShare;
    }
}
