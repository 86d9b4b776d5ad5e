using System.Globalization;
using System.Text;

namespace SpecDec.Templates;

internal enum TokenKind { Text, VarOpen, VarClose, BlockOpen, BlockClose, Name, String, Integer, Float, Operator, End }

internal readonly record struct Token(TokenKind Kind, string Value, int Line);

/// <summary>
/// Splits a Jinja template into text and the tokens of its tags, with Hugging Face's whitespace settings
/// (trim_blocks: the newline after a block or comment tag is dropped; lstrip_blocks: spaces and tabs from the
/// start of a line to a block or comment tag are dropped) and the tag modifiers (<c>{%-</c>/<c>-%}</c> strip all
/// whitespace on that side, <c>{%+</c>/<c>+%}</c> turn the block settings off for that side).
/// </summary>
internal sealed class TemplateLexer
{
    private readonly int[] _newlines; // positions of '\n', for line numbers in messages

    private TemplateLexer(string source)
    {
        var newlines = new List<int>();
        for (int i = source.IndexOf('\n'); i >= 0; i = source.IndexOf('\n', i + 1)) newlines.Add(i);
        _newlines = newlines.ToArray();
    }

    private static readonly string[] Operators = ["**", "//", "==", "!=", "<=", ">=", "+", "-", "*", "/", "%", "~", "<", ">", "=", "(", ")", "[", "]", "{", "}", ".", ",", ":", "|"];

    public static List<Token> Tokenize(string source) => new TemplateLexer(source).Run(source);

    private List<Token> Run(string source)
    {
        var tokens = new List<Token>();
        int pos = 0;
        bool stripNext = false, trimNewline = false;
        while (pos <= source.Length)
        {
            int open = FindOpen(source, pos);
            int end = open < 0 ? source.Length : open;
            int textStart = pos;
            if (stripNext) while (textStart < end && char.IsWhiteSpace(source[textStart])) textStart++;
            else if (trimNewline)
            {
                if (textStart < end && source[textStart] == '\n') textStart++;
                else if (textStart + 1 < end && source[textStart] == '\r' && source[textStart + 1] == '\n') textStart += 2;
            }
            int textEnd = end;
            if (open >= 0)
            {
                char kind = source[open + 1];
                char modifier = open + 2 < source.Length ? source[open + 2] : '\0';
                if (modifier == '-') while (textEnd > textStart && char.IsWhiteSpace(source[textEnd - 1])) textEnd--;
                else if (kind != '{' && modifier != '+')
                {
                    // lstrip_blocks: only whitespace between the start of the line and the tag.
                    int lineStart = textEnd;
                    while (lineStart > 0 && source[lineStart - 1] is ' ' or '\t') lineStart--;
                    if ((lineStart == 0 || source[lineStart - 1] == '\n') && lineStart >= textStart) textEnd = lineStart;
                }
            }
            if (textEnd > textStart) tokens.Add(new Token(TokenKind.Text, source[textStart..textEnd], LineOf(source, textStart)));
            if (open < 0) break;

            char tag = source[open + 1];
            int inner = open + 2;
            if (inner < source.Length && source[inner] is '-' or '+') inner++;
            if (tag == '#')
            {
                int close = source.IndexOf("#}", inner, StringComparison.Ordinal);
                if (close < 0) throw new TemplateException($"line {LineOf(source, open)}: a comment {{# is never closed");
                stripNext = source[close - 1] == '-';
                trimNewline = source[close - 1] != '+';
                pos = close + 2;
                continue;
            }
            if (tag == '%' && TryRaw(source, open, inner, tokens, out int after))
            {
                pos = after;
                stripNext = false;
                trimNewline = true;
                continue;
            }
            tokens.Add(new Token(tag == '{' ? TokenKind.VarOpen : TokenKind.BlockOpen, "", LineOf(source, open)));
            pos = LexTag(source, inner, tag == '{' ? '}' : '%', tokens, out char closeModifier);
            stripNext = closeModifier == '-';
            trimNewline = tag == '%' && closeModifier != '+';
        }
        tokens.Add(new Token(TokenKind.End, "", LineOf(source, source.Length)));
        return tokens;
    }

    private static int FindOpen(string source, int from)
    {
        for (int i = source.IndexOf('{', from); i >= 0 && i + 1 < source.Length; i = source.IndexOf('{', i + 1))
            if (source[i + 1] is '{' or '%' or '#') return i;
        return -1;
    }

