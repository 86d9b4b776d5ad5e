using System.CommandLine;
using SpecDec.Cli;

var root = new RootCommand("SpecDec: fast LLM inference with speculative decoding");
// Each command lives in its own file under Commands/ and is registered here.
return CliRunner.Run(root, args);
