namespace SpecDec.Tests.Server;

/// <summary>
/// A test that drives Debian's Chromium (apt package <c>chromium</c>, which .ci/run installs) through Playwright:
/// skipped on a developer's machine without it, never in CI (CI=true), where the test fails on its absence instead.
/// Playwright's own browser downloads are not used: the machines reach no site but the package registries.
/// </summary>
public sealed class ChromiumFactAttribute : FactAttribute
{
    public ChromiumFactAttribute()
    {
        if (Chromium.Path is null && !Chromium.InCi) Skip = $"chromium is not installed (apt-get install chromium, or set {Chromium.Variable}); CI installs it";
    }
}

public static class Chromium
{
    public const string Variable = "SPECDEC_CHROMIUM";

    public static bool InCi => string.Equals(Environment.GetEnvironmentVariable("CI"), "true", StringComparison.OrdinalIgnoreCase);

    /// <summary>The browser: $SPECDEC_CHROMIUM, else Debian's binary; null when neither exists.</summary>
    public static string? Path =>
        new[] { Environment.GetEnvironmentVariable(Variable), "/usr/bin/chromium" }.FirstOrDefault(p => !string.IsNullOrEmpty(p) && File.Exists(p));
}
