using System.Text;

namespace SpecDec.Templates;

/// <summary>What a statement tells the loop around it.</summary>
internal enum Flow { Normal, Break, Continue }

/// <summary>Variables of one level: the template's globals, a for loop's body, a macro call.</summary>
internal sealed class Scope(Scope? parent)
{
    private readonly Dictionary<string, object?> _vars = [];

    public Scope? Parent { get; } = parent;

    public bool TryGet(string name, out object? value)
    {
        for (var s = this; s is not null; s = s.Parent)
            if (s._vars.TryGetValue(name, out value)) return true;
        value = null;
        return false;
    }

    public void Set(string name, object? value) => _vars[name] = value;
}

internal sealed class RenderContext(Scope globals, Func<DateTimeOffset> now)
{
    public Scope Scope { get; set; } = globals;
    public Func<DateTimeOffset> Now => now;
}

internal abstract class Stmt(int line)
{
    public int Line => line;
    public abstract Flow Render(RenderContext context, StringBuilder output);

    public static Flow RenderAll(List<Stmt> body, RenderContext context, StringBuilder output)
    {
        foreach (var stmt in body)
        {
            var flow = stmt.Render(context, output);
            if (flow != Flow.Normal) return flow;
        }
        return Flow.Normal;
    }
}

internal sealed class TextStmt(string text, int line) : Stmt(line)
{
    public override Flow Render(RenderContext context, StringBuilder output)
    {
        output.Append(text);
        return Flow.Normal;
    }
}

internal sealed class OutputStmt(Expr value, int line) : Stmt(line)
{
    public override Flow Render(RenderContext context, StringBuilder output)
    {
        output.Append(TemplateValues.ToText(value.Eval(context)));
        return Flow.Normal;
    }
}

internal sealed class BlockStmt(List<Stmt> body, int line) : Stmt(line)
{
    public override Flow Render(RenderContext context, StringBuilder output) => RenderAll(body, context, output);
}

internal sealed class IfStmt(List<(Expr? Condition, List<Stmt> Body)> branches, int line) : Stmt(line)
{
    public override Flow Render(RenderContext context, StringBuilder output)
    {
        foreach (var (condition, body) in branches)
            if (condition is null || TemplateValues.IsTrue(condition.Eval(context)))
                return RenderAll(body, context, output);
        return Flow.Normal;
    }
}

internal sealed class ForStmt(List<string> targets, Expr iterable, Expr? filter, List<Stmt> body, List<Stmt>? otherwise, int line) : Stmt(line)
{
    public override Flow Render(RenderContext context, StringBuilder output)
    {
        var items = new List<object?>();
        var outer = context.Scope;
        foreach (var item in TemplateValues.Iterate(iterable.Eval(context), Line))
        {
            if (filter is not null)
            {
                context.Scope = new Scope(outer);
                Bind(context.Scope, item);
                bool keep = TemplateValues.IsTrue(filter.Eval(context));
                context.Scope = outer;
                if (!keep) continue;
            }
            items.Add(item);
        }
        if (items.Count == 0)
            return otherwise is null ? Flow.Normal : RenderAll(otherwise, context, output);
        try
        {
            for (int i = 0; i < items.Count; i++)
            {
                // A loop's body has a scope of its own: a plain set inside it is gone after the loop (hence namespace()).
                context.Scope = new Scope(outer);
                Bind(context.Scope, items[i]);
                context.Scope.Set("loop", new LoopInfo(items, i));
                if (RenderAll(body, context, output) == Flow.Break) break;
            }
        }
        finally
        {
            context.Scope = outer;
        }
        return Flow.Normal;
    }

    private void Bind(Scope scope, object? item)
    {
        if (targets.Count == 1)
        {
            scope.Set(targets[0], item);
            return;
        }
        var parts = TemplateValues.Iterate(item, Line).ToList();
        if (parts.Count != targets.Count)
            throw new TemplateException($"line {Line}: cannot unpack {parts.Count} values into {targets.Count} loop variables");
        for (int i = 0; i < targets.Count; i++) scope.Set(targets[i], parts[i]);
    }
}

