using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace SpecDec.Tests.Fuzzing;

/// <summary>
/// Structural mutations of a JSON document (drop, duplicate or retype a field, huge, negative and fractional
/// numbers, odd strings, deep nesting) and textual ones (truncation, byte mutations), each returning the UTF-8
/// bytes, which byte mutations may leave invalid.
/// </summary>
internal static class JsonMutator
{
    private static readonly string[] Replacements =
    [
        "null", "true", "\"\"", "\"x\"", "[]", "{}", "0", "-1", "-2147483648", "2147483648", "9223372036854775807",
        "18446744073709551616", "1e308", "1e400", "-1e400", "1.5", "-0.0", "\"\\u0000\"", "[null]", "[-1]", "{\"x\":1}",
        "\"" + new string('a', 5000) + "\"", new string('[', 300) + new string(']', 300),
    ];

    public static byte[] Mutate(JsonNode seed, Random random)
    {
        JsonNode root = seed.DeepClone();
        var nodes = new List<JsonNode>();
        Collect(root, nodes);
        JsonNode target = nodes[random.Next(nodes.Count)];
        switch (random.Next(5))
        {
            case 0: // drop the field or element
                if (target.Parent is JsonObject o) o.Remove(target.GetPropertyName());
                else if (target.Parent is JsonArray a) a.RemoveAt(target.GetElementIndex());
                return Encoding.UTF8.GetBytes(root.ToJsonString());
            case 1: // the same field twice, the second with another value
                return Write(root, target, Replacement(random));
            case 2: // another type or an extreme value in its place
                return target.Parent is null ? Encoding.UTF8.GetBytes(Replacement(random)) : Replace(root, target, Replacement(random));
            case 3: // cut short, maybe inside a multi-byte character
            {
                byte[] text = Encoding.UTF8.GetBytes(root.ToJsonString());
                return text[..random.Next(text.Length)];
            }
            default:
            {
                byte[] text = Encoding.UTF8.GetBytes(root.ToJsonString());
                return ByteMutator.Mutate(text, random, text.Length);
            }
        }
    }

    private static string Replacement(Random random) => Replacements[random.Next(Replacements.Length)];

    private static void Collect(JsonNode? node, List<JsonNode> into)
    {
        if (node is null) return;
        into.Add(node);
        if (node is JsonObject o) foreach (var p in o) Collect(p.Value, into);
        else if (node is JsonArray a) foreach (JsonNode? e in a) Collect(e, into);
    }

    /// <summary>The text with <paramref name="target"/> replaced by raw JSON (which may be deeper than JsonNode allows).</summary>
    private static byte[] Replace(JsonNode root, JsonNode target, string json) => Write(root, target, json, duplicate: false);

    /// <summary>
    /// Writes the tree; where <paramref name="target"/> is, writes <paramref name="json"/> instead, or (duplicate)
    /// as well, under the same property name. Utf8JsonWriter allows both, unlike JsonObject.
    /// </summary>
    private static byte[] Write(JsonNode root, JsonNode target, string json, bool duplicate = true)
    {
        var buffer = new MemoryStream();
        using (var writer = new Utf8JsonWriter(buffer, new JsonWriterOptions { SkipValidation = true }))
            WriteNode(writer, root, target, json, duplicate);
        return buffer.ToArray();
    }

    private static void WriteNode(Utf8JsonWriter writer, JsonNode? node, JsonNode target, string json, bool duplicate)
    {
        if (ReferenceEquals(node, target) && !duplicate)
        {
            writer.WriteRawValue(json, skipInputValidation: true);
            return;
        }
        switch (node)
        {
            case JsonObject o:
                writer.WriteStartObject();
                foreach (var p in o)
                {
                    writer.WritePropertyName(p.Key);
                    WriteNode(writer, p.Value, target, json, duplicate);
                    if (!duplicate || !ReferenceEquals(p.Value, target)) continue;
                    writer.WritePropertyName(p.Key);
                    writer.WriteRawValue(json, skipInputValidation: true);
                }
                writer.WriteEndObject();
                break;
            case JsonArray a:
                writer.WriteStartArray();
                foreach (JsonNode? e in a) WriteNode(writer, e, target, json, duplicate);
                writer.WriteEndArray();
                break;
            case null:
                writer.WriteNullValue();
                break;
            default:
                node.WriteTo(writer);
                break;
        }
    }
}
