using System.Globalization;

namespace SpecDec.Templates;

/// <summary>
/// Parses a token list into statements and expressions with Jinja's grammar and precedence: conditional
/// expressions, or, and, not, comparisons (and <c>in</c>), + and −, ~, * / // %, **, unary signs, then
/// primaries with their postfixes (attribute, subscript and slice, call) and filters and tests.
/// </summary>
internal sealed class TemplateParser
{
    private readonly List<Token> _tokens;
    private int _at;

    private TemplateParser(List<Token> tokens) => _tokens = tokens;

    public static List<Stmt> Parse(string source)
    {
        var parser = new TemplateParser(TemplateLexer.Tokenize(source));
        var body = parser.Body(out string? end);
        if (end is not null) throw new TemplateException($"line {parser.Peek.Line}: unexpected {{% {end} %}}");
        return body;
    }

    private Token Peek => _tokens[_at];
    private Token Next() => _tokens[_at++];

    private bool IsOp(string op) => Peek.Kind == TokenKind.Operator && Peek.Value == op;
    private bool IsName(string name) => Peek.Kind == TokenKind.Name && Peek.Value == name;

    private bool TakeOp(string op)
    {
        if (!IsOp(op)) return false;
        _at++;
        return true;
    }

    private bool TakeName(string name)
    {
        if (!IsName(name)) return false;
        _at++;
        return true;
    }

    private void ExpectOp(string op)
    {
        if (!TakeOp(op)) throw Error($"expected '{op}'");
    }

    private string ExpectName()
    {
        if (Peek.Kind != TokenKind.Name) throw Error("expected a name");
        return Next().Value;
    }

    private void Expect(TokenKind kind, string what)
    {
        if (Peek.Kind != kind) throw Error($"expected {what}");
        _at++;
    }

    private TemplateException Error(string message)
    {
        string found = Peek.Kind switch
        {
            TokenKind.End => "the end of the template",
            TokenKind.BlockClose => "'%}'",
            TokenKind.VarClose => "'}}'",
            TokenKind.Text => "text",
            _ => $"'{Peek.Value}'",
        };
        return new TemplateException($"line {Peek.Line}: {message}, found {found}");
    }

    /// <summary>Statements up to the next block tag this body does not own; <paramref name="end"/> names that tag (null at the end).</summary>
    private List<Stmt> Body(out string? end)
    {
        var body = new List<Stmt>();
        while (true)
        {
            var token = Next();
            switch (token.Kind)
            {
                case TokenKind.End:
                    _at--;
                    end = null;
                    return body;
                case TokenKind.Text:
                    body.Add(new TextStmt(token.Value, token.Line));
                    break;
                case TokenKind.VarOpen:
                    body.Add(new OutputStmt(Expression(), token.Line));
                    Expect(TokenKind.VarClose, "'}}'");
                    break;
                case TokenKind.BlockOpen:
                    string keyword = Peek.Kind == TokenKind.Name ? Peek.Value : throw Error("expected a statement name");
                    if (keyword is "elif" or "else" or "endif" or "endfor" or "endmacro" or "endset" or "endgeneration" or "endfilter" or "endcall")
                    {
                        _at++;
                        end = keyword;
                        return body;
                    }
                    _at++;
                    body.Add(Statement(keyword, token.Line));
                    break;
                default:
                    throw Error("unexpected token");
            }
        }
    }

    private List<Stmt> BodyUntil(string construct, int line, params string[] ends)
    {
        var body = Body(out string? end);
        if (end is null || !ends.Contains(end))
            throw new TemplateException($"line {line}: {{% {construct} %}} is not closed (expected {string.Join(" or ", ends.Select(e => $"{{% {e} %}}"))}, found {(end is null ? "the end of the template" : $"{{% {end} %}}")})");
        _lastEnd = end;
        return body;
    }

    private string? _lastEnd;