/// <summary>The <c>loop</c> variable of a for loop.</summary>
internal sealed class LoopInfo(List<object?> items, int index)
{
    public object? Get(string name, int line) => name switch
    {
        "index" => (long)index + 1,
        "index0" => (long)index,
        "revindex" => (long)(items.Count - index),
        "revindex0" => (long)(items.Count - index - 1),
        "first" => index == 0,
        "last" => index == items.Count - 1,
        "length" => (long)items.Count,
        "previtem" => index > 0 ? items[index - 1] : new Undefined("loop.previtem"),
        "nextitem" => index + 1 < items.Count ? items[index + 1] : new Undefined("loop.nextitem"),
        "cycle" => new Callable("loop.cycle", (args, _) => args.Count == 0 ? null : args[index % args.Count]),
        _ => throw new TemplateException($"line {line}: loop has no attribute '{name}'"),
    };
}

internal sealed class LoopControlStmt(bool isBreak, int line) : Stmt(line)
{
    public override Flow Render(RenderContext context, StringBuilder output) => isBreak ? Flow.Break : Flow.Continue;
}

internal sealed class SetStmt(List<string> names, string? attribute, Expr value, int line) : Stmt(line)
{
    public override Flow Render(RenderContext context, StringBuilder output)
    {
        object? result = value.Eval(context);
        if (attribute is not null)
        {
            if (!context.Scope.TryGet(names[0], out var target) || target is not Namespace ns)
                throw new TemplateException($"line {Line}: set {names[0]}.{attribute}: only a namespace() takes attributes");
            ns[attribute] = result;
        }
        else if (names.Count == 1) context.Scope.Set(names[0], result);
        else
        {
            var parts = TemplateValues.Iterate(result, Line).ToList();
            if (parts.Count != names.Count) throw new TemplateException($"line {Line}: cannot unpack {parts.Count} values into {names.Count} names");
            for (int i = 0; i < names.Count; i++) context.Scope.Set(names[i], parts[i]);
        }
        return Flow.Normal;
    }
}

internal sealed class SetBlockStmt(string name, List<Stmt> body, int line) : Stmt(line)
{
    public override Flow Render(RenderContext context, StringBuilder output)
    {
        var text = new StringBuilder();
        RenderAll(body, context, text);
        context.Scope.Set(name, text.ToString());
        return Flow.Normal;
    }
}

internal sealed class FilterBlockStmt(FilterExpr filter, List<Stmt> body, int line) : Stmt(line)
{
    public override Flow Render(RenderContext context, StringBuilder output)
    {
        var text = new StringBuilder();
        RenderAll(body, context, text);
        output.Append(TemplateValues.ToText(filter.Apply(context, text.ToString())));
        return Flow.Normal;
    }
}

internal sealed class MacroStmt(string name, List<(string Name, Expr? Default)> parameters, List<Stmt> body, int line) : Stmt(line)
{
    public override Flow Render(RenderContext context, StringBuilder output)
    {
        var defining = context.Scope;
        context.Scope.Set(name, new Callable(name, (args, kwargs) =>
        {
            if (args.Count > parameters.Count) throw new TemplateException($"line {Line}: macro {name} takes {parameters.Count} arguments, got {args.Count}");
            var caller = context.Scope;
            var scope = new Scope(defining);
            context.Scope = scope;
            try
            {
                for (int i = 0; i < parameters.Count; i++)
                {
                    var (p, fallback) = parameters[i];
                    object? value = i < args.Count ? args[i]
                        : kwargs.TryGetValue(p, out var k) ? k
                        : fallback is not null ? fallback.Eval(context) : new Undefined(p);
                    scope.Set(p, value);
                }
                var text = new StringBuilder();
                RenderAll(body, context, text);
                return text.ToString();
            }
            finally
            {
                context.Scope = caller;
            }
        }));
        return Flow.Normal;
    }
}

internal abstract class Expr(int line)
{
    public int Line => line;
    public abstract object? Eval(RenderContext context);
}

internal sealed class LiteralExpr(object? value, int line) : Expr(line)
{
    public override object? Eval(RenderContext context) => value;
}

internal sealed class NameExpr(string name, int line) : Expr(line)
{
    public string Name => name;

    public override object? Eval(RenderContext context) =>
        context.Scope.TryGet(name, out var value) ? value : TemplateBuiltins.Global(name, context) ?? new Undefined(name);
}

internal sealed class ListExpr(List<Expr> items, int line) : Expr(line)
{
    public override object? Eval(RenderContext context) => items.Select(i => i.Eval(context)).ToList();
}

