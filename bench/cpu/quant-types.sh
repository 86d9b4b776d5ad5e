#!/usr/bin/env bash
# Decode speed per quantisation type on the 1B shape, SpecDec beside llama.cpp on the same file and threads, in one run
# (issue 23's "decode ≥ 1.0× llama.cpp for each type"). Each type's file is written once by `specdec synth` (random
# weights in llama.cpp's mix for the type) into $QUANT_DIR and reused; then, type by type, `specdec perf` (decode at
# a 32-token context, with its prefill and c(8)) and `llama-bench -p 0 -n 64` (decode from an empty context) run back
# to back, ROUNDS times interleaved.
#
#   bench/cpu/quant-types.sh prepare [TYPE ...]    write the missing files (about 1–2 min a type on 2 cores, any load)
#   bench/cpu/quant-types.sh [TYPE ...]            measure (writes missing files first); idle 2-core machine: about
#                                                  35 s a type, 5–6 min for the default types
#
# Environment: TYPES (the types to run, as the arguments, e.g. TYPES=mxfp4), QUANT_DIR (default ~/.cache/specdec/quant-types), THREADS (2), ROUNDS (1), LLAMA_BIN (llama.cpp's bin
# folder; default ~/llamacpp-peer/src/build/bin), SPECDEC (the CLI; default a Release build of src/SpecDec.Cli).
# The kernel class follows the machine (perf prints it); force one with SPECDEC_KERNELS / DOTNET_EnableAVX512=0 and a
# matching llama.cpp build (docs/performance.md).
set -euo pipefail
cd "$(dirname "$0")/../.."
QUANT_DIR=${QUANT_DIR:-$HOME/.cache/specdec/quant-types}
THREADS=${THREADS:-2}
ROUNDS=${ROUNDS:-1}
LLAMA_BIN=${LLAMA_BIN:-$HOME/llamacpp-peer/src/build/bin}
SPECDEC=${SPECDEC:-src/SpecDec.Cli/bin/Release/net10.0/SpecDec.Cli}
prepare_only=false
if [ "${1:-}" = prepare ]; then prepare_only=true; shift; fi
types=("$@")
[ ${#types[@]} -gt 0 ] || read -ra types <<< "${TYPES:-}"
[ ${#types[@]} -gt 0 ] || types=(q5_k_m q3_k_m q5_0 q4_1 q5_1 iq4_xs iq4_nl q2_k mxfp4 q4_k_m q8_0)
for tool in "$SPECDEC" "$LLAMA_BIN/llama-bench"; do
    [ -x "$tool" ] || { echo "error: $tool is missing (dotnet build src/SpecDec.Cli -c Release; llama.cpp: /work/shared/tools/llamacpp-peer.sh)" >&2; exit 1; }
done
mkdir -p "$QUANT_DIR"

for t in "${types[@]}"; do
    f=$QUANT_DIR/1b-$t.gguf
    [ -f "$f" ] || "$SPECDEC" synth --shape llama-3.2-1b --type "$t" --out "$f" >&2
done
$prepare_only && exit 0

start=$(date +%s)
echo "# $(date -u '+%F %H:%M UTC'), $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg), $THREADS threads"
printf '| %-7s | %7s | %-9s | %15s | %15s | %11s | %15s | %6s |\n' type GB kernels "SpecDec decode" "llama.cpp tg64" ratio "SpecDec prefill" "c(8)"
printf '| %-7s | %7s | %-9s | %15s | %15s | %11s | %15s | %6s |\n' --- ---: --- ---: ---: ---: ---: ---:
for t in "${types[@]}"; do
    f=$QUANT_DIR/1b-$t.gguf
    ours=() theirs=() prefill=() c8=()
    for ((r = 0; r < ROUNDS; r++)); do
        json=$("$SPECDEC" perf --model "$f" --threads "$THREADS" --context 32 --json 2> /dev/null)
        kernels=$(jq -r .kernels <<< "$json")
        ours+=("$(jq .decode_tok_s <<< "$json")")
        prefill+=("$(jq .prefill_tok_s <<< "$json")")
        c8+=("$(jq '.verify_cost[7]' <<< "$json")")
        theirs+=("$("$LLAMA_BIN/llama-bench" -m "$f" -p 0 -n 64 -t "$THREADS" -r 2 -o json 2> /dev/null | jq '.[0].avg_ts')")
    done
    range() { printf '%s\n' "$@" | sort -g | awk 'NR == 1 { lo = $1 } { hi = $1 } END { if (lo == hi) printf "%.2f", lo; else printf "%.2f–%.2f", lo, hi }'; }
    ratio=$(paste <(printf '%s\n' "${ours[@]}") <(printf '%s\n' "${theirs[@]}") | awk '{ r = $1 / $2; if (NR == 1 || r < lo) lo = r; if (NR == 1 || r > hi) hi = r } END { if (lo == hi) printf "%.2f×", lo; else printf "%.2f–%.2f×", lo, hi }')
    printf '| %-7s | %7.2f | %-9s | %15s | %15s | %11s | %15s | %6s |\n' "$t" "$(echo "$(stat -c %s "$f") / 1000000000" | bc -l)" "$kernels" \
        "$(range "${ours[@]}")" "$(range "${theirs[@]}")" "$ratio" "$(range "${prefill[@]}")" "$(range "${c8[@]}")"
done
echo "# took $(( $(date +%s) - start )) s"