    private Stmt Statement(string keyword, int line)
    {
        switch (keyword)
        {
            case "if":
            {
                var branches = new List<(Expr?, List<Stmt>)>();
                var condition = Expression();
                Expect(TokenKind.BlockClose, "'%}'");
                while (true)
                {
                    var body = BodyUntil("if", line, "elif", "else", "endif");
                    branches.Add((condition, body));
                    if (_lastEnd == "endif") break;
                    if (_lastEnd == "else")
                    {
                        Expect(TokenKind.BlockClose, "'%}'");
                        branches.Add((null, BodyUntil("if", line, "endif")));
                        break;
                    }
                    condition = Expression();
                    Expect(TokenKind.BlockClose, "'%}'");
                }
                Expect(TokenKind.BlockClose, "'%}'");
                return new IfStmt(branches, line);
            }
            case "for":
            {
                var targets = new List<string> { ExpectName() };
                while (TakeOp(",")) targets.Add(ExpectName());
                if (!TakeName("in")) throw Error("expected 'in'");
                var iterable = Or();
                Expr? filter = TakeName("if") ? Or() : null;
                if (TakeName("recursive")) throw new TemplateException($"line {line}: recursive for loops are not supported");
                Expect(TokenKind.BlockClose, "'%}'");
                var body = BodyUntil("for", line, "else", "endfor");
                List<Stmt>? otherwise = null;
                if (_lastEnd == "else")
                {
                    Expect(TokenKind.BlockClose, "'%}'");
                    otherwise = BodyUntil("for", line, "endfor");
                }
                Expect(TokenKind.BlockClose, "'%}'");
                return new ForStmt(targets, iterable, filter, body, otherwise, line);
            }
            case "set":
            {
                string name = ExpectName();
                string? attribute = TakeOp(".") ? ExpectName() : null;
                var names = new List<string> { name };
                while (attribute is null && TakeOp(",")) names.Add(ExpectName());
                if (attribute is null && names.Count == 1 && Peek.Kind == TokenKind.BlockClose)
                {
                    _at++;
                    var block = BodyUntil("set", line, "endset");
                    Expect(TokenKind.BlockClose, "'%}'");
                    return new SetBlockStmt(name, block, line);
                }
                ExpectOp("=");
                var value = Tuple();
                Expect(TokenKind.BlockClose, "'%}'");
                return new SetStmt(names, attribute, value, line);
            }
            case "macro":
            {
                string name = ExpectName();
                ExpectOp("(");
                var parameters = new List<(string, Expr?)>();
                while (!TakeOp(")"))
                {
                    if (parameters.Count > 0) ExpectOp(",");
                    if (TakeOp(")")) break;
                    string p = ExpectName();
                    parameters.Add((p, TakeOp("=") ? Expression() : null));
                }
                Expect(TokenKind.BlockClose, "'%}'");
                var body = BodyUntil("macro", line, "endmacro");
                if (Peek.Kind == TokenKind.Name) _at++; // {% endmacro name %}
                Expect(TokenKind.BlockClose, "'%}'");
                return new MacroStmt(name, parameters, body, line);
            }
            case "break" or "continue":
                Expect(TokenKind.BlockClose, "'%}'");
                return new LoopControlStmt(keyword == "break", line);
            case "generation":
            {
                // transformers' AssistantTracker tag marks the assistant's tokens; it renders its body unchanged.
                Expect(TokenKind.BlockClose, "'%}'");
                var body = BodyUntil("generation", line, "endgeneration");
                Expect(TokenKind.BlockClose, "'%}'");
                return new BlockStmt(body, line);
            }
            case "filter":
            {
                var filter = FilterCall(new LiteralExpr("", line));
                Expect(TokenKind.BlockClose, "'%}'");
                var body = BodyUntil("filter", line, "endfilter");
                Expect(TokenKind.BlockClose, "'%}'");
                return new FilterBlockStmt(filter, body, line);
            }
            default:
                throw new TemplateException($"line {line}: the statement {{% {keyword} %}} is not supported");
        }
    }

