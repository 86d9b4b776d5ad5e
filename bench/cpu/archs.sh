#!/usr/bin/env bash
# Issue 21's speed target: decode on `specdec synth` Gemma-3-1B and OLMoE-1B-7B (Q4_K_M) against llama.cpp on the
# same files and threads (target ≥ 1.0×). Writes the two GGUFs once (into $ARCHS_DIR), then runs ROUNDS interleaved
# rounds of `specdec perf` (decode at a 256-token context) and `llama-bench -p 0 -n 64 -d 256` (tg64 at depth 256)
# per model, and prints one line per run and the ratio range. Run it on an idle machine from anywhere:
#
#   bench/cpu/archs.sh                      # LLAMA_BENCH=… to pick llama.cpp's build, THREADS=2, ROUNDS=2
#
# The files take 1.3 GB (Gemma) and 4.2 GB (OLMoE) of disk; each run maps one of them (the machine needs about
# 5 GB of free memory for OLMoE).
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
dir="${ARCHS_DIR:-/tmp/specdec-archs}"
llama_bench="${LLAMA_BENCH:-/root/llamacpp-peer/src/build/bin/llama-bench}"
threads="${THREADS:-2}"
rounds="${ROUNDS:-2}"
mkdir -p "$dir"

dotnet build "$root/src/SpecDec.Cli" -c Release -v q -nologo >/dev/null
specdec=(dotnet "$root/src/SpecDec.Cli/bin/Release/net10.0/SpecDec.Cli.dll")

for shape in gemma-3-1b olmoe-1b-7b; do
  file="$dir/$shape-q4_k_m.gguf"
  [ -f "$file" ] || { echo "writing $file" >&2; "${specdec[@]}" synth --shape "$shape" --type q4_k_m --out "$file" >&2; }
done

results="$dir/results.tsv"
: > "$results"
for round in $(seq 1 "$rounds"); do
  for shape in gemma-3-1b olmoe-1b-7b; do
    file="$dir/$shape-q4_k_m.gguf"
    ours=$("${specdec[@]}" perf --model "$file" --threads "$threads" --context 256 --json 2>/dev/null \
      | python3 -c 'import json, sys; r = json.load(sys.stdin); print(r["decode_tok_s"], r["kernels"], " ".join(f"{c:.2f}" for c in r["verify_cost"][:8]))')
    theirs=$("$llama_bench" -m "$file" -t "$threads" -p 0 -n 64 -d 256 -r 3 -o json 2>/dev/null \
      | python3 -c 'import json, sys; print(json.load(sys.stdin)[0]["avg_ts"])')
    read -r decode kernels costs <<<"$ours"
    printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$shape" "$round" "$decode" "$theirs" "$kernels" "$costs" >> "$results"
    printf 'round %s %-12s SpecDec %7.2f tok/s (%s; c(1..8) %s)  llama.cpp tg64 %7.2f tok/s  ratio %.2fx  (load %s)\n' \
      "$round" "$shape" "$decode" "$kernels" "$costs" "$theirs" "$(python3 -c "print($decode / $theirs)")" "$(cut -d' ' -f1 /proc/loadavg)"
  done
done
python3 - "$results" <<'PY'
import sys
rows = [line.split("\t") for line in open(sys.argv[1]) if line.strip()]
for shape in dict.fromkeys(r[0] for r in rows):
    ratios = [float(r[2]) / float(r[3]) for r in rows if r[0] == shape]
    print(f"{shape}: SpecDec / llama.cpp decode {min(ratios):.2f}–{max(ratios):.2f}x over {len(ratios)} rounds (target >= 1.0x)")
PY
