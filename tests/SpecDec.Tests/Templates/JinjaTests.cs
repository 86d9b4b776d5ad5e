using SpecDec.Templates;

namespace SpecDec.Tests.Templates;

/// <summary>The Jinja subset against what Python's Jinja2 (with transformers' settings) prints for the same source.</summary>
public sealed class JinjaTests
{
    static string Render(string source, Dictionary<string, object?>? variables = null) =>
        Template.Parse(source).Render(variables ?? []);

    [Theory]
    // trim_blocks and lstrip_blocks: block lines leave no trace; the modifiers strip or keep whitespace.
    [InlineData("{% if true %}\n  yes\n{% endif %}\n", "  yes\n")]
    [InlineData("a\n    {% if true %}\nb\n    {% endif %}\nc", "a\nb\nc")]
    [InlineData("a  {{- 'b' -}}  c", "abc")]
    [InlineData("a\n  {%+ if true %}b{% endif %}", "a\n  b")]
    [InlineData("{# note #}\nx", "x")]
    // Python values printed as Python does.
    [InlineData("{{ [1, 'a', none, true, 2.5] }}", "[1, 'a', None, True, 2.5]")]
    [InlineData("{{ {'k': \"it's\"} }}", "{'k': \"it's\"}")]
    [InlineData("{{ 7 // 2 }} {{ -7 // 2 }} {{ 7 % 3 }} {{ -1 % 3 }} {{ 7 / 2 }} {{ 2 ** 10 }} {{ 1e-05 }}", "3 -4 1 2 3.5 1024 1e-05")]
    [InlineData("{{ 'abc'[::-1] }} {{ [1, 2, 3, 4][1:3] }} {{ [1, 2, 3][-1] }}", "cba [2, 3] 3")]
    [InlineData("{{ 'a' ~ 1 ~ none }}", "a1None")]
    // Loops: loop variables, else, a filter, break and continue, and scoping that needs namespace().
    [InlineData("{% for x in [3, 4, 5] %}{{ loop.index }}{{ loop.first }}{{ loop.last }}{{ loop.length }};{% endfor %}", "1TrueFalse3;2FalseFalse3;3FalseTrue3;")]
    [InlineData("{% for x in [] %}x{% else %}empty{% endfor %}", "empty")]
    [InlineData("{% for x in range(10) if x is odd %}{% if x > 6 %}{% break %}{% endif %}{% if x == 3 %}{% continue %}{% endif %}{{ x }}{% endfor %}", "15")]
    [InlineData("{% set n = 0 %}{% for x in [1, 2] %}{% set n = n + x %}{% endfor %}{{ n }}", "0")]
    [InlineData("{% set ns = namespace(n=0) %}{% for x in [1, 2] %}{% set ns.n = ns.n + x %}{% endfor %}{{ ns.n }}", "3")]
    [InlineData("{% for k, v in {'a': 1, 'b': 2}.items() %}{{ k }}={{ v }} {% endfor %}", "a=1 b=2 ")]
    // Macros, set blocks, conditional expressions, tests.
    [InlineData("{% macro tag(name, close=false) %}<{{ '/' if close }}{{ name }}>{% endmacro %}{{ tag('b') }}x{{ tag('b', close=true) }}", "<b>x</b>")]
    [InlineData("{% set body %}in{{ 1 + 1 }}{% endset %}[{{ body }}]", "[in2]")]
    [InlineData("{{ x is defined }} {{ none is none }} {{ 'a' is string }} {{ {} is mapping }} {{ [1] is iterable }} {{ 3 is divisibleby 3 }} {{ x is not defined }}", "False True True True True True True")]
    [InlineData("{{ 'b' in 'abc' }} {{ 2 not in [1, 2] }} {{ 'k' in {'k': 1} }}", "True False True")]
    // Filters and methods.
    [InlineData("{{ '  hi  ' | trim }}|{{ 'ab' | upper }}|{{ [1, 2] | length }}|{{ x | default('d') }}|{{ [1, 2] | join(', ') }}|{{ 'a,b' .split(',') }}", "hi|AB|2|d|1, 2|['a', 'b']")]
    [InlineData("{{ {'b': 1, 'a': [1, 'é']} | tojson }}|{{ {'a': 1} | tojson(indent=2) }}", "{\"b\": 1, \"a\": [1, \"é\"]}|{\n  \"a\": 1\n}")]
    [InlineData("{{ [{'r': 'a'}, {'r': 'b'}, {}] | selectattr('r', 'equalto', 'b') | list | length }} {{ [{'r': 'a'}, {'r': 'b'}] | map(attribute='r') | join }}", "1 ab")]
    [InlineData("{{ 'Hello World'.lstrip('H').startswith(('ell', 'x')) }} {{ 'a-b-c'.replace('-', '+', 1) }} {{ 'xyz'.title() }}", "True a+b-c Xyz")]
    [InlineData("{{ {'b': 2, 'a': 1} | dictsort }}", "[['a', 1], ['b', 2]]")]
    [InlineData("{% raw %}{{ not a tag }}{% endraw %}", "{{ not a tag }}")]
    public void Renders_as_Jinja2(string source, string expected) => Assert.Equal(expected, Render(source));

    [Theory]
    [InlineData("{% if x %}", "line 1: {% if %} is not closed")]
    [InlineData("a\n{{ x + }}", "line 2: expected a value")]
    [InlineData("{% include 'other.jinja' %}", "line 1: the statement {% include %} is not supported")]
    [InlineData("{{ x | frobnicate }}", "the filter 'frobnicate' is not supported")]
    [InlineData("{{ raise_exception('Only user and assistant roles are supported!') }}", "Only user and assistant roles are supported!")]
    [InlineData("{{ x.y }}", "'x' is undefined")]
    [InlineData("{{ 'a' + 1 }}", "unsupported operand types for +: str and int")]
    public void Errors_name_the_construct_or_carry_the_template_message(string source, string message)
    {
        var e = Assert.Throws<TemplateException>(() => Render(source));
        Assert.Contains(message, e.Message);
    }

    [Fact]
    public void Strftime_now_formats_the_given_clock()
    {
        var t = Template.Parse("{{ strftime_now('%d %b %Y') }}|{{ strftime_now('%Y-%m-%d %H:%M') }}|{{ strftime_now('%B %-d') }}");
        Assert.Equal("05 Mar 2025|2025-03-05 07:09|March 5", t.Render(new Dictionary<string, object?>(), () => new DateTimeOffset(2025, 3, 5, 7, 9, 0, TimeSpan.Zero)));
    }
}
