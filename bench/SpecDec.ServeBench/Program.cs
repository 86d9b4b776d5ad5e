using SpecDec.ServeBench;

// specdec-servebench compare|load|throughput --cli PATH [options]: see bench/serve/run.sh and bench/README.md.
try
{
    var args2 = Arguments.Parse(args.Skip(1));
    return args.FirstOrDefault() switch
    {
        "compare" => await Compare.RunAsync(args2),
        "load" => await Load.RunAsync(args2),
        "throughput" => await Throughput.RunAsync(args2),
        _ => throw new ArgumentException("usage: SpecDec.ServeBench compare|load|throughput --cli PATH [--option value]…"),
    };
}
catch (ArgumentException e)
{
    Console.Error.WriteLine($"error: {e.Message}");
    return 1;
}
