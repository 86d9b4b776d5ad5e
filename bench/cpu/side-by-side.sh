#!/usr/bin/env bash
# SpecDec against llama.cpp per x86 kernel class (issue 17's targets): decode, c(8) and prefill on `specdec synth
# --shape llama-3.2-1b` files in Q8_0 and Q4_K_M, 2 threads, context 256. Each class is emulated on a CPU that has
# more: SpecDec by .NET's switches, llama.cpp by a CPU library built for that class (docs/performance.md says how).
# Rounds interleave SpecDec and llama.cpp, file by file and class by class, so a slow spell of a shared host hits both.
#
#   bench/cpu/side-by-side.sh [CLASS ...]      classes: avx512bw avx2 avxvnni (default: all three)
#
# Environment: LLAMA_BIN (llama.cpp's native build, its llama-bench; default ~/llamacpp-peer/src/build/bin),
# LLAMA_KERNELS (the folder holding build-avx512bw/bin and build-avx2/bin; default ~/llamacpp-kernels/src),
# SPECDEC (the CLI; default: a Release build of src/SpecDec.Cli), MODELS (where 1b-q8_0.gguf and 1b-q4_k_m.gguf are,
# written by specdec synth when missing: about 1 and 5 minutes; default /tmp), TYPES (default "q8_0 q4_k_m"),
# ROUNDS (default 2), THREADS (default 2), OUT (raw results; default a temporary file).
# Should take about 1.5 minutes per file, class and round on an idle 2-core machine: about 20 minutes for the defaults.
#
# SpecDec: `specdec perf` (prefill = 64 tokens after a 256-token prompt, as pp64 -d 256; the prompt's own prefill is
# shown beside it; decode = the median single-token step after the prompt, c(8) from its verification curve).
# llama.cpp: `llama-bench -p 8,64 -n 64 -d 256` (pp64 and tg64 at depth 256, c(8) = 8 · tg64 / pp8).
set -euo pipefail
cd "$(dirname "$0")/../.."
LLAMA_BIN=${LLAMA_BIN:-$HOME/llamacpp-peer/src/build/bin}
LLAMA_KERNELS=${LLAMA_KERNELS:-$HOME/llamacpp-kernels/src}
SPECDEC=${SPECDEC:-src/SpecDec.Cli/bin/Release/net10.0/SpecDec.Cli}
MODELS=${MODELS:-/tmp}
TYPES=${TYPES:-q8_0 q4_k_m}
ROUNDS=${ROUNDS:-2}
THREADS=${THREADS:-2}
OUT=${OUT:-$(mktemp)}
classes=("$@")
[ ${#classes[@]} -gt 0 ] || classes=(avx512bw avx2 avxvnni)

for tool in "$LLAMA_BIN/llama-bench" "$SPECDEC"; do
    [ -x "$tool" ] || { echo "error: $tool is missing (llama.cpp: /work/shared/tools/llamacpp-peer.sh; SpecDec: dotnet build src/SpecDec.Cli -c Release)" >&2; exit 1; }
done
command -v jq > /dev/null || { echo "error: jq is missing" >&2; exit 1; }

# The class's SpecDec switches and llama.cpp CPU library folder (empty: the native build's own).
specdec_env() {
    case $1 in
        avx512bw) echo "DOTNET_EnableAVXVNNI=0" ;;
        avx2) echo "DOTNET_EnableAVX512=0 DOTNET_EnableAVXVNNI=0" ;;
        avxvnni) echo "" ;;
        *) echo "error: unknown class $1 (avx512bw, avx2, avxvnni)" >&2; exit 1 ;;
    esac
}
llama_lib() {
    case $1 in
        avx512bw|avx2) local d=$LLAMA_KERNELS/build-$1/bin
            [ -f "$d/libggml-cpu.so" ] || { echo "error: $d/libggml-cpu.so is missing (docs/performance.md: building llama.cpp per class)" >&2; exit 1; }
            echo "$d" ;;
        *) echo "" ;;
    esac
}
for c in "${classes[@]}"; do specdec_env "$c" > /dev/null; llama_lib "$c" > /dev/null; done

