#!/usr/bin/env bash
# Train the bundled target's draft heads and the heads test fixtures on one GPU (see models/README.md).
#
#   bash training/heads.sh DATA.tar.xz OUTDIR [MINUTES] [INIT]     # from the repository root
#
# DATA: made by training/heads_data.py. MINUTES (default 4.75): training of the target's heads, after
# ~55 s of generating the target's own continuations to train on (self-distillation); the whole run
# takes ~7 min on one H100. INIT (default models/): the folder of the eagle-q8_0.gguf and
# medusa-q8_0.gguf the heads continue from. HEADS_FIXTURE=0 skips the fixture heads for
# tests/fixtures/models/demo-draft-tiny (~40 s more). OUTDIR gets target/ and fixture/.
set -euo pipefail
export PYTHONUNBUFFERED=1
DATA=$1 OUTDIR=$2 MIN=${3:-4.75} INIT=${4:-models}
HERE=$(cd "$(dirname "$0")" && pwd)
python3 "$HERE/train_heads.py" --base models/target-q8_0.gguf --data "$DATA" --out "$OUTDIR/target" --minutes "$MIN" \
  --init-eagle "$INIT/eagle-q8_0.gguf" --init-medusa "$INIT/medusa-q8_0.gguf" --ttt-steps 5 --lr 1e-3 --medusa-lr 2e-3 \
  --gen-seconds 55 --gen-batch 2048 --gen-prompt 128 --gen-new 512 --gen-temps 0,0,0.7,0.7,1 --gen-chat 0.5 \
  --gen-share 0.75 --batch 32 --stop-at 430
if [ "${HEADS_FIXTURE:-1}" != 0 ]; then
  python3 "$HERE/train_heads.py" --base tests/fixtures/models/demo-draft-tiny --data "$DATA" --out "$OUTDIR/fixture" \
    --minutes 0.7 --medusa-heads 2 --eagle eagle:1:1:0.1,eagle-ttt:2:1:0.1 --batch 16 --seq 256 --eval-prompts 8 --reference
fi
