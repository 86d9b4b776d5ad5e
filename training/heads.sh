#!/usr/bin/env bash
# Train the bundled target's draft heads and the heads test fixtures on one GPU (see models/README.md).
#
#   bash training/heads.sh DATA.tar.xz OUTDIR [MINUTES]     # from the repository root
#
# DATA: made by training/heads_data.py. MINUTES (default 6): the target's heads; the fixture heads
# for tests/fixtures/models/demo-draft-tiny take another ~40 s. OUTDIR gets target/ and fixture/.
set -euo pipefail
export PYTHONUNBUFFERED=1
DATA=$1 OUTDIR=$2 MIN=${3:-6}
HERE=$(cd "$(dirname "$0")" && pwd)
python3 "$HERE/train_heads.py" --base models/target-q8_0.gguf --data "$DATA" --out "$OUTDIR/target" --minutes "$MIN"
python3 "$HERE/train_heads.py" --base tests/fixtures/models/demo-draft-tiny --data "$DATA" --out "$OUTDIR/fixture" \
  --minutes 0.7 --medusa-heads 2 --ttt-steps 2 --batch 16 --seq 256 --reference
