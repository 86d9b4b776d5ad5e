using System.Globalization;
using System.Security;
using System.Text;

namespace SpecDec.Tools.Benchmarking;

/// <summary>
/// speedup.svg: grouped bars of speedup per category (one group per category plus overall, one bar per
/// non-baseline method), a y axis with grid lines, a dashed line at the baseline's 1.0×, a legend, and
/// each bar's value above it. Plain SVG 1.1 that any browser or Markdown viewer renders.
/// </summary>
public static class SpeedupChart
{
    private static readonly CultureInfo C = CultureInfo.InvariantCulture;

    // Okabe–Ito: distinguishable with colour-blindness, and in greyscale by lightness.
    private static readonly string[] Palette = ["#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#F0E442", "#000000"];

    private const double BarWidth = 16, GroupGap = 18, Left = 64, Right = 24, Top = 78, PlotHeight = 280, LabelSpace = 120;

    public static string Render(BenchSummary s)
    {
        var methods = s.Methods.Where(m => m.Name != BenchMethods.Baseline).Select(m => m.Name).ToArray();
        var groups = s.Categories.Append(BenchMetrics.Overall).ToArray();
        double groupWidth = Math.Max(1, methods.Length) * BarWidth + GroupGap;
        double plotWidth = Math.Max(groups.Length * groupWidth, 360);
        double width = Left + plotWidth + Right, height = Top + PlotHeight + LabelSpace;

        double max = 1;
        foreach (string m in methods)
            foreach (string g in groups)
                if (s.Find(m, g) is { } r) max = Math.Max(max, r.Speedup);
        double step = TickStep(max * 1.15);
        double top = Math.Ceiling(max * 1.15 / step) * step;
        double Y(double v) => Top + PlotHeight * (1 - v / top);

        var svg = new StringBuilder();
        svg.AppendLine(string.Create(C, $"<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{width:F0}\" height=\"{height:F0}\" viewBox=\"0 0 {width:F0} {height:F0}\" font-family=\"Helvetica, Arial, sans-serif\" font-size=\"12\">"));
        svg.AppendLine(string.Create(C, $"<rect width=\"{width:F0}\" height=\"{height:F0}\" fill=\"#ffffff\"/>"));
        string title = $"Speedup over {BenchMethods.Baseline} per category" + (s.Models.Count > 0 ? $" ({Path.GetFileName(s.Models[0].Path)})" : "");
        svg.AppendLine(string.Create(C, $"<text x=\"{Left:F0}\" y=\"24\" font-size=\"16\" font-weight=\"bold\">{Escape(title)}</text>"));

        // Legend: one swatch per method, in a row under the title.
        double lx = Left;
        for (int i = 0; i < methods.Length; i++)
        {
            svg.AppendLine(string.Create(C, $"<rect x=\"{lx:F1}\" y=\"38\" width=\"12\" height=\"12\" fill=\"{Palette[i % Palette.Length]}\"/>"));
            svg.AppendLine(string.Create(C, $"<text x=\"{lx + 16:F1}\" y=\"48\">{Escape(methods[i])}</text>"));
            lx += 28 + 7 * methods[i].Length;
        }

        // Y axis: grid lines and labels at every step.
        for (double v = 0; v <= top + step / 2; v += step)
        {
            double y = Y(v);
            svg.AppendLine(string.Create(C, $"<line x1=\"{Left:F1}\" y1=\"{y:F1}\" x2=\"{Left + plotWidth:F1}\" y2=\"{y:F1}\" stroke=\"#dddddd\"/>"));
            svg.AppendLine(string.Create(C, $"<text x=\"{Left - 6:F1}\" y=\"{y + 4:F1}\" text-anchor=\"end\">{v:0.##}×</text>"));
        }
        svg.AppendLine(string.Create(C, $"<text transform=\"translate(16 {Top + PlotHeight / 2:F1}) rotate(-90)\" text-anchor=\"middle\">speedup (tokens/s ÷ {BenchMethods.Baseline})</text>"));

        // Bars, value labels and category labels.
        for (int g = 0; g < groups.Length; g++)
        {
            double gx = Left + g * groupWidth + GroupGap / 2;
            for (int i = 0; i < methods.Length; i++)
            {
                if (s.Find(methods[i], groups[g]) is not { } r) continue;
                double x = gx + i * BarWidth, y = Y(r.Speedup);
                svg.AppendLine(string.Create(C, $"<rect x=\"{x:F1}\" y=\"{y:F1}\" width=\"{BarWidth - 2:F1}\" height=\"{Top + PlotHeight - y:F1}\" fill=\"{Palette[i % Palette.Length]}\"><title>{Escape(methods[i])}, {Escape(groups[g])}: {r.Speedup:F2}×, τ {r.Tau:F2}</title></rect>"));
                svg.AppendLine(string.Create(C, $"<text transform=\"translate({x + BarWidth / 2 + 3:F1} {y - 4:F1}) rotate(-90)\" font-size=\"10\">{r.Speedup:F2}</text>"));
            }
            double cx = gx + methods.Length * BarWidth / 2;
            string weight = groups[g] == BenchMetrics.Overall ? " font-weight=\"bold\"" : "";
            svg.AppendLine(string.Create(C, $"<text transform=\"translate({cx:F1} {Top + PlotHeight + 14:F1}) rotate(-35)\" text-anchor=\"end\"{weight}>{Escape(groups[g])}</text>"));
        }

        // The baseline at 1.0× and the x axis on top of the bars.
        svg.AppendLine(string.Create(C, $"<line x1=\"{Left:F1}\" y1=\"{Y(1):F1}\" x2=\"{Left + plotWidth:F1}\" y2=\"{Y(1):F1}\" stroke=\"#444444\" stroke-dasharray=\"6 4\"/>"));
        svg.AppendLine(string.Create(C, $"<text x=\"{Left + plotWidth - 4:F1}\" y=\"{Y(1) - 4:F1}\" text-anchor=\"end\" fill=\"#444444\">{BenchMethods.Baseline} = 1.0×</text>"));
        svg.AppendLine(string.Create(C, $"<line x1=\"{Left:F1}\" y1=\"{Top + PlotHeight:F1}\" x2=\"{Left + plotWidth:F1}\" y2=\"{Top + PlotHeight:F1}\" stroke=\"#000000\"/>"));
        svg.AppendLine(string.Create(C, $"<line x1=\"{Left:F1}\" y1=\"{Top:F1}\" x2=\"{Left:F1}\" y2=\"{Top + PlotHeight:F1}\" stroke=\"#000000\"/>"));
        svg.AppendLine("</svg>");
        return svg.ToString();
    }

    /// <summary>A round step (0.25, 0.5, 1, 2, 5, …) that cuts [0, max] into at most 8 intervals.</summary>
    private static double TickStep(double max)
    {
        foreach (double step in (ReadOnlySpan<double>)[0.25, 0.5, 1, 2, 5, 10, 20, 50])
            if (max / step <= 8) return step;
        return Math.Pow(10, Math.Ceiling(Math.Log10(max / 8)));
    }

    private static string Escape(string text) => SecurityElement.Escape(text);
}
