using SpecDec.Speculation;

namespace SpecDec.Cli;

/// <summary>
/// The --tree-nodes/--tree-depth/--tree-topk options over a method's defaults: for a method that sizes its
/// tree (eagle, medusa) each one given is fixed and the rest still chosen for the machine; a depth also fixes the
/// draft length. For the others --tree-nodes is the tree's budget, as before.
/// </summary>
public static class TreeOptions
{
    public static SpeculationOptions Apply(SpeculationOptions options, int? nodes, int? depth, int? topK)
    {
        if ((depth is not null || topK is not null) && !options.SizeTree)
            throw new SpecDecException($"--tree-depth and --tree-topk apply to eagle and medusa, not to --spec {options.Method}");
        return options with
        {
            TreeNodes = nodes ?? options.TreeNodes,
            SizeTree = options.SizeTree && nodes is null,
            TreeDepth = depth,
            TreeTopK = topK,
            DraftMax = depth ?? options.DraftMax,
            DraftMin = depth ?? options.DraftMin,
        };
    }
}