for type in $TYPES; do
    file=$MODELS/1b-$type.gguf
    [ -f "$file" ] || { echo "writing $file" >&2; "$SPECDEC" synth --shape llama-3.2-1b --type "$type" --out "$file" > /dev/null; }
done

start=$(date +%s)
echo "# round type class engine prefill(64 at depth 256) decode c8 prefill(256-token prompt; - for llama.cpp) path (raw results also in $OUT)"
for round in $(seq 1 "$ROUNDS"); do
    for type in $TYPES; do
        file=$MODELS/1b-$type.gguf
        for class in "${classes[@]}"; do
            json=$(env $(specdec_env "$class") "$SPECDEC" perf --model "$file" --threads "$THREADS" --context 256 --json)
            kernels=$(jq -r .kernels <<< "$json")
            line="$round $type $class specdec $(jq -r '[.prefill_64_tok_s, .decode_tok_s, .verify_cost[7], .prefill_tok_s] | map(tostring) | join(" ")' <<< "$json") $kernels"
            echo "$line" | tee -a "$OUT"
            lib=$(llama_lib "$class")
            json=$(LD_LIBRARY_PATH=$lib "$LLAMA_BIN/llama-bench" -m "$file" -p 8,64 -n 64 -d 256 -t "$THREADS" -r 2 -o json 2> /dev/null)
            pp8=$(jq '.[] | select(.n_prompt == 8) | .avg_ts' <<< "$json")
            pp64=$(jq '.[] | select(.n_prompt == 64) | .avg_ts' <<< "$json")
            tg=$(jq '.[] | select(.n_gen == 64) | .avg_ts' <<< "$json")
            line="$round $type $class llama $pp64 $tg $(echo "8 * $tg / $pp8" | bc -l) - ${lib:-native}"
            echo "$line" | tee -a "$OUT"
        done
    done
done

# Ranges over the rounds; the ratios (the issue's targets: SpecDec's decode against tg64, its prefill of 64 tokens at
# depth 256 against pp64 at the same depth) are taken within each round, then ranged.
echo
echo "| file | class (SpecDec path) | SpecDec decode | llama.cpp tg64 | ratio | SpecDec c(8) | llama.cpp c(8) | SpecDec prefill 64 | llama.cpp pp64 | ratio | SpecDec prefill 256 |"
echo "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
for type in $TYPES; do
    for class in "${classes[@]}"; do
        awk -v t="$type" -v c="$class" '
            function put(name, v) { if (!((name, "lo") in r) || v < r[name, "lo"]) r[name, "lo"] = v; if (!((name, "hi") in r) || v > r[name, "hi"]) r[name, "hi"] = v }
            function range(name, f) { a = sprintf(f, r[name, "lo"]); b = sprintf(f, r[name, "hi"]); return a == b ? a : a "–" b }
            $2 == t && $3 == c { v[$1, $4, "p"] = $5; v[$1, $4, "d"] = $6; v[$1, $4, "c"] = $7; if ($4 == "specdec") { path = $9; put("sq", $8) }; rounds[$1] = 1 }
            END {
                for (k in rounds) {
                    if (!((k, "specdec", "p") in v) || !((k, "llama", "p") in v)) continue
                    put("sd", v[k, "specdec", "d"]); put("ld", v[k, "llama", "d"]); put("dr", v[k, "specdec", "d"] / v[k, "llama", "d"])
                    put("sc", v[k, "specdec", "c"]); put("lc", v[k, "llama", "c"])
                    put("sp", v[k, "specdec", "p"]); put("lp", v[k, "llama", "p"]); put("pr", v[k, "specdec", "p"] / v[k, "llama", "p"])
                }
                if (!(("sd", "lo") in r)) exit
                printf "| %s | %s (%s) | %s | %s | %s× | %s | %s | %s | %s | %s× | %s |\n", toupper(t), c, path, range("sd", "%.1f"),
                    range("ld", "%.1f"), range("dr", "%.2f"), range("sc", "%.2f"), range("lc", "%.2f"), range("sp", "%.1f"),
                    range("lp", "%.1f"), range("pr", "%.2f"), range("sq", "%.1f")
            }' "$OUT"
    done
done
echo
echo "$(date -u +%FT%TZ), $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg), $(( ($(date +%s) - start) / 60 )) min"
