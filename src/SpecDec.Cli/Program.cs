using System.CommandLine;
using SpecDec.Cli;
using SpecDec.Cli.Commands;

var root = new RootCommand("SpecDec: fast LLM inference with speculative decoding");
// Each command lives in its own file under Commands/ and is registered here.
root.Subcommands.Add(GenerateCommand.Create());
root.Subcommands.Add(InspectCommand.Create());
root.Subcommands.Add(BenchCommand.Create());
root.Subcommands.Add(QuantizeCommand.Create());
root.Subcommands.Add(SynthCommand.Create());
root.Subcommands.Add(ConvertCommand.Create());
root.Subcommands.Add(PerfCommand.Create());
root.Subcommands.Add(TokenizeCommand.Create());
root.Subcommands.Add(ServeCommand.Create());
root.Subcommands.Add(DatastoreCommand.Create());
root.Subcommands.Add(ParityCommand.Create());
root.Subcommands.Add(TemplateCommand.Create());
root.Subcommands.Add(ChatCommand.Create());
return CliRunner.Run(root, args);
