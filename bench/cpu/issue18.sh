#!/usr/bin/env bash
# Issue 18's targets in one run: `specdec bench` greedy on the bundled target with ar, draft, eagle and medusa (the
# bundled heads; eagle with its 3072-token draft vocabulary), then ar and eagle again with the same head over all
# 8192 tokens (its d2t widened to every id: the head before the draft vocabulary, byte for byte the same weights),
# the first LIMIT items of each category, RUNS timed runs each; then one verdict line per target, read from the
# summaries:
#   eagle τ ≥ 3.5 overall · eagle decode speedup ≥ 1.3 × draft's overall · eagle decode ≥ 2× plain on
#   code_completion and code_edit · medusa τ ≥ 2.5
# and the draft vocabulary's effect (eagle 3072 against 8192 tokens: τ and decode speedup). Run it on an idle
# machine from anywhere; LIMIT=10 takes about 4–6 minutes on 2 idle cores (estimated from loaded runs scaled by the
# plain decoding step), LIMIT=25 about 10–14:
#
#   bench/cpu/issue18.sh                 # LIMIT=10 RUNS=1 OUT=bench/results/issue18-<UTC time>
#
# Exit code: the benchmark's (2 when an output differs from plain decoding); the verdicts only print.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
limit="${LIMIT:-10}"
runs="${RUNS:-1}"
out="${OUT:-$root/bench/results/issue18-$(date -u +%Y%m%dT%H%M%SZ)}"

mkdir -p "$out"
dotnet build "$root/src/SpecDec.Cli" -c Release -v q -nologo >/dev/null
cd "$root"
specdec() { CI=1 dotnet src/SpecDec.Cli/bin/Release/net10.0/SpecDec.Cli.dll "$@"; }

# The bundled head over every token: a draft vocabulary of all 8192 ids computes what the head computed before it had one.
mkdir -p "$out/all-tokens"
specdec convert models/eagle-q8_0.gguf "$out/all-tokens/eagle-q8_0.gguf" --type q8_0 --base models/target-q8_0.gguf \
  --draft-vocab 8192 --draft-vocab-text README.md >"$out/convert.log" 2>&1

start=$(date +%s)
for run in heads all-tokens; do
  if [ "$run" = heads ]; then args=(--methods ar,draft,eagle,medusa); else args=(--methods ar,eagle --head "$out/all-tokens/eagle-q8_0.gguf"); fi
  specdec bench "${args[@]}" --limit "$limit" --runs "$runs" --out "$out/$run" >"$out/$run.log" 2>&1 \
    || { rc=$?; tail -5 "$out/$run.log"; exit "$rc"; }
done
echo "benchmarks: $(( $(date +%s) - start )) s, load $(cut -d' ' -f1-3 /proc/loadavg); reports $out/{heads,all-tokens}/report.md"

jq -rn --slurpfile h "$out/heads/summary.json" --slurpfile a "$out/all-tokens/summary.json" '
  def r($s; $m; $c): first(($s.results[] | select(.method == $m and .category == $c)), null);
  def x: if . == null then "–" else (. * 100 | round) / 100 | tostring + "×" end;
  def t: (. * 100 | round) / 100 | tostring;
  def verdict(ok): if ok then "met" else "MISSED" end;
  $h[0] as $s | $a[0] as $w
  | "lossless: \($s.lossless.note // "not checked") / \($w.lossless.note // "not checked")",
    ( r($s; "eagle"; "overall") as $e | r($s; "draft"; "overall") as $d
      | "eagle overall τ \($e.tau | t) (target ≥ 3.5): \(verdict($e.tau >= 3.5))",
        "eagle decode \($e.decode_speedup | x) vs 1.3 × draft \($d.decode_speedup | x) = \($d.decode_speedup * 1.3 | x) (speedup \($e.speedup | x) vs draft \($d.speedup | x)): \(verdict($e.decode_speedup >= 1.3 * $d.decode_speedup))" ),
    ( ["code_completion", "code_edit"][] as $c | r($s; "eagle"; $c) as $e
      | "eagle decode on \($c) \($e.decode_speedup | x), τ \($e.tau | t) (target ≥ 2×): \(verdict($e.decode_speedup >= 2))" ),
    ( r($s; "medusa"; "overall") as $m | "medusa overall τ \($m.tau | t) (target ≥ 2.5): \(verdict($m.tau >= 2.5))" ),
    ( r($s; "eagle"; "overall") as $e | r($w; "eagle"; "overall") as $f
      | "draft vocabulary: eagle with 3072 tokens τ \($e.tau | t), decode \($e.decode_speedup | x), draft share \($e.draft_share * 100 | round) %;"
        + " with all 8192 τ \($f.tau | t), decode \($f.decode_speedup | x), draft share \($f.draft_share * 100 | round) %" )
'