    /// <summary>An expression, or several separated by commas (a tuple), as <c>set</c> takes.</summary>
    private Expr Tuple()
    {
        int line = Peek.Line;
        var first = Expression();
        if (!IsOp(",")) return first;
        var items = new List<Expr> { first };
        while (TakeOp(",")) items.Add(Expression());
        return new ListExpr(items, line);
    }

    public Expr Expression()
    {
        var value = Or();
        if (!IsName("if")) return value;
        int line = Next().Line;
        var condition = Or();
        Expr? otherwise = TakeName("else") ? Expression() : null;
        return new ConditionalExpr(condition, value, otherwise, line);
    }

    private Expr Or()
    {
        var left = And();
        while (IsName("or")) { int line = Next().Line; left = new BinaryExpr("or", left, And(), line); }
        return left;
    }

    private Expr And()
    {
        var left = Not();
        while (IsName("and")) { int line = Next().Line; left = new BinaryExpr("and", left, Not(), line); }
        return left;
    }

    private Expr Not()
    {
        if (IsName("not")) { int line = Next().Line; return new NotExpr(Not(), line); }
        return Compare();
    }

    private Expr Compare()
    {
        var left = Add();
        while (true)
        {
            int line = Peek.Line;
            if (Peek.Kind == TokenKind.Operator && Peek.Value is "==" or "!=" or "<" or "<=" or ">" or ">=")
                left = new BinaryExpr(Next().Value, left, Add(), line);
            else if (TakeName("in")) left = new BinaryExpr("in", left, Add(), line);
            else if (IsName("not") && _tokens[_at + 1] is { Kind: TokenKind.Name, Value: "in" })
            {
                _at += 2;
                left = new NotExpr(new BinaryExpr("in", left, Add(), line), line);
            }
            else return left;
        }
    }

    private Expr Add()
    {
        var left = Concat();
        while (IsOp("+") || IsOp("-")) { var op = Next(); left = new BinaryExpr(op.Value, left, Concat(), op.Line); }
        return left;
    }

    private Expr Concat()
    {
        var left = Multiply();
        while (IsOp("~")) { var op = Next(); left = new BinaryExpr("~", left, Multiply(), op.Line); }
        return left;
    }

    private Expr Multiply()
    {
        var left = Power();
        while (Peek.Kind == TokenKind.Operator && Peek.Value is "*" or "/" or "//" or "%")
        {
            var op = Next();
            left = new BinaryExpr(op.Value, left, Power(), op.Line);
        }
        return left;
    }

    private Expr Power()
    {
        var left = Unary();
        while (IsOp("**")) { var op = Next(); left = new BinaryExpr("**", left, Unary(), op.Line); }
        return left;
    }

    private Expr Unary()
    {
        if (IsOp("-")) { int line = Next().Line; return Filters(new NegateExpr(Unary(), line)); }
        if (IsOp("+")) { _at++; return Unary(); }
        return Filters(Postfix(Primary()));
    }

    /// <summary>Filters (<c>| name(args)</c>) and tests (<c>is [not] name args</c>) after a primary.</summary>
    private Expr Filters(Expr value)
    {
        while (true)
        {
            if (TakeOp("|")) value = FilterCall(value);
            else if (IsName("is"))
            {
                int line = Next().Line;
                bool negate = TakeName("not");
                string name = Peek.Kind == TokenKind.Name ? Next().Value
                    : Peek.Kind == TokenKind.Operator && Peek.Value is "==" or "!=" or "<" or ">" or "<=" or ">=" ? Next().Value
                    : throw Error("expected a test name after 'is'");
                var args = new List<Expr>();
                if (IsOp("(")) args = Arguments(out _);
                else if (Peek.Kind is TokenKind.String or TokenKind.Integer or TokenKind.Float
                         || Peek.Kind == TokenKind.Name && Peek.Value is not ("and" or "or" or "else" or "if" or "not" or "in" or "is"))
                    args.Add(Postfix(Primary()));
                Expr test = new TestExpr(name, value, args, line);
                value = negate ? new NotExpr(test, line) : test;
            }
            else return value;
        }
    }

