#!/usr/bin/env bash
# The whole demo-model pipeline on one GPU machine (see training/README.md).
#
#   bash training/pipeline.sh [full|smoke]        # from the repository root
#
# full : target 10 min, drafts 5 min (all three side by side), 40 snippets x 128 tokens per domain
#        (TGT_MIN / DRF_MIN override the minutes).
# smoke: the same code paths in ~5 minutes (1-minute stages, 4 snippets) to catch bugs before a full run.
# Work folder: $WORK (default /root/sd_work_<profile>). Every step is idempotent: rerunning after a
# crash resumes training from the last checkpoint and skips finished stages.
# SD_DEADLINE (unix time, optional): stop with status 75 before it (training checkpoints first), for
# runners that limit one command's length; training/device.sh run sets it. Rerun to continue.
# Bundles ready for copying off the machine appear in $WORK/ship/<name>/ (split into 15 MB parts):
#   target : the exported target HF folder (after the target stage)
#   final  : draft HF folders, demo-draft-tiny fixture, results.json, plots, logs, tokenizer
set -euo pipefail
PROFILE=${1:-full}
WORK=${WORK:-/root/sd_work_$PROFILE}
REPO=$(cd "$(dirname "$0")/.." && pwd)
cd "$REPO"
export PYTHONUNBUFFERED=1 TOKENIZERS_PARALLELISM=true
case "$PROFILE" in
  full)  TGT_MIN=${TGT_MIN:-10}; DRF_MIN=${DRF_MIN:-5}; SNIP=40; NEW=128 ;;
  smoke) TGT_MIN=1.0; DRF_MIN=1.0; SNIP=4;  NEW=48 ;;
  *) echo "unknown profile $PROFILE"; exit 2 ;;
esac
mkdir -p "$WORK/ship"
# exit status 75 = stopped at the deadline SD_DEADLINE (unix time; see train.py), not a failure
trap 'rc=$?; [ $rc -eq 75 ] || echo "FAILED at line $LINENO (status $rc)" > "$WORK/FAILED"' ERR
need() {  # need SECONDS: stop with status 75 if SD_DEADLINE leaves less time than that
  if [ -n "${SD_DEADLINE:-}" ] && [ $((SD_DEADLINE - $(date +%s))) -lt "$1" ]; then
    echo "== stopping before the next step: SD_DEADLINE is near; rerun to continue"; exit 75
  fi
}

pack() {  # pack NAME PATH... : tar the paths (relative to $WORK) into 15 MB parts under ship/NAME
  local name=$1; shift
  rm -rf "$WORK/ship/$name.tmp" && mkdir -p "$WORK/ship/$name.tmp"
  tar -C "$WORK" -cf - "$@" | split -b 15M -d - "$WORK/ship/$name.tmp/$name.tar.part-"
  rm -rf "$WORK/ship/$name" && mv "$WORK/ship/$name.tmp" "$WORK/ship/$name"
  echo "bundle $name ready: $(du -sh "$WORK/ship/$name" | cut -f1)"
}

echo "== prepare $(date +%T)"
python3 training/prepare.py --corpus-tar .carry/corpus.tar.xz --work "$WORK"
echo "== train target $(date +%T)"
python3 training/train.py --work "$WORK" --stage target --minutes "$TGT_MIN"
if [ ! -f "$WORK/hf/target/model.safetensors" ]; then
  need 60; echo "== export target $(date +%T)"
  python3 training/export.py --work "$WORK" --models target
fi
[ -d "$WORK/ship/target" ] || pack target hf/target runs/target/final.json runs/target/target.train.csv runs/target/target.val.csv
need 90; echo "== train drafts $(date +%T)"
python3 training/train.py --work "$WORK" --stage drafts --minutes "$DRF_MIN"
if [ ! -f "$WORK/hf/draft-tiny-ce/model.safetensors" ]; then
  need 60; echo "== export drafts $(date +%T)"
  python3 training/export.py --work "$WORK" --models draft-small,draft-tiny,draft-tiny-ce --fixture-dir "$WORK/fixture"
fi
if [ ! -f "$WORK/results.json" ]; then
  need 150; echo "== evaluate $(date +%T)"
  python3 training/evaluate.py --work "$WORK" --snippets "$SNIP" --new-tokens "$NEW"
fi
python3 training/plot.py --work "$WORK"
cp "$WORK/tokenizer/tokenizer.json" "$WORK/tokenizer/tokenizer_config.json" "$WORK/hf/" 2>/dev/null || true
pack final hf/draft-small hf/draft-tiny fixture results.json plots runs/target/final.json runs/drafts/final.json \
  runs/target/target.train.csv runs/target/target.val.csv $(cd "$WORK" && ls runs/drafts/*.csv) tokens/stats.json tokenizer
echo "== done $(date +%T)"
touch "$WORK/DONE"
