#!/usr/bin/env python3
"""The text the draft heads train on: a seeded document sample of the corpus's training parts, small
enough to travel to the GPU machine beside the repository (the whole corpus does not: the working tree
that travels is capped at 64 MiB and the repository alone is ~52 MB).

    python3 training/heads_data.py --corpus /tmp/corpus/corpus --out .carry/heads-data.tar.xz

Writes a tar.xz with train/{prose,code,dialog,multi}.txt (documents separated by `<|endoftext|>` lines,
as in the corpus) and heldout/{prose,code,dialog}.txt (a slice of the corpus's held-out documents, for
the per-step agreement that train_heads.py reports). Benchmark items (corpus/eval) are made from held-out
documents, so nothing here comes from them: train/ is sampled from corpus/train only.

Dialog is taken whole: most benchmark categories are chat prompts, and EAGLE's own heads were trained on
chat data. Standard library only.
"""

from __future__ import annotations

import argparse
import io
import random
import re
import tarfile
from pathlib import Path

SEED = 20261206
DOC_SEP = re.compile(r"^<\|endoftext\|>\n?", re.M)
# bytes of each training part to keep (dialog: all 19.7 MB)
TRAIN_BYTES = {"prose": 11_000_000, "code": 12_000_000, "dialog": 10**9, "multi": 4_000_000}
HELDOUT_BYTES = {"prose": 200_000, "code": 200_000, "dialog": 200_000}


def sample(path: Path, budget: int, rng: random.Random) -> str:
    docs = [d for d in DOC_SEP.split(path.read_text(encoding="utf-8")) if d.strip()]
    order = list(range(len(docs)))
    rng.shuffle(order)
    kept, used = [], 0
    for i in order:
        if used >= budget:
            break
        kept.append(docs[i])
        used += len(docs[i].encode("utf-8"))
    return "".join(d + "<|endoftext|>\n" for d in kept)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--corpus", type=Path, required=True, help="the unpacked corpus/ folder")
    ap.add_argument("--out", type=Path, required=True)
    args = ap.parse_args()
    rng = random.Random(SEED)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    with tarfile.open(args.out, "w:xz", preset=9) as tar:
        for split, budgets in (("train", TRAIN_BYTES), ("heldout", HELDOUT_BYTES)):
            for part, budget in budgets.items():
                data = sample(args.corpus / split / f"{part}.txt", budget, rng).encode("utf-8")
                info = tarfile.TarInfo(f"{split}/{part}.txt")
                info.size = len(data)
                tar.addfile(info, io.BytesIO(data))
                print(f"{split}/{part}.txt {len(data) / 1e6:.1f} MB")
    print(f"{args.out}: {args.out.stat().st_size / 1e6:.1f} MB")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