internal sealed class DictExpr(List<(Expr Key, Expr Value)> entries, int line) : Expr(line)
{
    public override object? Eval(RenderContext context)
    {
        var dict = new Dictionary<string, object?>();
        foreach (var (key, value) in entries)
            dict[key.Eval(context) as string ?? throw new TemplateException($"line {Line}: dictionary keys must be strings")] = value.Eval(context);
        return dict;
    }
}

internal sealed class ConditionalExpr(Expr condition, Expr value, Expr? otherwise, int line) : Expr(line)
{
    public override object? Eval(RenderContext context) =>
        TemplateValues.IsTrue(condition.Eval(context)) ? value.Eval(context) : otherwise?.Eval(context) ?? new Undefined("else");
}

internal sealed class NotExpr(Expr value, int line) : Expr(line)
{
    public override object? Eval(RenderContext context) => !TemplateValues.IsTrue(value.Eval(context));
}

internal sealed class NegateExpr(Expr value, int line) : Expr(line)
{
    public override object? Eval(RenderContext context) => value.Eval(context) switch
    {
        long l => (object)-l, // object: a switch of long and double arms would make every result a double
        double d => -d,
        var v => throw new TemplateException($"line {Line}: cannot negate {TemplateValues.TypeName(v)}"),
    };
}

internal sealed class BinaryExpr(string op, Expr left, Expr right, int line) : Expr(line)
{
    public override object? Eval(RenderContext context)
    {
        object? a = left.Eval(context);
        switch (op)
        {
            case "and": return TemplateValues.IsTrue(a) ? right.Eval(context) : a;
            case "or": return TemplateValues.IsTrue(a) ? a : right.Eval(context);
        }
        return TemplateValues.Binary(op, a, right.Eval(context), Line);
    }
}

internal sealed class AttributeExpr(Expr target, string name, int line) : Expr(line)
{
    public override object? Eval(RenderContext context) => TemplateValues.Attribute(target.Eval(context), name, Line);
}

internal sealed class IndexExpr(Expr target, Expr index, int line) : Expr(line)
{
    public override object? Eval(RenderContext context) => TemplateValues.Index(target.Eval(context), index.Eval(context), Line);
}

internal sealed class SliceExpr(Expr target, Expr? start, Expr? stop, Expr? step, int line) : Expr(line)
{
    public override object? Eval(RenderContext context) =>
        TemplateValues.Slice(target.Eval(context), start?.Eval(context), stop?.Eval(context), step?.Eval(context), Line);
}

internal sealed class CallExpr(Expr target, List<Expr> args, Dictionary<string, Expr> kwargs, int line) : Expr(line)
{
    public override object? Eval(RenderContext context)
    {
        var callee = target.Eval(context);
        if (callee is not Callable callable)
            throw new TemplateException($"line {Line}: {Describe()} is not callable ({TemplateValues.TypeName(callee)})");
        var values = args.Select(a => a.Eval(context)).ToList();
        var named = kwargs.ToDictionary(k => k.Key, k => k.Value.Eval(context));
        try
        {
            return callable.Invoke(values, named);
        }
        catch (TemplateException) { throw; }
        catch (Exception e) when (e is InvalidCastException or ArgumentException or FormatException or IndexOutOfRangeException)
        {
            throw new TemplateException($"line {Line}: {callable.Name}(): {e.Message}");
        }
    }

    private string Describe() => target switch
    {
        NameExpr n => n.Name,
        _ => "the value",
    };
}

internal sealed class FilterExpr(string name, Expr value, List<Expr> args, Dictionary<string, Expr> kwargs, int line) : Expr(line)
{
    public override object? Eval(RenderContext context) => Apply(context, value.Eval(context));

    public object? Apply(RenderContext context, object? input) =>
        TemplateBuiltins.Filter(name, input, args.Select(a => a.Eval(context)).ToList(), kwargs.ToDictionary(k => k.Key, k => k.Value.Eval(context)), context, Line);
}

internal sealed class TestExpr(string name, Expr value, List<Expr> args, int line) : Expr(line)
{
    public override object? Eval(RenderContext context) =>
        TemplateBuiltins.Test(name, value.Eval(context), args.Select(a => a.Eval(context)).ToList(), Line);
}
