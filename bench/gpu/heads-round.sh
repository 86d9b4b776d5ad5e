#!/usr/bin/env bash
# Issue 18 on the GPU machine (docs/gpu.md "Draft heads beside a GPU target"): the EAGLE and Medusa heads on the host's
# CPU beside the CUDA target. Run as `bash .gpu/NAME/heads-round.sh` from the repository root, with .gpu/NAME/ holding
# this script, the published CLI (pub.tar.xz, folder pub/) and the model files the tree lacks (eagle-q8_0.gguf,
# medusa-q8_0.gguf, draft-tiny-q8_0.gguf; optionally corpus-datastore.sdds.xz for rest). Everything goes to
# $OUT/round.log, the bench reports to $OUT. About 2-3 minutes once the machine is up (the first CUDA process compiles
# the kernels with NVRTC, about 10 s).
# Steps: parity of the target (its new checks: a tree's final-normed states through the replayed graph, equal to the
# kernel-by-kernel path); greedy text of plain, eagle and medusa on the GPU against plain greedy on the CPU, with the
# sizer's tree (--stats); eagle's decode by the heads' CPU threads; the tree the sizer picks for the same head with the
# target on this machine's CPU; bench of every head method beside ar/draft/pld (3 items a category), then the code
# categories (10 items).
set -u
G="$(cd "$(dirname "$0")" && pwd)"; S=/tmp/pub/SpecDec.Cli
T0=$(date +%s)
t() { echo "### $1 $(( $(date +%s) - T0 ))s"; }
exec > >(tee -a "$OUT/round.log") 2>&1
date -u; nvidia-smi --query-gpu=name,driver_version --format=csv,noheader; nproc; grep -m1 "model name" /proc/cpuinfo
for d in /usr/local/cuda-13.0/targets/x86_64-linux/lib /usr/local/cuda/lib64; do [ -d $d ] && export LD_LIBRARY_PATH=$d:${LD_LIBRARY_PATH:-}; done
mkdir -p /tmp/pub && tar xJf "$G/pub.tar.xz" -C /tmp
cp "$G"/*.gguf models/; [ -f "$G/corpus-datastore.sdds.xz" ] && xz -dc "$G/corpus-datastore.sdds.xz" > models/corpus-datastore.sdds
t parity
timeout 60 $S parity --model models/target-q8_0.gguf 2>&1 | grep -E "agree|identical|DIFFERS|parity:|final|graph|tree of"
t generate
P1="def fibonacci(n):"; P2="The history of the printing press"
i=0; for p in "$P1" "$P2"; do i=$((i+1))
  timeout 30 $S generate --device cpu --prompt "$p" --max-tokens 128 --temperature 0 > /tmp/g-cpu.txt 2>/dev/null
  for s in none eagle medusa; do
    timeout 30 $S generate --device cuda --spec $s --prompt "$p" --max-tokens 128 --temperature 0 --stats > /tmp/g-$s.txt 2> /tmp/s-$s.txt
    cmp -s /tmp/g-cpu.txt /tmp/g-$s.txt && echo "prompt $i $s: same as cpu plain" || { echo "prompt $i $s: DIFFERS from cpu plain"; tail -3 /tmp/s-$s.txt; }
    grep -E "^decode|^τ|^draft |^verify|^tree size|^acceptance at [1-8]" /tmp/s-$s.txt
  done
done
t threads
for th in 1 2 4 8 16; do echo "== eagle --threads $th"
  timeout 30 $S generate --device cuda --spec eagle --threads $th --prompt "$P1" --max-tokens 128 --temperature 0 --stats 2>&1 >/dev/null | grep -E "^decode|^τ|^draft |^verify|^tree size"; done
for th in 2 16; do echo "== cpu target, eagle --threads $th"
  timeout 30 $S generate --device cpu --spec eagle --threads $th --prompt "$P1" --max-tokens 128 --temperature 0 --stats 2>&1 >/dev/null | grep -E "^decode|^τ|^tree size"; done
t bench
M=ar,draft,pld,eagle,medusa; [ -f models/corpus-datastore.sdds ] && M=ar,draft,pld,rest,eagle,medusa
timeout 60 $S bench --device cuda --methods $M --limit 3 --max-tokens 128 --out /tmp/b-all > /tmp/ba.log 2>&1; tail -12 /tmp/ba.log
cp /tmp/b-all/report.md "$OUT/bench-all.md" 2>/dev/null; cp /tmp/b-all/summary.json "$OUT/bench-all.json" 2>/dev/null
t bench-code
left=$(( ${ROUND_LIMIT:-165} - ($(date +%s) - T0) )); [ $left -gt 5 ] || left=5
timeout $left $S bench --device cuda --methods ar,draft,pld,eagle,medusa --categories code_completion,code_edit --limit 10 --max-tokens 128 --out /tmp/b-code > /tmp/bc.log 2>&1; tail -10 /tmp/bc.log
cp /tmp/b-code/report.md "$OUT/bench-code.md" 2>/dev/null; cp /tmp/b-code/summary.json "$OUT/bench-code.json" 2>/dev/null
t end
