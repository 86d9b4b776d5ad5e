#!/usr/bin/env bash
# Helper for driving training/pipeline.sh through the device `run` tool, whose commands last at most
# 10 minutes each while the full pipeline needs ~20 minutes of GPU time.
#
#   bash training/device.sh run [full|smoke] [SECONDS]
#        Run the pipeline in the foreground for at most SECONDS (default 565). Near the deadline the
#        training stage checkpoints and the pipeline stops with status 75; the next `run` resumes it
#        (finished stages are skipped). Afterwards one ready, not yet copied bundle is copied to $OUT.
#        Issue the next call at once: the machine is given back ~30 s after a call ends.
#   bash training/device.sh ship NAME [full|smoke]   # copy bundle NAME (target | final) to $OUT
#   bash training/device.sh start [full|smoke]       # start the pipeline detached (setsid nohup)
#   bash training/device.sh poll SECONDS [full|smoke]
#        wait up to SECONDS for a detached pipeline, printing progress; copy one ready bundle to $OUT
#        and return early when that happens or when the pipeline finishes or fails.
#
# Note (2026-11-22): a pipeline started with `start` did NOT survive the end of the `run` call that
# started it on the device machine (it was killed with the call), so the production run used `run`
# (equivalently: SD_DEADLINE=$(( $(date +%s) + 565 )) bash training/pipeline.sh full).
# SHIP_BUNDLES (default "target final") limits which bundles are copied; one bundle per call, since a
# call brings back at most 64 MiB (the target bundle alone is 54 MB).
set -uo pipefail
CMD=${1:?usage: device.sh run|ship|start|poll ...}
case "$CMD" in
  run) PROFILE=${2:-full}; ARG=${3:-565} ;;
  start) PROFILE=${2:-full}; ARG="" ;;
  *) ARG=${2:-}; PROFILE=${3:-full} ;;
esac
WORK=${WORK:-/root/sd_work_$PROFILE}
REPO=$(cd "$(dirname "$0")/.." && pwd)
LOG="$WORK/pipeline.log"
mkdir -p "$WORK"

ship() {
  local name=$1
  [ -n "${OUT:-}" ] || { echo "OUT not set"; return 1; }
  cp "$WORK/ship/$name"/* "$OUT/" && touch "$WORK/ship/$name.shipped"
  cp "$LOG" "$OUT/pipeline.log" 2>/dev/null
  echo "shipped $name: $(ls "$WORK/ship/$name" | tr '\n' ' ')"
}

ship_ready() {  # copy the first ready, not yet copied bundle; status 0 if one was copied
  for b in ${SHIP_BUNDLES:-target final}; do
    if [ -d "$WORK/ship/$b" ] && [ ! -f "$WORK/ship/$b.shipped" ]; then
      ship "$b"
      return 0
    fi
  done
  return 1
}

case "$CMD" in
  run)
    cd "$REPO" || exit 1
    SD_DEADLINE=$(($(date +%s) + ARG)) WORK="$WORK" bash training/pipeline.sh "$PROFILE" 2>&1 \
      | tee -a "$LOG" | grep --line-buffered -v -E "Loading weights|Writing model"
    rc=${PIPESTATUS[0]}
    echo "pipeline exit status $rc (0 = done, 75 = stopped at the deadline: run again to continue)"
    ship_ready || true
    [ "$rc" -eq 0 ] || [ "$rc" -eq 75 ]
    ;;
  start)
    if [ -f "$WORK/pipeline.pid" ] && kill -0 "$(cat "$WORK/pipeline.pid")" 2>/dev/null; then
      echo "already running (pid $(cat "$WORK/pipeline.pid"))"
    else
      rm -f "$WORK/FAILED"
      cd "$REPO" && WORK="$WORK" setsid nohup bash training/pipeline.sh "$PROFILE" >>"$LOG" 2>&1 < /dev/null &
      echo $! > "$WORK/pipeline.pid"
      echo "started pipeline $PROFILE (pid $(cat "$WORK/pipeline.pid")), log $LOG"
    fi
    ;;
  poll)
    SECS=${ARG:-540}; T0=$(date +%s); LAST=""
    while :; do
      if ship_ready; then tail -n 30 "$LOG"; exit 0; fi
      if [ -f "$WORK/DONE" ]; then echo "DONE"; tail -n 40 "$LOG"; exit 0; fi
      if [ -f "$WORK/FAILED" ]; then echo "FAILED: $(cat "$WORK/FAILED")"; tail -n 80 "$LOG"; cp "$LOG" "$OUT/" 2>/dev/null; exit 1; fi
      if [ -f "$WORK/pipeline.pid" ] && ! kill -0 "$(cat "$WORK/pipeline.pid")" 2>/dev/null; then
        echo "pipeline process is gone"; tail -n 80 "$LOG"; cp "$LOG" "$OUT/" 2>/dev/null; exit 1
      fi
      NOW=$(date +%s)
      CUR=$(grep -E "^(step|val|==|measured|stage|bundle)" "$LOG" 2>/dev/null | tail -n 1)
      [ "$CUR" != "$LAST" ] && echo "[$((NOW - T0))s] $CUR" && LAST=$CUR
      if [ $((NOW - T0)) -ge "$SECS" ]; then
        echo "poll timeout"; tail -n 15 "$LOG"
        nvidia-smi --query-gpu=utilization.gpu,memory.used --format=csv,noheader
        exit 0
      fi
      sleep 10
    done
    ;;
  ship) ship "$ARG" ;;
  *) echo "unknown command $CMD"; exit 2 ;;
esac
