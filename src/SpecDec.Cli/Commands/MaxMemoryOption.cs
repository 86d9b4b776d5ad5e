using System.CommandLine;
using System.Globalization;

namespace SpecDec.Cli.Commands;

/// <summary>`--max-memory SIZE` (bytes, or with K, M, G or T, powers of 1024): the most a request's KV caches may take.</summary>
internal static class MaxMemoryOption
{
    public static Option<string?> Create()
    {
        var option = new Option<string?>("--max-memory")
        {
            Description = "Most memory the request's KV caches may grow to, e.g. 512M or 8G (default: what the machine has left); a longer request is refused before it starts",
        };
        option.Validators.Add(result =>
        {
            string? value = result.GetValueOrDefault<string?>();
            if (value is not null && Parse(value) is null)
                result.AddError($"--max-memory must be a positive size such as 800M or 8G, not '{value}'");
        });
        return option;
    }

    /// <summary>Bytes, or null when <paramref name="value"/> is not a positive size.</summary>
    public static long? Parse(string? value)
    {
        if (string.IsNullOrWhiteSpace(value)) return null;
        value = value.Trim();
        int shift = char.ToUpperInvariant(value[^1]) switch { 'K' => 10, 'M' => 20, 'G' => 30, 'T' => 40, _ => 0 };
        string number = shift == 0 ? value : value[..^1];
        if (!double.TryParse(number, NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out double amount)) return null;
        double bytes = amount * Math.Pow(2, shift);
        return bytes >= 1 && bytes < long.MaxValue ? (long)bytes : null;
    }
}
