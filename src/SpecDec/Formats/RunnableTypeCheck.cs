using SpecDec.Tensors;

namespace SpecDec.Formats;

/// <summary>Refuses a model file whose tensors include a type outside <see cref="RunnableTypes"/>, naming it.</summary>
internal static class RunnableTypeCheck
{
    public static void Check(IEnumerable<WeightTensor> tensors, string path)
    {
        foreach (WeightTensor t in tensors)
        {
            if (!RunnableTypes.Contains(t.Type))
                throw new ModelFormatException(path,
                    $"tensor {t.Name} has type {t.Type}, which this version cannot run yet (it runs {string.Join(", ", RunnableTypes.Types)})");
        }
    }
}
