#!/usr/bin/env python3
"""Step 4: evaluate the exported Hugging Face folders and write results.json.

    python3 training/evaluate.py --work /root/sd_work [--snippets 40] [--new-tokens 128]

All numbers are computed with transformers' LlamaForCausalLM loaded from <work>/hf/<model>/ (the
shipped bf16 weights, upcast to float32; float32 math, TF32 off):

* held-out perplexity per corpus part (heldout/{prose,code,dialog,multi}.txt, the same
  <|endoftext|>-separated token streams as training): non-overlapping 1024-token windows, every
  token but a window's first is predicted; also bits per UTF-8 byte.
* greedy speculative-decoding acceptance of each draft against the target ("PyTorch simulation"):
  for --snippets random held-out snippets of code and of prose (prompt = <|endoftext|> + 127 tokens),
  the target's greedy continuation y of --new-tokens tokens is computed first. In greedy speculative
  decoding the output always equals y, and while the draft agrees with y its proposals are its
  greedy predictions on y's prefixes; so one teacher-forced draft pass over prompt+y gives, for every
  position, whether the draft's proposal there would match. A round starting at position p with draft
  length k accepts n = the number of leading matches among positions p..p+k-1, then the target's
  forward adds one token (the correction, or the bonus token when all k matched): p += n + 1.
  alpha = accepted / drafted, tau = tokens per target forward = 1 + accepted / rounds.
  Reported for k = 1..8; k = 4 is the headline. For two snippets per draft an explicit
  draft-then-verify loop is also run and must give the same counts (loop_check).
* greedy samples (up to 80 new tokens, stopping at <|endoftext|>) from the target for the first
  prompt of each of the 10 benchmark categories (corpus/eval/*.jsonl).
"""

from __future__ import annotations

import argparse
import json
import math
import platform
import random
import sys
import time
from pathlib import Path

import numpy as np
import torch
import transformers
from transformers import AutoModelForCausalLM, AutoTokenizer

sys.path.insert(0, str(Path(__file__).resolve().parent))
import specs  # noqa: E402
from size_budget import budget  # noqa: E402

CATEGORIES = [
    "code_completion", "code_edit", "math_reasoning", "multi_turn", "multilingual_continuation",
    "prose_continuation", "qa", "rag", "summarization", "translation",
]
DRAFTS = ["draft-small", "draft-tiny", "draft-tiny-ce"]
DEV = "cuda"  # tests of this module set "cpu"


def load(work: Path, name: str):
    m = AutoModelForCausalLM.from_pretrained(str(work / "hf" / name), dtype=torch.float32)
    return m.to(DEV).eval()


def stream(work: Path, split: str, part: str) -> np.ndarray:
    return np.fromfile(work / "tokens" / split / f"{part}.bin", dtype=np.uint16).astype(np.int64)


@torch.no_grad()
def perplexity(model, toks: np.ndarray, n_bytes: int, T: int = specs.SEQ_LEN, bs: int = 16) -> dict:
    n_win = (len(toks) - 1) // T
    wins = torch.from_numpy(toks[: n_win * T].reshape(n_win, T))
    total_nll, total_n = 0.0, 0
    for i in range(0, n_win, bs):
        x = wins[i : i + bs].to(DEV)
        logits = model(input_ids=x).logits.float()
        nll = torch.nn.functional.cross_entropy(logits[:, :-1].reshape(-1, logits.shape[-1]), x[:, 1:].reshape(-1), reduction="sum")
        total_nll += float(nll)
        total_n += x[:, 1:].numel()
    mean = total_nll / total_n
    tokens_per_byte = len(toks) / n_bytes
    return {"loss": round(mean, 4), "ppl": round(math.exp(mean), 3), "bits_per_byte": round(mean / math.log(2) * tokens_per_byte, 4),
            "tokens": total_n}


def pick_snippets(toks: np.ndarray, n: int, P: int, min_tail: int, seed: int) -> torch.Tensor:
    """n prompts of P tokens: <|endoftext|> followed by P-1 tokens from inside one held-out document."""
    eot = np.flatnonzero(toks == specs.EOT_ID)
    docs = [(a + 1, b) for a, b in zip(eot[:-1], eot[1:]) if b - a - 1 >= P - 1 + min_tail]
    rng = random.Random(seed)
    chosen = rng.sample(docs, n) if len(docs) >= n else [rng.choice(docs) for _ in range(n)]
    out = []
    for a, b in chosen:
        off = rng.randint(a, b - (P - 1) - min_tail)
        out.append([specs.EOT_ID] + toks[off : off + P - 1].tolist())
    return torch.tensor(out)


