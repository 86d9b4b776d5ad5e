#!/usr/bin/env bash
# The EAGLE head on the GPU beside the CUDA target (docs/gpu.md "Draft heads beside a GPU target"), against the same
# head on the host's CPU (SPECDEC_CUDA_EAGLE=gpu against =host), in one run. Run as `bash .gpu/NAME/eagle-gpu-round.sh` from the
# repository root with .gpu/NAME/ holding this script, the published CLI (pub.tar.xz, folder pub/) and the model files
# the tree lacks (eagle-q8_0.gguf, draft-tiny-q8_0.gguf, medusa-q8_0.gguf). Everything goes to $OUT/round.log, the
# bench reports to $OUT. About 3-4 minutes once the machine is up.
# Steps: the head's parity (CPU head against GPU head: drafts, logits, states; the GPU's graph against kernel by
# kernel); greedy text of plain and eagle (GPU head, host head) against plain greedy on the CPU with the sizer's tree
# (--stats); the same fixed tree (16 nodes, depth 4, top-4) with both heads, whose rounds must be identical (same
# drafts); bench of ar/draft/pld/eagle on the code categories (10 items) and on all (3 items a category), each again
# with the host head; the other methods' table (OTHERS=0 leaves it out; QUICK=1 stops before the benches).
set -u
G="$(cd "$(dirname "$0")" && pwd)"; S=/tmp/pub/SpecDec.Cli
T0=$(date +%s)
t() { echo "### $1 $(( $(date +%s) - T0 ))s"; }
exec > >(tee -a "$OUT/round.log") 2>&1
date -u; nvidia-smi --query-gpu=name,driver_version --format=csv,noheader; nproc; grep -m1 "model name" /proc/cpuinfo
for d in /usr/local/cuda-13.0/targets/x86_64-linux/lib /usr/local/cuda/lib64; do [ -d $d ] && export LD_LIBRARY_PATH=$d:${LD_LIBRARY_PATH:-}; done
mkdir -p /tmp/pub && tar xJf "$G/pub.tar.xz" -C /tmp
cp "$G"/*.gguf models/
t parity
timeout 60 $S parity --head models/eagle-q8_0.gguf 2>&1 | grep -vE "^(target features|catch-up|tree levels|graph against)"
t generate
P1="def fibonacci(n):"; P2="The history of the printing press"
STATS="^decode|^τ|^draft |^verify|^rounds|^tree size|^acceptance at [1-8]|^eagle head"
PROMPTS=("$P1" "$P2"); [ "${QUICK:-0}" = 1 ] && PROMPTS=("$P1")
i=0; for p in "${PROMPTS[@]}"; do i=$((i+1))
  timeout 30 $S generate --device cpu --prompt "$p" --max-tokens 128 --temperature 0 > /tmp/g-cpu.txt 2>/dev/null
  for s in none eagle eagle-host; do
    spec=${s%-host}; env="SPECDEC_CUDA_EAGLE=gpu"; [ "$s" = eagle-host ] && env="SPECDEC_CUDA_EAGLE=host"
    env $env timeout 30 $S generate --device cuda --spec $spec --prompt "$p" --max-tokens 128 --temperature 0 --stats > /tmp/g-$s.txt 2> /tmp/s-$s.txt
    cmp -s /tmp/g-cpu.txt /tmp/g-$s.txt && echo "prompt $i $s: same as cpu plain" || { echo "prompt $i $s: DIFFERS from cpu plain"; tail -3 /tmp/s-$s.txt; }
    grep -E "$STATS" /tmp/s-$s.txt
  done
done
t fixed-tree
for s in gpu host; do env="SPECDEC_CUDA_EAGLE=$s"
  env $env timeout 30 $S generate --device cuda --spec eagle --tree-nodes 16 --tree-depth 4 --tree-topk 4 --prompt "$P1" --max-tokens 128 \
    --temperature 0 --stats > /tmp/f-$s.txt 2> /tmp/fs-$s.txt
  grep -E "$STATS" /tmp/fs-$s.txt; grep -E "^rounds|^drafted|^accepted|^τ|^acceptance at" /tmp/fs-$s.txt > /tmp/fr-$s.txt
done
cmp -s /tmp/f-gpu.txt /tmp/f-host.txt && cmp -s /tmp/fr-gpu.txt /tmp/fr-host.txt && echo "fixed tree: GPU head's rounds = host head's (same text, rounds, acceptance)" \
  || { echo "fixed tree: the heads' rounds DIFFER"; diff /tmp/fr-gpu.txt /tmp/fr-host.txt; }
[ "${QUICK:-0}" = 1 ] && { t end; exit 0; } # QUICK=1: the checks only, no bench
bench() { # name, env, bench arguments
  local name=$1 env=$2; shift 2
  env $env timeout 90 $S bench --device cuda --max-tokens 128 --out /tmp/b-$name "$@" > /tmp/b-$name.log 2>&1; echo "== bench $name ($env $*)"; tail -14 /tmp/b-$name.log
  cp /tmp/b-$name/report.md "$OUT/bench-$name.md" 2>/dev/null; cp /tmp/b-$name/summary.json "$OUT/bench-$name.json" 2>/dev/null
}
t bench-code
bench code SPECDEC_CUDA_EAGLE=gpu --methods ar,draft,pld,eagle --categories code_completion,code_edit --limit 10
bench code-host SPECDEC_CUDA_EAGLE=host --methods ar,eagle --categories code_completion,code_edit --limit 10
t bench
bench all SPECDEC_CUDA_EAGLE=gpu --methods ar,draft,pld,eagle --limit 3
bench all-host SPECDEC_CUDA_EAGLE=host --methods ar,eagle --limit 3
[ "${OTHERS:-1}" = 1 ] && { t bench-rest; bench others "" --methods ar,pld-tree,lookahead,layerskip,medusa --limit 3; }
t end
