#!/usr/bin/env bash
# Old build against this one, forward times in absolute milliseconds, interleaved block by block in one run.
#
#   bench/cpu/forward-ab.sh OLD_REV [MODEL]
#
# Builds bench/cpu/forward-times.cs against OLD_REV (a detached worktree in $WORK) and against this checkout, starts
# both on MODEL (default models/target-q8_0.gguf) and alternates their blocks (ABBA order) for ROUNDS rounds: a
# block is REPS forwards of each size in SIZES at depth CONTEXT (forward-times.cs says what `8` and `8v` mean).
# Then per size: the median over rounds of each build's block minimum and block median, new/old of those, and in how
# many rounds new's block median was below old's. The kernel class is the environment's (e.g.
# DOTNET_EnableAVXVNNI=0 for AVX-512BW); both builds see the same. It also says whether both builds' logits have the
# same bits (a hash of every size's). Raw lines go to $WORK/raw.txt.
# CPU=1 times the process's CPU time instead of wall time (for a loaded machine; forward-times.cs --cpu).
set -euo pipefail
old=${1:?usage: forward-ab.sh OLD_REV [MODEL]}
root=$(cd "$(dirname "$0")/../.." && pwd)
model=$(realpath "${2:-$root/models/target-q8_0.gguf}")
ROUNDS=${ROUNDS:-100} REPS=${REPS:-10} SIZES=${SIZES:-1,8,9,8v,9v} CONTEXT=${CONTEXT:-256} THREADS=${THREADS:-2}
WORK=${WORK:-/tmp/specdec-forward-ab}
mkdir -p "$WORK"

rev=$(git -C "$root" rev-parse "$old")
if [ "$(git -C "$WORK/old" rev-parse HEAD 2>/dev/null)" != "$rev" ]; then
  git -C "$root" worktree remove --force "$WORK/old" 2>/dev/null || rm -rf "$WORK/old"
  git -C "$root" worktree add --detach "$WORK/old" "$rev" >/dev/null
fi
mkdir -p "$WORK/old/bench/cpu"
cp "$root/bench/cpu/forward-times.cs" "$WORK/old/bench/cpu/"
echo "building old ($old = ${rev:0:7}) and new ($(git -C "$root" rev-parse --short HEAD)$(git -C "$root" diff --quiet HEAD -- src || echo ', with uncommitted changes'))" >&2
(cd "$WORK/old" && dotnet build -c Release bench/cpu/forward-times.cs -o "$WORK/bin-old" >/dev/null)
(cd "$root" && dotnet build -c Release bench/cpu/forward-times.cs -o "$WORK/bin-new" >/dev/null)

rm -f "$WORK"/{in,out}-{old,new}
pids=()
for b in old new; do
  mkfifo "$WORK/in-$b" "$WORK/out-$b"
  "$WORK/bin-$b/forward-times" "$model" --threads "$THREADS" --context "$CONTEXT" --sizes "$SIZES" --reps "$REPS" ${CPU:+--cpu} \
    < "$WORK/in-$b" > "$WORK/out-$b" &
  pids+=($!)
done
exec 3>"$WORK/in-old" 4<"$WORK/out-old" 5>"$WORK/in-new" 6<"$WORK/out-new"
trap 'exec 3>&- 5>&-; wait "${pids[@]}" 2>/dev/null || true' EXIT
read -r _ hash_old <&4; read -r _ hash_new <&6 # both loaded and warmed up

block() { # build, input fd, output fd
  echo go >&"$2"
  local line; read -r line <&"$3"
  echo "$1 $line" >> "$WORK/raw.txt"
}
: > "$WORK/raw.txt"
load0=$(cut -d' ' -f1-3 /proc/loadavg)
for ((r = 0; r < ROUNDS; r++)); do
  if ((r % 2 == 0)); then block old 3 4; block new 5 6; else block new 5 6; block old 3 4; fi
done
echo "logits of every size: $([ "$hash_old" = "$hash_new" ] && echo "the same bits in both builds" || echo "DIFFERENT (old $hash_old, new $hash_new)")"
echo "model $(basename "$model"), context $CONTEXT, $THREADS threads, ${CPU:+process CPU time, }$ROUNDS rounds of $REPS forwards a size and build;" \
  "load average $load0 at the start, $(cut -d' ' -f1-3 /proc/loadavg) at the end; ${DOTNET_EnableAVXVNNI:+DOTNET_EnableAVXVNNI=$DOTNET_EnableAVXVNNI }${DOTNET_EnableAVX512:+DOTNET_EnableAVX512=$DOTNET_EnableAVX512}"
# raw line: build, then (size, min, median) per size. Rounds pair up as they ran (round r = lines 2r and 2r + 1).
awk -v rounds="$ROUNDS" '
  function median(a, n,   i, j, t) { for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) if (a[j] < a[i]) { t = a[i]; a[i] = a[j]; a[j] = t }
                                      return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2 }
  { b = $1; n[b]++; for (f = 2; f <= NF; f += 3) { s = $f; sizes[f] = s; mn[b, s, n[b]] = $(f + 1); md[b, s, n[b]] = $(f + 2) } }
  END {
    printf "| size | old min ms | new min ms | new/old | old median ms | new median ms | new/old | rounds new faster |\n| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |\n"
    for (f = 2; f in sizes; f += 3) {
      s = sizes[f]; faster = 0
      for (i = 1; i <= rounds; i++) { om[i] = mn["old", s, i]; nm[i] = mn["new", s, i]; od[i] = md["old", s, i]; nd[i] = md["new", s, i]; if (nd[i] < od[i]) faster++ }
      a = median(om, rounds); b = median(nm, rounds); c = median(od, rounds); d = median(nd, rounds)
      printf "| %s | %.3f | %.3f | %.3f | %.3f | %.3f | %.3f | %d of %d |\n", s, a, b, b / a, c, d, d / c, faster, rounds
    }
  }' "$WORK/raw.txt"