    private FilterExpr FilterCall(Expr value)
    {
        int line = Peek.Line;
        string name = ExpectName();
        var kwargs = new Dictionary<string, Expr>();
        var args = IsOp("(") ? Arguments(out kwargs) : [];
        return new FilterExpr(name, value, args, kwargs, line);
    }

    private Expr Postfix(Expr value)
    {
        while (true)
        {
            int line = Peek.Line;
            if (TakeOp("."))
            {
                if (Peek.Kind == TokenKind.Integer) value = new IndexExpr(value, new LiteralExpr(long.Parse(Next().Value, CultureInfo.InvariantCulture), line), line);
                else value = new AttributeExpr(value, ExpectName(), line);
            }
            else if (TakeOp("["))
            {
                Expr? start = IsOp(":") ? null : Expression();
                if (TakeOp(":"))
                {
                    Expr? stop = IsOp(":") || IsOp("]") ? null : Expression();
                    Expr? step = TakeOp(":") && !IsOp("]") ? Expression() : null;
                    ExpectOp("]");
                    value = new SliceExpr(value, start, stop, step, line);
                }
                else
                {
                    ExpectOp("]");
                    value = new IndexExpr(value, start!, line);
                }
            }
            else if (IsOp("("))
            {
                var args = Arguments(out var kwargs);
                value = new CallExpr(value, args, kwargs, line);
            }
            else return value;
        }
    }

    /// <summary>(a, b, name=c): positional then keyword arguments.</summary>
    private List<Expr> Arguments(out Dictionary<string, Expr> kwargs)
    {
        ExpectOp("(");
        var args = new List<Expr>();
        kwargs = [];
        while (!TakeOp(")"))
        {
            if (args.Count + kwargs.Count > 0) ExpectOp(",");
            if (TakeOp(")")) break;
            if (Peek.Kind == TokenKind.Name && _tokens[_at + 1] is { Kind: TokenKind.Operator, Value: "=" })
            {
                string name = Next().Value;
                _at++;
                kwargs[name] = Expression();
            }
            else args.Add(Expression());
        }
        return args;
    }

    private Expr Primary()
    {
        var token = Next();
        int line = token.Line;
        switch (token.Kind)
        {
            case TokenKind.String:
                string text = token.Value;
                while (Peek.Kind == TokenKind.String) text += Next().Value; // adjacent literals join, as in Python
                return new LiteralExpr(text, line);
            case TokenKind.Integer:
                return new LiteralExpr(long.Parse(token.Value, CultureInfo.InvariantCulture), line);
            case TokenKind.Float:
                return new LiteralExpr(double.Parse(token.Value, CultureInfo.InvariantCulture), line);
            case TokenKind.Name:
                return token.Value switch
                {
                    "true" or "True" => new LiteralExpr(true, line),
                    "false" or "False" => new LiteralExpr(false, line),
                    "none" or "None" => new LiteralExpr(null, line),
                    _ => new NameExpr(token.Value, line),
                };
            case TokenKind.Operator when token.Value == "(":
            {
                if (TakeOp(")")) return new ListExpr([], line);
                var first = Expression();
                if (TakeOp(")")) return first;
                var items = new List<Expr> { first };
                while (TakeOp(",")) { if (IsOp(")")) break; items.Add(Expression()); }
                ExpectOp(")");
                return new ListExpr(items, line);
            }
            case TokenKind.Operator when token.Value == "[":
            {
                var items = new List<Expr>();
                while (!TakeOp("]"))
                {
                    if (items.Count > 0) ExpectOp(",");
                    if (TakeOp("]")) break;
                    items.Add(Expression());
                }
                return new ListExpr(items, line);
            }
            case TokenKind.Operator when token.Value == "{":
            {
                var entries = new List<(Expr, Expr)>();
                while (!TakeOp("}"))
                {
                    if (entries.Count > 0) ExpectOp(",");
                    if (TakeOp("}")) break;
                    var key = Expression();
                    ExpectOp(":");
                    entries.Add((key, Expression()));
                }
                return new DictExpr(entries, line);
            }
            default:
                _at--;
                throw Error("expected a value");
        }
    }
}
