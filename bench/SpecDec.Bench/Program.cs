using SpecDec.Bench;
using SpecDec.Formats;

// SpecDec.Bench matmul [threads] [N] [K]
// SpecDec.Bench pool [threads]
// SpecDec.Bench model [threads] [demo|llama-3.2-1b|qwen2.5-0.5b] [Q8_0|F16|BF16|F32] [context]
// SPECDEC_BENCH_CPU=1: report CPU time per call (use with 1 thread on a busy machine).
Bench.CpuTime = Environment.GetEnvironmentVariable("SPECDEC_BENCH_CPU") == "1";
string mode = args.Length > 0 ? args[0] : "model";
int threads = args.Length > 1 ? int.Parse(args[1]) : 0;
switch (mode)
{
    case "matmul":
        MatmulBench.Run(threads, args.Length > 2 ? int.Parse(args[2]) : 8192, args.Length > 3 ? int.Parse(args[3]) : 2048);
        break;
    case "model":
        ModelBench.Run(threads, args.Length > 2 ? args[2] : "demo", args.Length > 3 ? Enum.Parse<GgmlType>(args[3]) : GgmlType.Q8_0,
            args.Length > 4 ? int.Parse(args[4]) : 64);
        break;
    case "pool":
        PoolBench.Run(threads);
        break;
    default:
        Console.Error.WriteLine("usage: SpecDec.Bench matmul [threads] [N] [K] | model [threads] [shape] [type] [context] | pool [threads]");
        return 1;
}
return 0;
