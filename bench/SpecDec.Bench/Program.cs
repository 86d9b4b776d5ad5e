using SpecDec.Bench;

// specdec-bench matmul [threads] [N] [K] | model [threads]
string mode = args.Length > 0 ? args[0] : "matmul";
int threads = args.Length > 1 ? int.Parse(args[1]) : 0;
switch (mode)
{
    case "matmul":
        MatmulBench.Run(threads, args.Length > 2 ? int.Parse(args[2]) : 8192, args.Length > 3 ? int.Parse(args[3]) : 2048);
        break;
    default:
        Console.Error.WriteLine("usage: SpecDec.Bench matmul [threads] [N] [K]");
        return 1;
}
return 0;
