#!/usr/bin/env bash
# Greedy agreement with llama.cpp per quantisation type (issue 23's target): llama.cpp's quantizer re-quantises the
# bundled target into each type, llama-simple and `specdec generate --temperature 0` continue the benchmark's code and
# math prompts by 32 tokens on the same file, and the score is the share of the 32 tokens before the first difference
# (the continuations re-tokenised by `specdec tokenize`, which gives llama-tokenize's ids), averaged over the prompts.
#
#   bench/cpu/quant-agreement.sh [TYPE ...]        (default: every type below; Q8_0 is the bundled file itself)
#
# Environment: LLAMA_BIN (llama.cpp's bin folder; default ~/llamacpp-peer/src/build/bin), SPECDEC (the CLI; default: a
# Release build of src/SpecDec.Cli), PROMPTS (per task file; default 8), SPECDEC_ARGS (extra generate options, e.g.
# "--cache-type f16", llama.cpp's own KV cache type), WORK (scratch folder, which
# keeps the quantised files and llama.cpp's continuations for reruns). About 3.5 s a prompt and type on an idle
# 2-core machine (12 minutes for all 13 types; reruns skip llama.cpp). docs/performance.md says what the scores show.
set -euo pipefail
cd "$(dirname "$0")/../.."
LLAMA_BIN=${LLAMA_BIN:-$HOME/llamacpp-peer/src/build/bin}
SPECDEC=${SPECDEC:-src/SpecDec.Cli/bin/Release/net10.0/SpecDec.Cli}
PROMPTS=${PROMPTS:-8}
WORK=${WORK:-$(mktemp -d)}
mkdir -p "$WORK"
TARGET=models/target-q8_0.gguf
types=("$@")
[ ${#types[@]} -gt 0 ] || types=(Q8_0 Q4_0 Q4_1 Q5_0 Q5_1 IQ4_NL MXFP4 Q2_K Q3_K_M Q4_K_M Q5_K_M Q6_K IQ4_XS)
for tool in "$LLAMA_BIN/llama-simple" "$LLAMA_BIN/llama-quantize" "$SPECDEC"; do
    [ -x "$tool" ] || { echo "error: $tool is missing (build llama.cpp with /work/shared/tools/llamacpp-peer.sh, SpecDec with dotnet build src/SpecDec.Cli -c Release)" >&2; exit 1; }
done
mapfile -t prompts < <(for f in code_completion math_reasoning; do head -n "$PROMPTS" "bench/tasks/$f.jsonl" | jq -c .prompt; done)

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

printf '%-8s %s\n' type "agreement (share of 32 tokens, mean over ${#prompts[@]} prompts)"
for type in "${types[@]}"; do
    file=$WORK/target-$type.gguf
    case $type in
        Q8_0) file=$TARGET ;;
        # llama-quantize writes MXFP4 only into MoE experts: SpecDec's quantizer writes the dense file.
        MXFP4) [ -f "$file" ] || "$SPECDEC" quantize "$TARGET" "$file" --type mxfp4 > /dev/null ;;
        *) [ -f "$file" ] || "$LLAMA_BIN/llama-quantize" --allow-requantize "$TARGET" "$file" "$type" 1 > /dev/null 2>&1 ;;
    esac
    total=0 i=0
    for p in "${prompts[@]}"; do
        prompt=$(jq -r . <<< "$p")
        i=$((i + 1))
        cached=$WORK/llama-$type-$PROMPTS-$i.txt   # llama.cpp's continuation, kept for reruns with other SpecDec builds or options
        if [ ! -f "$cached" ]; then
            echo_=$("$LLAMA_BIN/llama-simple" -m "$file" -n 0 "$prompt" 2> /dev/null; echo x)
            ref=$("$LLAMA_BIN/llama-simple" -m "$file" -n 32 "$prompt" 2> /dev/null; echo x)
            ref=${ref%$'\n'x}                # llama-simple ends with a newline of its own
            ref=${ref#"${echo_%$'\n'x}"}     # and starts with the prompt's pieces
            printf '%s' "$ref" > "$cached"
        fi
        ref=$(cat "$cached"; echo x)
        ref=${ref%x}
        ours=$("$SPECDEC" generate --model "$file" --prompt "$prompt" --max-tokens 32 --temperature 0 --no-warmup --threads 1 ${SPECDEC_ARGS:-} 2> /dev/null; echo x)
        ours=${ours%x}
        total=$(echo "$total + $(share "$(ids "$file" "$ref")" "$(ids "$file" "$ours")")" | bc -l)
    done
    printf '%-8s %.2f\n' "$type" "$(echo "$total / ${#prompts[@]}" | bc -l)"
done
