#!/usr/bin/env bash
# One round on the GPU machine (docs/gpu.md), run as `bash .gpu/device-round.sh` from a folder .gpu/ in the repository
# holding this script, the published CLI (pub.tar.xz), specdec.cu, build-ptx.sh and hf_reference.py;
# everything it prints goes to $OUT/round.log. Steps are bounded by timeouts so the round ends inside its limit.
# ROUND_STEPS picks steps (default all): ptx kernels parity generate perf profile hf bench; ROOT is the repository
# (default: the folder above this script's). kernels times the tensor-core matmuls and, beside them, the warp-per-row
# kernels (SPECDEC_CUDA_TENSOR_CORES=0); perf runs each model as shipped, without CUDA graphs, and with neither
# (PERF_WAYS=shipped: as shipped only, in both); profile times every kernel of two forwards of the 1B BF16 with Nsight
# Compute (ncu-kernels.py sums them per kernel).
set -u
G="$(cd "$(dirname "$0")" && pwd)"   # .gpu/: this script, the CLI, specdec.cu, build-ptx.sh, hf_reference.py
cd "${ROOT:-$G/..}"
steps="${ROUND_STEPS:-ptx kernels parity generate perf profile hf bench}"
log="$OUT/round.log"
exec > >(tee -a "$log") 2>&1
has() { [[ " $steps " == *" $1 "* ]]; }
# The step's header and status go to stderr, so a step whose stdout is redirected keeps only its own output.
t() { local s=$1; shift; echo >&2; echo "### $* (limit ${s}s) $(date -u +%H:%M:%S)" >&2; timeout "$s" "$@"; echo "### rc=$?" >&2; }
date -u; nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.sm,clocks.mem --format=csv
nvrtc="$(find / -name 'libnvrtc.so.13*' -not -path '*/proc/*' 2>/dev/null | head -1)"
echo "nvrtc: ${nvrtc:-none}"; [ -n "$nvrtc" ] && export LD_LIBRARY_PATH="$(dirname "$nvrtc"):${LD_LIBRARY_PATH:-}"
mkdir -p /tmp/pub && tar xJf "$G/pub.tar.xz" -C /tmp
S=/tmp/pub/SpecDec.Cli
if has ptx; then
  t 60 bash "$G/build-ptx.sh" "$G/specdec.cu" "$OUT/specdec.ptx"
  t 60 nvcc -arch=sm_90 -O3 --resource-usage -cubin -o /tmp/k.cubin "$G/specdec.cu" > "$OUT/resources.txt" 2>&1
  grep -E "Function properties|registers|spill" "$OUT/resources.txt" | head -20
fi
if has kernels; then
  t 90 $S perf --device cuda --kernels
  [ "${PERF_WAYS:-}" = shipped ] || SPECDEC_CUDA_TENSOR_CORES=0 t 90 $S perf --device cuda --kernels
fi
if has parity; then
  for m in tests/fixtures/models/{llama-f32,llama-f16,llama-bf16,mistral-f32,qwen2-f32,qwen3-bf16,demo-draft-tiny} models/draft-tiny-q8_0.gguf models/target-q8_0.gguf; do
    t 60 $S parity --model "$m"
  done
  # The PTX this round made, through the driver's JIT alone (no NVRTC), before it is shipped.
  SPECDEC_CUDA_KERNELS=ptx SPECDEC_CUDA_PTX="$OUT/specdec.ptx" t 60 $S parity --model models/target-q8_0.gguf
fi
if has generate; then
  # Greedy text of the bundled pair on both devices, and with speculation on the GPU: the same bytes.
  i=0
  for p in "def fibonacci(n):" "Once upon a time" "<|user|>What is the capital of France?<|assistant|>"; do
    i=$((i + 1))
    for d in cpu cuda; do t 60 $S generate --device $d --prompt "$p" --max-tokens 128 --temperature 0 > /tmp/gen$i-$d.txt; done
    for s in draft pld; do t 60 $S generate --device cuda --spec $s --prompt "$p" --max-tokens 128 --temperature 0 > /tmp/gen$i-cuda-$s.txt; done
    for f in /tmp/gen$i-cuda.txt /tmp/gen$i-cuda-draft.txt /tmp/gen$i-cuda-pld.txt; do
      cmp -s /tmp/gen$i-cpu.txt $f && echo "same as cpu: $f ($(wc -c < $f) bytes)" || { echo "DIFFERS from cpu: $f"; cat /tmp/gen$i-cpu.txt; echo; cat $f; }
    done
  done
fi
if has perf; then
  t 120 $S synth --shape llama-3.2-1b --type bf16 --out /tmp/1b-bf16.gguf
  t 120 $S synth --shape llama-3.2-1b --type q8_0 --out /tmp/1b-q8_0.gguf
  # Each model as shipped (tensor-core matmuls, CUDA graphs), without graphs, and with neither (the first kernels).
  for m in /tmp/1b-bf16.gguf /tmp/1b-q8_0.gguf models/target-q8_0.gguf; do
    t 90 $S perf --device cuda --model $m --context 512
    [ "${PERF_WAYS:-}" = shipped ] && continue
    SPECDEC_CUDA_GRAPHS=0 t 90 $S perf --device cuda --model $m --context 512
    SPECDEC_CUDA_GRAPHS=0 SPECDEC_CUDA_TENSOR_CORES=0 t 90 $S perf --device cuda --model $m --context 512
  done
  t 90 $S perf --device cuda --model /tmp/1b-bf16.gguf --context 4096
fi
if has profile; then
  [ -f /tmp/1b-bf16.gguf ] || t 120 $S synth --shape llama-3.2-1b --type bf16 --out /tmp/1b-bf16.gguf
  # Kernel by kernel (graph nodes one at a time, caches flushed, the card's own clocks): four forwards of 130 launches
  # are skipped, then two are timed.
  t 180 ncu --clock-control none --metrics gpu__time_duration.sum --csv --launch-skip 520 --launch-count 260 \
    $S generate --device cuda --model /tmp/1b-bf16.gguf --prompt "a b c d" --max-tokens 8 --temperature 0 > "$OUT/ncu.csv"
  python3 "$G/ncu-kernels.py" "$OUT/ncu.csv" 2
fi
has hf && PYTHONUNBUFFERED=1 t 180 python3 "$G/hf_reference.py"
if has bench; then
  t 240 $S bench --device cuda --limit 1 --max-tokens 64 --out /tmp/bench
  cp /tmp/bench/report.md "$OUT/bench-report.md" 2>/dev/null
fi
date -u
