#!/usr/bin/env bash
# Issue 20's targets in one run: `specdec bench` on the bundled target and draft, greedy, every method that can run
# (ar, draft, draft-fixed, pld, pld-fixed, pld-tree, rest, layerskip, auto, lookahead and, when their files are in
# models/, eagle and medusa), the first LIMIT items of each category, RUNS timed runs; then one verdict line per
# target, read from the run's summary.json:
#   lookahead τ ≥ 1.6 · rest's decode speedup ≥ pld's on rag, qa and summarization · layerskip ≥ 1.2× overall ·
#   auto within 10 % of the best fixed method in every category and above every fixed method overall
# (speedup, prefill included, as Spec-Bench; the decode speedup is printed beside it). Run it on an idle machine
# from anywhere; about 12–15 minutes on 2 idle cores with the defaults (estimated: loaded runs scaled by the plain step):
#
#   bench/cpu/issue20.sh                 # LIMIT=15 RUNS=2 OUT=bench/results/issue20-<UTC time>
#   METHODS=ar,draft,draft-fixed,pld,pld-fixed,rest,auto LIMIT=40 RUNS=1 bench/cpu/issue20.sh
#                                        # auto's verdicts alone, on 355 items that track the whole benchmark's order
#                                        # (about 5 minutes idle, estimated; LIMIT=0: every item, about 12)
#
# Exit code: the benchmark's (2 when an output differs from plain decoding); the verdicts only print.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
limit="${LIMIT:-15}"
runs="${RUNS:-2}"
methods=(${METHODS:+--methods "$METHODS"})
out="${OUT:-$root/bench/results/issue20-$(date -u +%Y%m%dT%H%M%SZ)}"

mkdir -p "$(dirname "$out")"
dotnet build "$root/src/SpecDec.Cli" -c Release -v q -nologo >/dev/null
cd "$root"
start=$(date +%s)
CI=1 dotnet src/SpecDec.Cli/bin/Release/net10.0/SpecDec.Cli.dll bench --limit "$limit" --runs "$runs" "${methods[@]}" --out "$out" >"$out.log" 2>&1 \
  || { rc=$?; tail -5 "$out.log"; exit "$rc"; }
echo "benchmark: $(( $(date +%s) - start )) s, load $(cut -d' ' -f1-3 /proc/loadavg); report $out/report.md"

jq -r '
  . as $s
  | def r($m; $c): first(($s.results[] | select(.method == $m and .category == $c)), null);
    def x: if . == null then "–" else (. * 100 | round) / 100 | tostring + "×" end;
    def verdict(ok): if ok then "met" else "MISSED" end;
  (.results | map(.method) | unique - ["ar", "auto"]) as $fixed
  | (.results | map(.category) | unique - ["overall"]) as $cats
  | ( r("lookahead"; "overall") as $l
      | if $l == null then "lookahead: not run" else "lookahead τ \($l.tau * 100 | round / 100) (target ≥ 1.6): \(verdict($l.tau >= 1.6))" end ),
    ( ["rag", "qa", "summarization"][] as $c | r("rest"; $c) as $a | r("pld"; $c) as $b
      | if $a == null or $b == null then "rest vs pld on \($c): not run"
        else "rest decode \($a.decode_speedup | x) vs pld \($b.decode_speedup | x) on \($c): \(verdict($a.decode_speedup >= $b.decode_speedup))" end ),
    ( r("layerskip"; "overall") as $l
      | if $l == null then "layerskip: not run"
        else "layerskip overall \($l.speedup | x) (decode \($l.decode_speedup | x); target ≥ 1.2×): \(verdict($l.speedup >= 1.2))" end ),
    ( ($cats + ["overall"])[] as $c
      | r("auto"; $c) as $a
      | ($fixed | map(r(.; $c)) | max_by(.speedup)) as $best
      | ($fixed | map(r(.; $c)) | max_by(.decode_speedup)) as $bestd
      | "auto \(if $c == "overall" then "overall" else "on " + $c end) \($a.speedup | x) vs best fixed \($best.method) \($best.speedup | x)"
        + " (decode \($a.decode_speedup | x) vs \($bestd.method) \($bestd.decode_speedup | x)): "
        + verdict(if $c == "overall" then $a.speedup > $best.speedup else $a.speedup >= 0.9 * $best.speedup end) )
' "$out/summary.json"
