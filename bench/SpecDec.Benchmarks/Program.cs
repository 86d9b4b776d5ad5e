using BenchmarkDotNet.Running;
using SpecDec.Benchmarks;

// dotnet run -c Release --project bench/SpecDec.Benchmarks -- --filter '*Matmul*' [--job short]
BenchmarkSwitcher.FromAssembly(typeof(KernelConfig).Assembly).Run(args, new KernelConfig());
