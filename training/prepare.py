#!/usr/bin/env python3
"""Step 1: unpack the corpus, train (or reuse) the 8192-token byte-level BPE tokenizer and cache the
tokenized corpus as uint16 token streams.

    python3 training/prepare.py --corpus-tar .carry/corpus.tar.xz --work /root/sd_work

Outputs under --work:
    corpus/...                        the unpacked corpus
    tokenizer/tokenizer.json          (+ tokenizer_config.json); copied from training/tokenizer/ when
                                      that exists (the committed tokenizer), else trained here
    tokens/{train,heldout}/{part}.bin uint16 token ids: <|endoftext|> doc <|endoftext|> doc ...
    tokens/stats.json                 token and byte counts per part

The tokenizer is a Llama-3 style byte-level BPE (Split with the Llama-3 regex, then ByteLevel without
its own regex), trained with the `tokenizers` library on a fixed document sample of the training
parts (specs.TOKENIZER_SAMPLE_BYTES). Chat tags are removed from the tokenizer-training text so no
merges are spent on them: they are special tokens (ids 1 and 2) and match as whole tokens.
The post-processor prepends <|endoftext|> as BOS when add_special_tokens=True (data here is encoded
without it, the separators are inserted explicitly).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

os.environ.setdefault("TOKENIZERS_PARALLELISM", "true")

import numpy as np
from tokenizers import Regex, Tokenizer, decoders, models, pre_tokenizers, processors, trainers

sys.path.insert(0, str(Path(__file__).resolve().parent))
import specs  # noqa: E402

HERE = Path(__file__).resolve().parent
DOC_SEP = re.compile(r"^<\|endoftext\|>\n?", re.M)
CHAT_TAGS = re.compile(r"<\|(user|assistant)\|>\n?")
SEED = 20251122


def read_docs(path: Path) -> list[str]:
    """Documents of a corpus file; each keeps its trailing newline (the separator line follows it)."""
    text = path.read_text(encoding="utf-8")
    return [d for d in DOC_SEP.split(text) if d.strip()]


def build_tokenizer() -> Tokenizer:
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.Sequence(
        [
            pre_tokenizers.Split(Regex(specs.LLAMA3_PATTERN), behavior="isolated", invert=False),
            pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False),
        ]
    )
    tok.decoder = decoders.ByteLevel()
    return tok


def finish_tokenizer(tok: Tokenizer) -> Tokenizer:
    assert [tok.token_to_id(t) for t in specs.SPECIAL_TOKENS] == [0, 1, 2]
    tok.post_processor = processors.Sequence(
        [
            processors.ByteLevel(trim_offsets=False),
            processors.TemplateProcessing(
                single=f"{specs.EOT} $A",
                pair=f"{specs.EOT} $A {specs.EOT} $B:1",
                special_tokens=[(specs.EOT, specs.EOT_ID)],
            ),
        ]
    )
    return tok


def train_tokenizer(corpus: Path) -> Tokenizer:
    rng = random.Random(SEED)
    texts: list[str] = []
    for part, budget in specs.TOKENIZER_SAMPLE_BYTES.items():
        docs = read_docs(corpus / "train" / f"{part}.txt")
        order = list(range(len(docs)))
        rng.shuffle(order)
        used = 0
        for i in order:
            d = CHAT_TAGS.sub("", docs[i][:50_000])
            texts.append(d)
            used += len(d.encode("utf-8"))
            if used >= budget:
                break
    print(f"tokenizer sample: {len(texts)} docs, {sum(len(t.encode()) for t in texts) / 1e6:.1f} MB", flush=True)
    tok = build_tokenizer()
    trainer = trainers.BpeTrainer(
        vocab_size=specs.VOCAB_SIZE,
        min_frequency=2,
        show_progress=False,
        special_tokens=specs.SPECIAL_TOKENS,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
    )
    tok.train_from_iterator(texts, trainer)
    return finish_tokenizer(tok)


def tokenizer_config() -> dict:
    added = {
        str(i): {"content": t, "lstrip": False, "normalized": False, "rstrip": False, "single_word": False, "special": True}
        for i, t in enumerate(specs.SPECIAL_TOKENS)
    }
    return {
        "added_tokens_decoder": added,
        "bos_token": specs.EOT,
        "eos_token": specs.EOT,
        "pad_token": specs.EOT,
        "unk_token": None,
        "chat_template": specs.CHAT_TEMPLATE,
        "clean_up_tokenization_spaces": False,
        "model_max_length": 2048,
        "tokenizer_class": "PreTrainedTokenizerFast",
    }


def encode_docs(tok: Tokenizer, docs: list[str], chunk: int = 2048) -> np.ndarray:
    """<|endoftext|> d1 <|endoftext|> d2 ... <|endoftext|> as one uint16 stream."""
    enc = getattr(tok, "encode_batch_fast", tok.encode_batch)
    pieces = [np.array([specs.EOT_ID], dtype=np.uint16)]
    for i in range(0, len(docs), chunk):
        for e in enc(docs[i : i + chunk], add_special_tokens=False):
            pieces.append(np.asarray(e.ids, dtype=np.uint16))
            pieces.append(np.array([specs.EOT_ID], dtype=np.uint16))
    return np.concatenate(pieces)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--corpus-tar", type=Path, default=Path(".carry/corpus.tar.xz"))
    ap.add_argument("--work", type=Path, default=Path("/root/sd_work"))
    ap.add_argument("--retrain-tokenizer", action="store_true", help="ignore training/tokenizer/ and train anew")
    args = ap.parse_args()
    t0 = time.time()
    work: Path = args.work
    work.mkdir(parents=True, exist_ok=True)
    corpus = work / "corpus"
    if not (corpus / "train" / "prose.txt").exists():
        subprocess.run(["tar", "-xJf", str(args.corpus_tar), "-C", str(work)], check=True)
    print(f"corpus ready ({time.time() - t0:.0f} s)", flush=True)

    tok_dir = work / "tokenizer"
    tok_dir.mkdir(exist_ok=True)
    committed = HERE / "tokenizer" / "tokenizer.json"
    if committed.exists() and not args.retrain_tokenizer:
        shutil.copy(committed, tok_dir / "tokenizer.json")
        print("using committed tokenizer", committed, flush=True)
    elif not (tok_dir / "tokenizer.json").exists() or args.retrain_tokenizer:
        tok = train_tokenizer(corpus)
        tok.save(str(tok_dir / "tokenizer.json"))
        print(f"tokenizer trained ({time.time() - t0:.0f} s)", flush=True)
    (tok_dir / "tokenizer_config.json").write_text(json.dumps(tokenizer_config(), indent=2) + "\n")
    tok = Tokenizer.from_file(str(tok_dir / "tokenizer.json"))
    assert tok.get_vocab_size(with_added_tokens=True) == specs.VOCAB_SIZE
    assert tok.encode("<|user|>\nhi\n<|assistant|>\n").ids[:2] == [specs.EOT_ID, 1]

    stats = {"vocab_size": specs.VOCAB_SIZE, "parts": {}}
    for split in ("train", "heldout"):
        (work / "tokens" / split).mkdir(parents=True, exist_ok=True)
        for part in specs.PARTS:
            out = work / "tokens" / split / f"{part}.bin"
            docs = read_docs(corpus / split / f"{part}.txt")
            n_bytes = sum(len(d.encode("utf-8")) for d in docs)
            if not out.exists():
                ids = encode_docs(tok, docs)
                ids.tofile(out)
            n_tok = out.stat().st_size // 2
            stats["parts"][f"{split}/{part}"] = {
                "docs": len(docs),
                "bytes": n_bytes,
                "tokens": n_tok,
                "bytes_per_token": round(n_bytes / n_tok, 3),
            }
            print(f"{split}/{part}: {len(docs)} docs, {n_bytes / 1e6:.1f} MB, {n_tok / 1e6:.2f} M tokens "
                  f"({time.time() - t0:.0f} s)", flush=True)
    (work / "tokens" / "stats.json").write_text(json.dumps(stats, indent=2) + "\n")
    print(f"prepare done in {time.time() - t0:.0f} s", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
