namespace SpecDec.Tokenization;

/// <summary>A binary min-heap over caller-owned storage (stack or pooled), so merging allocates nothing.</summary>
internal static class MinHeap
{
    public static void Push<T>(Span<T> heap, ref int count, T item) where T : struct, IComparable<T>
    {
        int i = count++;
        while (i > 0)
        {
            int parent = (i - 1) >> 1;
            if (heap[parent].CompareTo(item) <= 0) break;
            heap[i] = heap[parent];
            i = parent;
        }
        heap[i] = item;
    }

    public static T Pop<T>(Span<T> heap, ref int count) where T : struct, IComparable<T>
    {
        T top = heap[0];
        T last = heap[--count];
        int i = 0;
        while (true)
        {
            int child = 2 * i + 1;
            if (child >= count) break;
            if (child + 1 < count && heap[child + 1].CompareTo(heap[child]) < 0) child++;
            if (last.CompareTo(heap[child]) <= 0) break;
            heap[i] = heap[child];
            i = child;
        }
        if (count > 0) heap[i] = last;
        return top;
    }
}
