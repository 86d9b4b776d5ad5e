#!/usr/bin/env bash
# SpecDec's CUDA backend beside llama.cpp's CUDA build on the same GGUF files, in one run on the GPU machine (issue
# 19): per file `specdec perf --device cuda --context 512` (decode at a 512-token context, c(k), prefill of 512),
# then llama-bench (`-p 8,64 -n 128 -d 512`: tg128 and pp8/pp64 at depth 512, so c(k) = k · tg / pp_k; `-p 512 -n 0`:
# prefill of 512; flash attention off and on), then SpecDec again, so a slow spell shows as a gap between its runs.
#   bash bench/gpu/side-by-side.sh FILE...        (about 40 s a file on the H100)
# S: SpecDec's CLI (default /tmp/pub/SpecDec.Cli); LLAMA_BIN: the folder of llama.cpp's CUDA llama-bench
# (bench/gpu/build-llama-cuda.sh; default /tmp/llama-build/bin).
set -u
S=${S:-/tmp/pub/SpecDec.Cli}
L=${LLAMA_BIN:-/tmp/llama-build/bin}
for m in "$@"; do
  for run in 1 2; do
    echo "== SpecDec $m (run $run)"
    timeout 90 "$S" perf --device cuda --model "$m" --context 512 2>&1 | grep -E "^device|^decode|^prefill |^ +[0-9.]+ +[0-9.]|c\((32|64)\)"
    [ $run = 2 ] && break
    echo "== llama.cpp $m"
    timeout 120 "$L/llama-bench" -m "$m" -ngl 99 -fa 0,1 -p 8,64 -n 128 -d 512 -r 3 2>&1 | grep -E "^\|"
    timeout 60 "$L/llama-bench" -m "$m" -ngl 99 -fa 0,1 -p 512 -n 0 -r 3 2>&1 | grep -E "^\| +[a-z]" | tail -n +2
  done
done
