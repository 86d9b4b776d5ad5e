namespace SpecDec.Templates;

/// <summary>
/// A template that cannot be parsed or rendered: the message names the construct and its line, or is the
/// template's own message (<c>raise_exception</c>).
/// </summary>
public sealed class TemplateException(string message) : SpecDecException(message);
