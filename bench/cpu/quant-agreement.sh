#!/usr/bin/env bash
# Greedy agreement with llama.cpp per quantisation type (issue 23's target): llama.cpp's quantizer re-quantises the
# bundled target into each type; llama.cpp (bench/cpu/llama-greedy.c, built here against libllama) and `specdec
# generate --temperature 0` continue the benchmark's code and math prompts by 32 tokens on the same file; the score is
# the share of the 32 tokens before the first difference (the continuations re-tokenised by `specdec tokenize`, which
# gives llama-tokenize's ids), averaged over the prompts. llama.cpp runs in two configurations:
#   exact    flash attention off, f32 KV cache (-fa off -ctk f32 -ctv f32): the reference, SpecDec's own arithmetic
#   default  its defaults (flash attention auto, so on for CPU; f16 KV cache: Q, K and V rounded to f16)
# and the third column scores llama.cpp's default against its exact configuration: how far llama.cpp moves from
# itself by last-bit differences on the same file, the floor of what agreement between two engines can show.
#
#   bench/cpu/quant-agreement.sh [TYPE ...]        (default: every type below; Q8_0 is the bundled file itself)
#
# Environment: LLAMA_SRC (a llama.cpp checkout built by /work/shared/tools/llamacpp-peer.sh; default
# ~/llamacpp-peer/src, its libraries in build/bin), SPECDEC (the CLI; default: a Release build of src/SpecDec.Cli),
# PROMPTS (per task file; default 100, i.e. all 96 code and 100 math prompts), SPECDEC_ARGS (extra generate options,
# e.g. "--cache-type f16"), WORK (scratch folder that keeps the quantised files and llama.cpp's continuations for
# reruns). Not timed idle: SpecDec runs four processes per prompt (generate, three tokenize), so several minutes a type
# with all 196 prompts; llama.cpp one process per type and configuration, 5 minutes each at load average 30 (once per
# WORK). For a quick look: PROMPTS=16 bench/cpu/quant-agreement.sh Q8_0 Q4_K_M.
# docs/performance.md says what the scores show.
set -euo pipefail
cd "$(dirname "$0")/../.."
LLAMA_SRC=${LLAMA_SRC:-$HOME/llamacpp-peer/src}
SPECDEC=${SPECDEC:-src/SpecDec.Cli/bin/Release/net10.0/SpecDec.Cli}
PROMPTS=${PROMPTS:-100}
WORK=${WORK:-$(mktemp -d)}
mkdir -p "$WORK"
TARGET=models/target-q8_0.gguf
types=("$@")
[ ${#types[@]} -gt 0 ] || types=(Q8_0 Q4_0 Q4_1 Q5_0 Q5_1 IQ4_NL MXFP4 Q2_K Q3_K_M Q4_K_M Q5_K_M Q6_K IQ4_XS)
for tool in "$LLAMA_SRC/build/bin/libllama.so" "$LLAMA_SRC/build/bin/llama-quantize" "$SPECDEC"; do
    [ -e "$tool" ] || { echo "error: $tool is missing (build llama.cpp with /work/shared/tools/llamacpp-peer.sh, SpecDec with dotnet build src/SpecDec.Cli -c Release)" >&2; exit 1; }
done
export LD_LIBRARY_PATH=$LLAMA_SRC/build/bin${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
greedy=$WORK/llama-greedy
[ -x "$greedy" ] || cc -O2 bench/cpu/llama-greedy.c -I"$LLAMA_SRC/include" -I"$LLAMA_SRC/ggml/include" -L"$LLAMA_SRC/build/bin" \
    -lllama -lggml -lggml-base -o "$greedy"
prompt_file=$WORK/prompts-$PROMPTS.bin   # NUL-separated, as llama-greedy reads them
for f in code_completion math_reasoning; do head -n "$PROMPTS" "bench/tasks/$f.jsonl" | jq -j '.prompt + "\u0000"'; done > "$prompt_file"
mapfile -d '' -t prompts < "$prompt_file"

# llama.cpp's continuations of every prompt: FILE OUT FLASH CACHE (llama-greedy's options), once per WORK.
continue_with_llama() {
    [ -f "$2" ] && return
    "$greedy" "$1" 32 "$3" "$4" 2 text < "$prompt_file" > "$2.part"
    mv "$2.part" "$2"
}

ids() { [ -z "$2" ] || "$SPECDEC" tokenize -m "$1" -p "$2" --ids --no-bos; }

# Shared leading tokens of two id lists, over the longer list's length capped at 32 (both stopping early alike: 1).
share() {
    local -a a=($1) b=($2)
    local n=0 len=$(( ${#a[@]} > ${#b[@]} ? ${#a[@]} : ${#b[@]} ))
    (( len > 32 )) && len=32
    (( len == 0 )) && { echo 1; return; }
    while (( n < len && n < ${#a[@]} && n < ${#b[@]} )) && [ "${a[n]}" = "${b[n]}" ]; do n=$((n + 1)); done
    echo "scale=4; $n / $len" | bc
}

echo "# $(date -u '+%F %H:%M UTC'), load average $(cut -d' ' -f1-3 /proc/loadavg), ${#prompts[@]} prompts, SpecDec ${SPECDEC_ARGS:-(default options)}"
printf '| %-7s | %22s | %24s | %30s |\n' type "SpecDec vs llama exact" "SpecDec vs llama default" "llama default vs llama exact"
printf '| %-7s | %22s | %24s | %30s |\n' --- ---: ---: ---:
for type in "${types[@]}"; do
    file=$WORK/target-$type.gguf
    case $type in
        Q8_0) file=$TARGET ;;
        # llama-quantize writes MXFP4 only into MoE experts: SpecDec's quantizer writes the dense file.
        MXFP4) [ -f "$file" ] || "$SPECDEC" quantize "$TARGET" "$file" --type mxfp4 > /dev/null ;;
        *) [ -f "$file" ] || "$LLAMA_SRC/build/bin/llama-quantize" --allow-requantize "$TARGET" "$file" "$type" 1 > /dev/null 2>&1 ;;
    esac
    # llama.cpp's continuations, kept for reruns with other SpecDec builds or options.
    exact=$WORK/llama-exact-$type-$PROMPTS.bin default=$WORK/llama-default-$type-$PROMPTS.bin
    continue_with_llama "$file" "$exact" off f32
    continue_with_llama "$file" "$default" auto f16
    mapfile -d '' -t ref_exact < "$exact"
    mapfile -d '' -t ref_default < "$default"
    total_exact=0 total_default=0 total_self=0
    for i in "${!prompts[@]}"; do
        ours=$("$SPECDEC" generate --model "$file" --prompt "${prompts[i]}" --max-tokens 32 --temperature 0 --no-warmup --threads 1 ${SPECDEC_ARGS:-} 2> /dev/null; echo x)
        ours=$(ids "$file" "${ours%x}")
        e=$(ids "$file" "${ref_exact[i]}") d=$(ids "$file" "${ref_default[i]}")
        total_exact=$(echo "$total_exact + $(share "$e" "$ours")" | bc -l)
        total_default=$(echo "$total_default + $(share "$d" "$ours")" | bc -l)
        total_self=$(echo "$total_self + $(share "$e" "$d")" | bc -l)
    done
    n=${#prompts[@]}
    printf '| %-7s | %22.2f | %24.2f | %30.2f |\n' "$type" "$(echo "$total_exact / $n" | bc -l)" "$(echo "$total_default / $n" | bc -l)" "$(echo "$total_self / $n" | bc -l)"
done