@torch.no_grad()
def greedy_batch(model, prompts: torch.Tensor, n_new: int) -> torch.Tensor:
    """Greedy continuation by full recomputation (no KV cache), batch of equal-length prompts."""
    seq = prompts.to(DEV)
    for _ in range(n_new):
        nxt = model(input_ids=seq).logits[:, -1].argmax(-1)
        seq = torch.cat([seq, nxt[:, None]], dim=1)
    return seq[:, prompts.shape[1] :].cpu()


@torch.no_grad()
def teacher_forced_argmax(model, prompts: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """argmax of the model's next-token prediction before each y[i], given prompt + y[:i]."""
    full = torch.cat([prompts, y[:, :-1]], dim=1).to(DEV)
    logits = model(input_ids=full).logits
    P = prompts.shape[1]
    return logits[:, P - 1 :].argmax(-1).cpu()


def simulate(match: list[bool], k: int) -> tuple[int, int, int]:
    """(accepted, drafted, rounds) of greedy speculative decoding with draft length k."""
    N, pos, acc, drafted, rounds = len(match), 0, 0, 0, 0
    while pos < N:
        k_eff = min(k, N - pos)
        n = 0
        while n < k_eff and match[pos + n]:
            n += 1
        acc += n
        drafted += k_eff
        rounds += 1
        pos += n + 1
    return acc, drafted, rounds


@torch.no_grad()
def explicit_loop(target, draft, prompt: list[int], N: int, k: int) -> tuple[list[int], int, int, int]:
    """Draft proposes k greedy tokens, target verifies them in one forward pass (full recomputation)."""
    seq = list(prompt)
    out: list[int] = []
    acc = drafted = rounds = 0
    while len(out) < N:
        k_eff = min(k, N - len(out))
        s = list(seq)
        prop = []
        for _ in range(k_eff):
            nxt = int(draft(input_ids=torch.tensor([s]).to(DEV)).logits[0, -1].argmax())
            prop.append(nxt)
            s.append(nxt)
        logits = target(input_ids=torch.tensor([seq + prop]).to(DEV)).logits[0]
        t = logits[len(seq) - 1 :].argmax(-1).tolist()  # k_eff + 1 target choices
        n = 0
        while n < k_eff and prop[n] == t[n]:
            n += 1
        new = prop[:n] + [t[n]]
        seq += new
        out += new
        acc += n
        drafted += k_eff
        rounds += 1
    return out, acc, drafted, rounds


def acceptance(work: Path, target, drafts: dict, n_snip: int, n_new: int, seed: int) -> dict:
    res: dict = {}
    for domain in ("code", "prose"):
        toks = stream(work, "heldout", domain)
        prompts = pick_snippets(toks, n_snip, 128, n_new, seed)
        y = greedy_batch(target, prompts, n_new)
        t_check = teacher_forced_argmax(target, prompts, y)
        consistency = float((t_check == y).float().mean())
        repeats = float(np.mean([len(set(r.tolist())) / len(r) for r in y]))
        dom = {"snippets": n_snip, "prompt_tokens": 128, "new_tokens": n_new,
               "target_teacher_forced_consistency": round(consistency, 5),
               "target_output_distinct_token_ratio": round(repeats, 3), "drafts": {}}
        for name, d in drafts.items():
            match = (teacher_forced_argmax(d, prompts, y) == y).numpy()
            by_k = {}
            for k in range(1, 9):
                a = dr = r = 0
                for row in match:
                    aa, dd, rr = simulate(row.tolist(), k)
                    a, dr, r = a + aa, dr + dd, r + rr
                by_k[str(k)] = {"alpha": round(a / dr, 4), "tau": round(1 + a / r, 4)}
            dom["drafts"][name] = {"top1_agreement": round(float(match.mean()), 4), "k4": by_k["4"], "by_k": by_k}
            # explicit loop on two snippets must reproduce the simulation
            checks = []
            for i in range(2):
                out, a, dr, r = explicit_loop(target, d, prompts[i].tolist(), n_new, 4)
                sa, sd, sr = simulate(match[i].tolist(), 4)
                checks.append({"tokens_equal_target_greedy": out[:n_new] == y[i].tolist(),
                               "loop": [a, dr, r], "simulation": [sa, sd, sr]})
            dom["drafts"][name]["loop_check"] = checks
            print(f"{domain} {name}: k=4 alpha {by_k['4']['alpha']:.3f} tau {by_k['4']['tau']:.2f} "
                  f"(top-1 agreement {match.mean():.3f}); loop check {checks}", flush=True)
        res[domain] = dom
    return res


@torch.no_grad()
def samples(work: Path, model, tok, n_new: int = 80) -> list[dict]:
    out = []
    max_prompt = specs.SEQ_LEN - n_new
    for cat in CATEGORIES:
        with (work / "corpus" / "eval" / f"{cat}.jsonl").open() as f:
            item = json.loads(f.readline())
        ids = tok(item["prompt"])["input_ids"]
        truncated = len(ids) > max_prompt
        if truncated:
            ids = [specs.EOT_ID] + ids[-(max_prompt - 1) :]
        seq = list(ids)
        gen = []
        for _ in range(n_new):
            nxt = int(model(input_ids=torch.tensor([seq]).to(DEV)).logits[0, -1].argmax())
            if nxt == specs.EOT_ID:
                break
            gen.append(nxt)
            seq.append(nxt)
        text = tok.decode(gen, skip_special_tokens=False)
        out.append({"category": cat, "id": item["id"], "prompt": item["prompt"], "prompt_tokens": len(ids),
                    "prompt_truncated": truncated, "output": text, "new_tokens": len(gen),
                    "stopped_at_eos": len(gen) < n_new})
        print(f"--- {cat} ({item['id']}) ---\n{item['prompt'][-200:]!s}\n>>> {text!s}", flush=True)
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--work", type=Path, default=Path("/root/sd_work"))
    ap.add_argument("--snippets", type=int, default=40)
    ap.add_argument("--new-tokens", type=int, default=128)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--out", type=Path, default=None, help="results.json path (default <work>/results.json)")
    args = ap.parse_args()
    t0 = time.time()
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    work: Path = args.work
    names = ["target"] + [d for d in DRAFTS if (work / "hf" / d).exists()]
    models = {n: load(work, n) for n in names}
    tok = AutoTokenizer.from_pretrained(str(work / "hf" / "target"))
    stats = json.loads((work / "tokens" / "stats.json").read_text())

    results: dict = {
        "versions": {"torch": torch.__version__, "transformers": transformers.__version__, "python": platform.python_version()},
        "device": torch.cuda.get_device_name(0),
        "tokenizer": {"vocab_size": specs.VOCAB_SIZE, "parts": stats["parts"]},
        "size_budget": budget(work / "tokenizer" / "tokenizer.json"),
        "models": {},
    }
    for stage in ("target", "drafts"):
        f = work / "runs" / stage / "final.json"
        if f.exists():
            fin = json.loads(f.read_text())
            for n, m in fin["models"].items():
                results["models"][n] = {
                    "params": m["spec"]["params"],
                    "spec": m["spec"],
                    "train_config": m["train_config"],
                    "stage": stage,
                    "tokens_seen": fin["tokens_seen"],
                    "steps": fin["steps"],
                    "stage_seconds": fin["seconds"],
                    "stage_tokens_per_s": fin["measured_tokens_per_s"],
                    "final_train_loss": m["final_train_loss"],
                    "final_train_ce": m["final_train_ce"],
                }
            results.setdefault("data_mix", fin["mix"])

    for n, m in models.items():
        ppl = {}
        for part in specs.PARTS:
            ppl[part] = perplexity(m, stream(work, "heldout", part), stats["parts"][f"heldout/{part}"]["bytes"])
        results["models"].setdefault(n, {})["heldout"] = ppl
        print(f"{n}: " + " ".join(f"{p} ppl {v['ppl']:.2f}" for p, v in ppl.items()), flush=True)

    drafts = {n: models[n] for n in DRAFTS if n in models}
    results["acceptance"] = {
        "method": "PyTorch simulation of greedy speculative decoding (see evaluate.py), k = draft length",
        **acceptance(work, models["target"], drafts, args.snippets, args.new_tokens, args.seed),
    }
    results["samples"] = samples(work, models["target"], tok)
    results["eval_seconds"] = round(time.time() - t0, 1)
    out = args.out or work / "results.json"
    out.write_text(json.dumps(results, indent=2, ensure_ascii=False) + "\n")
    print(f"wrote {out} ({results['eval_seconds']} s)", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
