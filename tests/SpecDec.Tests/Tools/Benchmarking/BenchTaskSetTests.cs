using SpecDec.Tools.Benchmarking;

namespace SpecDec.Tests.Tools.Benchmarking;

public class BenchTaskSetTests
{
    private static readonly Lazy<BenchTaskSet> Shipped = new(() => BenchTaskSet.Load(RepoPaths.Tasks));

    [Fact]
    public void TheShippedTaskSetHasTenCategoriesInSpecBenchOrder()
    {
        var set = Shipped.Value;
        Assert.Equal(
            ["multi_turn", "translation", "summarization", "qa", "math_reasoning", "rag",
             "code_completion", "code_edit", "prose_continuation", "multilingual_continuation"],
            set.Categories);
        Assert.Equal(812, set.Items.Count);
        Assert.Equal(80, set.Items.Count(i => i.Category == "multi_turn"));
        Assert.All(set.Items.Where(i => i.Category == "multi_turn"), i => Assert.InRange(i.Turns.Count, 3, 4));
        // Continuation items are plain text; chat items start with the user tag.
        Assert.All(set.Items.Where(i => i.Category.EndsWith("_continuation") || i.Category == "code_completion"),
            i => Assert.Empty(i.Turns));
        Assert.All(set.Items.Where(i => i.Turns.Count > 0), i => Assert.StartsWith("<|user|>\n", i.Prompt));
    }

    [Fact]
    public void SelectTakesTheFirstItemsOfTheNamedCategories()
    {
        var picked = Shipped.Value.Select(["rag", "multi_turn"], 2);
        Assert.Equal(["multi_turn-0000", "multi_turn-0001", "rag-0000", "rag-0001"], picked.Select(i => i.Id));
        Assert.Equal(812, Shipped.Value.Select([], null).Count);
        var e = Assert.Throws<SpecDecException>(() => Shipped.Value.Select(["poetry"], 1));
        Assert.Contains("unknown category 'poetry'", e.Message);
        Assert.Throws<SpecDecException>(() => Shipped.Value.Select([], 0));
    }

    [Fact]
    public void ABadLineIsNamedByFileAndLine()
    {
        string dir = Directory.CreateTempSubdirectory("specdec-tasks-").FullName;
        try
        {
            string file = Path.Combine(dir, "qa.jsonl");
            File.WriteAllLines(file,
            [
                """{"id": "qa-1", "category": "qa", "source": "s", "prompt": "<|user|>\nWhy?\n<|assistant|>\n", "turns": ["Why?"]}""",
                """{"id": "qa-2", "category": "qa", "source": "s"}""",
            ]);
            var e = Assert.Throws<SpecDecException>(() => BenchTaskSet.Load(dir));
            Assert.Contains($"{file}:2", e.Message);
            Assert.Contains("'prompt'", e.Message);

            File.WriteAllLines(file, ["""{"id": "qa-1", "category": "qa", "prompt": "Why?", "turns": ["Why?"]}"""]);
            e = Assert.Throws<SpecDecException>(() => BenchTaskSet.Load(dir));
            Assert.Contains("not its first turn in the chat format", e.Message);

            File.WriteAllLines(file, ["{not json"]);
            Assert.Contains($"{file}:1: not valid JSON", Assert.Throws<SpecDecException>(() => BenchTaskSet.Load(dir)).Message);
        }
        finally
        {
            Directory.Delete(dir, true);
        }
    }

    [Fact]
    public void RepeatedIdsAreRefused()
    {
        var item = new BenchItem("a", "x", "", "text", []);
        Assert.Contains("two items with id 'a'", Assert.Throws<SpecDecException>(() => BenchTaskSet.FromItems([item, item])).Message);
    }
}
