namespace SpecDec.Model;

/// <summary>
/// A model whose output head can be read a row at a time, as f32: what an EAGLE head with a reduced draft
/// vocabulary uses to score the tokens of its own context that lie outside that vocabulary (the target's rows).
/// </summary>
public interface IOutputHeadRows
{
    /// <summary>Writes token <paramref name="token"/>'s row of the output head [HiddenSize] into <paramref name="row"/>.</summary>
    void OutputHeadRow(int token, Span<float> row);
}
