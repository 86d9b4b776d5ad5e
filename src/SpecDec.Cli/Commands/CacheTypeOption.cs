using System.CommandLine;
using SpecDec.Model;

namespace SpecDec.Cli.Commands;

/// <summary>`--cache-type f32|f16`: the KV cache's element type, shared by the commands that run models.</summary>
internal static class CacheTypeOption
{
    public static Option<string> Create()
    {
        var option = new Option<string>("--cache-type")
        {
            Description = "KV cache element type: f32, or f16 (half the cache memory and the bytes attention reads per token; keys and values rounded to half precision)",
            DefaultValueFactory = _ => "f32",
        };
        // A validator rather than AcceptOnlyFromAmong, whose message does not name the option.
        option.Validators.Add(result =>
        {
            string? value = result.GetValueOrDefault<string>();
            if (value is not ("f32" or "f16")) result.AddError($"--cache-type must be f32 or f16, not '{value}'");
        });
        return option;
    }

    public static KvCacheType Parse(string? value) => value == "f16" ? KvCacheType.F16 : KvCacheType.F32;
}
