using System.Globalization;

namespace SpecDec.Tools.Benchmarking;

/// <summary>
/// The first place where a method's output differs from the baseline's on one item: turn (1-based), index of
/// the first differing token within that turn's output, and the two ids there (null where one output has
/// already ended).
/// </summary>
public sealed record LosslessMismatch(string ItemId, string Category, string Method, int Run, int Turn, int TokenIndex,
    int? BaselineToken, int? MethodToken)
{
    public override string ToString() => string.Create(CultureInfo.InvariantCulture,
        $"{ItemId} ({Category}), method {Method}, run {Run}, turn {Turn}: first difference at token {TokenIndex}: baseline {Show(BaselineToken)}, {Method} {Show(MethodToken)}");

    private static string Show(int? token) => token is int t ? t.ToString(CultureInfo.InvariantCulture) : "(ended)";
}
