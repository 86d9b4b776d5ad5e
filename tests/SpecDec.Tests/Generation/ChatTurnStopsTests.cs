using SpecDec.Generation;
using SpecDec.Sampling;
using SpecDec.Speculation;

namespace SpecDec.Tests.Generation;

/// <summary>
/// A prompt written in the chat template's format ends its answer at the template's turn markers, for every
/// method at the same token; other prompts, and tokenizers without a template, keep the tokenizer's stop ids.
/// </summary>
public class ChatTurnStopsTests
{
    private const int V = 12;
    private const int Marker = 3;   // "d": made the chat template's user marker below
    private const string Template = "{% for m in messages %}<|user|>\n{{ m['content'] }}{% endfor %}";
    private static readonly int[] ChatPrompt = [0, Marker, 1, 2];   // a, <|user|>, b, c

    private static readonly TestTokenizer Plain = new(V);
    private static readonly TestTokenizer Chat = new TestTokenizer(V) { ChatTemplate = Template, ControlIds = new HashSet<int> { Marker } }
        .WithToken(Marker, "<|user|>");

    private static readonly SpeculationOptions[] Methods =
    [
        SpeculationOptions.None,
        new() { Method = SpeculationMethods.DraftModel, DraftMin = 4, DraftMax = 4, DraftPMin = 0 },
        new() { Method = SpeculationMethods.PromptLookup, NgramMin = 1, NgramMax = 3 },
    ];

    private static GenerationResult Run(TestTokenizer tokenizer, int[] prompt, SpeculationOptions speculation)
    {
        var target = new NGramTestModel(tokenizer, seed: 3);
        var draft = new NGramTestModel(tokenizer, seed: 3, noiseSeed: 7, noiseScale: 1f);
        return new Generator(target, draft).Generate(prompt, new GenerationOptions
        {
            MaxTokens = 40, Sampling = SamplingOptions.Greedy, Speculation = speculation,
        });
    }

    [Fact]
    public void EveryMethodEndsAChatAnswerJustBeforeTheNextTurnMarker()
    {
        // The model's own continuation (same ids; the plain tokenizer has no template) writes the marker.
        var free = Run(Plain, ChatPrompt, SpeculationOptions.None);
        int at = free.Tokens.ToList().IndexOf(Marker);
        Assert.InRange(at, 1, 38);

        foreach (var speculation in Methods)
        {
            var result = Run(Chat, ChatPrompt, speculation);
            Assert.Equal(FinishReason.StopToken, result.FinishReason);
            Assert.Equal(free.Tokens.Take(at), result.Tokens);
            Assert.Equal(Plain.Decode(free.Tokens.Take(at).ToArray()), result.Text);
        }
    }

    [Fact]
    public void APromptWithoutTheMarkerIsNoChatAndRunsOnPastIt()
    {
        int[] prompt = [0, 1, 2];
        var free = Run(Plain, prompt, SpeculationOptions.None);
        Assert.Contains(Marker, free.Tokens);
        foreach (var speculation in Methods)
            Assert.Equal(free.Tokens, Run(Chat, prompt, speculation).Tokens);
    }

    [Fact]
    public void AControlTokenTheTemplateDoesNotWriteIsNoMarker()
    {
        var markers = new HashSet<int> { Marker };
        var noTemplate = new TestTokenizer(V) { ControlIds = markers }.WithToken(Marker, "<|user|>");
        var notInTemplate = new TestTokenizer(V) { ChatTemplate = Template, ControlIds = markers }.WithToken(Marker, "<|tool|>");
        var free = Run(Plain, ChatPrompt, SpeculationOptions.None);
        Assert.Contains(Marker, free.Tokens);
        Assert.Equal(free.Tokens, Run(noTemplate, ChatPrompt, SpeculationOptions.None).Tokens);
        Assert.Equal(free.Tokens, Run(notInTemplate, ChatPrompt, SpeculationOptions.None).Tokens);
    }
}
