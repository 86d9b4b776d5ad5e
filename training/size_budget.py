#!/usr/bin/env python3
"""Parameter counts of the demo models and the size of their Q8_0 GGUF files (budget: 40 MiB total).

Run anywhere (standard library only):  python3 training/size_budget.py [--tokenizer tokenizer.json]

GGUF estimate, as llama.cpp's converter writes a tied-embedding Llama with file type Q8_0:
  * every 2-D weight (the token embedding included) is Q8_0: blocks of 32 values in 34 bytes
    (an F16 scale + 32 int8), i.e. 1.0625 bytes per parameter; no output.weight (tied);
  * 1-D norm weights stay F32;
  * tensor infos (name, dims, type, offset) and 32-byte alignment padding;
  * metadata: the tokenizer (tokens, token types, merges as GGUF string arrays: 8-byte length +
    bytes each; types as int32) plus ~2 KB of scalar keys and the chat template.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from specs import SHIPPED, SPECS, VOCAB_SIZE, CHAT_TEMPLATE  # noqa: E402

BUDGET_MIB = 40.0
MIB = 1024 * 1024


def tokenizer_metadata_bytes(tokenizer_json: Path | None) -> int:
    if tokenizer_json is None or not tokenizer_json.exists():
        # 8192 tokens of ~5 bytes and ~8000 merges of ~9 bytes, conservatively rounded up
        return 300_000
    tj = json.loads(tokenizer_json.read_text(encoding="utf-8"))
    vocab = dict(tj["model"]["vocab"])
    for a in tj.get("added_tokens", []):
        vocab[a["content"]] = a["id"]
    merges = tj["model"].get("merges", [])
    tokens = sum(8 + len(t.encode("utf-8")) for t in vocab)
    types = 4 * len(vocab)
    merge_bytes = 0
    for m in merges:
        s = m if isinstance(m, str) else " ".join(m)
        merge_bytes += 8 + len(s.encode("utf-8"))
    return tokens + types + merge_bytes + 2_048 + len(CHAT_TEMPLATE)


def gguf_q8_0_bytes(spec, tokenizer_json: Path | None) -> dict:
    tensor_bytes, info_bytes = 0, 0
    for name, shape in spec.tensor_shapes().items():
        n = 1
        for x in shape:
            n *= x
        if len(shape) == 2:
            assert shape[1] % 32 == 0, f"{name}: row length {shape[1]} is not a multiple of 32 (Q8_0)"
            b = n // 32 * 34
        else:
            b = 4 * n
        tensor_bytes += b + 31  # worst-case alignment padding
        info_bytes += 8 + len(name) + 4 + 8 * len(shape) + 4 + 8
    meta = tokenizer_metadata_bytes(tokenizer_json)
    total = 24 + info_bytes + meta + tensor_bytes + 32
    return {"tensor_bytes": tensor_bytes, "metadata_bytes": meta + info_bytes, "total_bytes": total}


def budget(tokenizer_json: Path | None = None) -> dict:
    rows = {}
    for name in SHIPPED:
        spec = SPECS[name]
        g = gguf_q8_0_bytes(spec, tokenizer_json)
        rows[name] = {
            "params": spec.n_params(),
            "embedding_params": spec.n_embedding_params(),
            "non_embedding_params": spec.n_params() - spec.n_embedding_params(),
            "bf16_safetensors_mib": round(spec.n_params() * 2 / MIB, 2),
            "gguf_q8_0_mib": round(g["total_bytes"] / MIB, 2),
        }
    total = sum(r["gguf_q8_0_mib"] for r in rows.values())
    return {"models": rows, "gguf_q8_0_total_mib": round(total, 2), "budget_mib": BUDGET_MIB, "fits": total <= BUDGET_MIB}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--tokenizer", type=Path, default=Path(__file__).resolve().parent / "tokenizer" / "tokenizer.json")
    args = ap.parse_args()
    b = budget(args.tokenizer if args.tokenizer.exists() else None)
    print(f"vocab {VOCAB_SIZE}")
    for name, r in b["models"].items():
        s = SPECS[name]
        print(
            f"{name:12s} d={s.hidden:4d} L={s.layers} H={s.heads}/{s.kv_heads} ff={s.intermediate:5d}  "
            f"params {r['params'] / 1e6:6.2f} M (non-emb {r['non_embedding_params'] / 1e6:5.2f} M)  "
            f"bf16 {r['bf16_safetensors_mib']:6.2f} MiB  Q8_0 GGUF {r['gguf_q8_0_mib']:6.2f} MiB"
        )
    print(f"total Q8_0 GGUF {b['gguf_q8_0_total_mib']:.2f} MiB of {b['budget_mib']} MiB: {'OK' if b['fits'] else 'OVER'}")
    return 0 if b["fits"] else 1


if __name__ == "__main__":
    sys.exit(main())