    /// <summary><c>{% raw %}…{% endraw %}</c>: the text between is output as written.</summary>
    private bool TryRaw(string source, int open, int inner, List<Token> tokens, out int after)
    {
        after = 0;
        int i = inner;
        while (i < source.Length && char.IsWhiteSpace(source[i])) i++;
        if (string.CompareOrdinal(source, i, "raw", 0, 3) != 0) return false;
        int close = source.IndexOf("%}", i, StringComparison.Ordinal);
        if (close < 0 || source[(i + 3)..close].Trim('-', '+', ' ', '\t', '\n', '\r').Length != 0) return false;
        int endRaw = source.IndexOf("endraw", close, StringComparison.Ordinal);
        int endOpen = endRaw < 0 ? -1 : source.LastIndexOf("{%", endRaw, StringComparison.Ordinal);
        int endClose = endRaw < 0 ? -1 : source.IndexOf("%}", endRaw, StringComparison.Ordinal);
        if (endOpen < 0 || endClose < 0) throw new TemplateException($"line {LineOf(source, open)}: {{% raw %}} is never closed by {{% endraw %}}");
        tokens.Add(new Token(TokenKind.Text, source[(close + 2)..endOpen], LineOf(source, close)));
        after = endClose + 2;
        return true;
    }

    /// <summary>Tokens of one tag up to its close (<c>}}</c> or <c>%}</c>); returns the position after it.</summary>
    private int LexTag(string source, int pos, char closeChar, List<Token> tokens, out char modifier)
    {
        while (true)
        {
            while (pos < source.Length && char.IsWhiteSpace(source[pos])) pos++;
            int line = LineOf(source, pos);
            if (pos >= source.Length) throw new TemplateException($"line {line}: a tag is never closed");
            char c = source[pos];
            modifier = '\0';
            if (c is '-' or '+' && At(source, pos + 1, closeChar)) { modifier = c; pos++; c = source[pos]; }
            if (At(source, pos, closeChar))
            {
                tokens.Add(new Token(closeChar == '}' ? TokenKind.VarClose : TokenKind.BlockClose, "", line));
                return pos + 2;
            }
            if (char.IsLetter(c) || c == '_')
            {
                int start = pos;
                while (pos < source.Length && (char.IsLetterOrDigit(source[pos]) || source[pos] == '_')) pos++;
                tokens.Add(new Token(TokenKind.Name, source[start..pos], line));
            }
            else if (char.IsDigit(c))
            {
                int start = pos;
                while (pos < source.Length && (char.IsDigit(source[pos]) || source[pos] == '_')) pos++;
                bool isFloat = false;
                if (pos + 1 < source.Length && source[pos] == '.' && char.IsDigit(source[pos + 1]))
                {
                    isFloat = true;
                    pos++;
                    while (pos < source.Length && char.IsDigit(source[pos])) pos++;
                }
                if (pos < source.Length && source[pos] is 'e' or 'E')
                {
                    isFloat = true;
                    pos++;
                    if (pos < source.Length && source[pos] is '+' or '-') pos++;
                    while (pos < source.Length && char.IsDigit(source[pos])) pos++;
                }
                tokens.Add(new Token(isFloat ? TokenKind.Float : TokenKind.Integer, source[start..pos].Replace("_", ""), line));
            }
            else if (c is '\'' or '"') pos = LexString(source, pos, tokens, line);
            else
            {
                string? op = Operators.FirstOrDefault(o => string.CompareOrdinal(source, pos, o, 0, o.Length) == 0);
                if (op is null) throw new TemplateException($"line {line}: unexpected character '{c}' in a tag");
                tokens.Add(new Token(TokenKind.Operator, op, line));
                pos += op.Length;
            }
        }
    }

    private static bool At(string source, int pos, char closeChar) =>
        pos + 1 < source.Length && source[pos] == closeChar && source[pos + 1] == '}';

    private int LexString(string source, int pos, List<Token> tokens, int line)
    {
        char quote = source[pos++];
        var text = new StringBuilder();
        while (true)
        {
            if (pos >= source.Length) throw new TemplateException($"line {line}: a string is never closed");
            char c = source[pos++];
            if (c == quote) break;
            if (c != '\\' || pos >= source.Length)
            {
                text.Append(c);
                continue;
            }
            char e = source[pos++];
            switch (e)
            {
                case 'n': text.Append('\n'); break;
                case 't': text.Append('\t'); break;
                case 'r': text.Append('\r'); break;
                case 'b': text.Append('\b'); break;
                case 'f': text.Append('\f'); break;
                case '0': text.Append('\0'); break;
                case '\\' or '\'' or '"': text.Append(e); break;
                case '\n': break;
                case 'u' when pos + 4 <= source.Length:
                    text.Append((char)int.Parse(source.AsSpan(pos, 4), NumberStyles.HexNumber, CultureInfo.InvariantCulture));
                    pos += 4;
                    break;
                case 'x' when pos + 2 <= source.Length:
                    text.Append((char)int.Parse(source.AsSpan(pos, 2), NumberStyles.HexNumber, CultureInfo.InvariantCulture));
                    pos += 2;
                    break;
                default: text.Append('\\').Append(e); break; // Python keeps unknown escapes as written
            }
        }
        tokens.Add(new Token(TokenKind.String, text.ToString(), line));
        return pos;
    }

    /// <summary>1-based line of <paramref name="pos"/>: one more than the newlines before it.</summary>
    private int LineOf(string source, int pos)
    {
        int index = Array.BinarySearch(_newlines, Math.Min(pos, source.Length));
        return (index >= 0 ? index : ~index) + 1;
    }
}
