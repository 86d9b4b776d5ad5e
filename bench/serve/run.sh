#!/usr/bin/env bash
# Measures `specdec serve` from outside, as a client: builds the CLI and bench/SpecDec.ServeBench (Release), then runs
#   compare     one stream through the server (stream interval 10 ms and 0) against `specdec generate`, interleaved run by run (about 1.5 min)
#   throughput  1, 4 and 16 concurrent streams, batching on and off level by level (about 1.5-2 min on 2 cores)
#   load        6 waves of 200 concurrent abusive requests on loopback (about 1 min)
#   all         the three in turn
# Extra arguments go to the tool with one mode (e.g. compare --runs 9 --threads 2 --methods none); all takes none.
# Run on an idle machine for figures worth reporting; docs/serving.md says what each prints.
set -euo pipefail
cd "$(dirname "$0")/../.."
mode=${1:?usage: bench/serve/run.sh compare|throughput|load|all [--option value]...}
shift
dotnet build src/SpecDec.Cli -c Release -v q -nologo >/dev/null
dotnet build bench/SpecDec.ServeBench -c Release -v q -nologo >/dev/null
cli=src/SpecDec.Cli/bin/Release/net10.0/SpecDec.Cli
tool() { dotnet bench/SpecDec.ServeBench/bin/Release/net10.0/SpecDec.ServeBench.dll "$@"; }
case $mode in
  all) [ $# -eq 0 ] || { echo "error: all takes no options; give them with one mode" >&2; exit 1; }
       for m in compare throughput load; do echo "## $m"; tool "$m" --cli "$cli"; echo; done ;;
  *) tool "$mode" --cli "$cli" "$@" ;;
esac
