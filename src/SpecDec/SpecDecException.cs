namespace SpecDec;

/// <summary>
/// A problem the user can fix: a bad model file, a wrong option, a mismatched draft. The message names the
/// file, field or request at fault; surfaces print it without a stack trace.
/// </summary>
public class SpecDecException : Exception
{
    public SpecDecException(string message) : base(message) { }
    public SpecDecException(string message, Exception inner) : base(message, inner) { }
}
