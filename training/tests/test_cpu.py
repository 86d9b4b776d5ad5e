#!/usr/bin/env python3
"""CPU smoke test of the training code (no GPU, no corpus, no transformers needed).

    python3 training/tests/test_cpu.py

Shrinks the model shapes and batch sizes, writes random token streams, then checks:
  * the attention / RoPE / GQA implementation against a naive reference;
  * a target stage of train.py runs, logs, resumes from its checkpoint and writes weights;
  * a drafts stage distils from those weights (KL and CE both logged);
  * evaluate.simulate() gives the same counts as the explicit draft-then-verify loop;
  * self_distill.generate (KV cache, grouped-query decode) continues greedily as full forwards do, and
    train_heads.chain_report counts greedy chains as by hand.
"""

from __future__ import annotations

import csv
import dataclasses
import json
import math
import shutil
import sys
import tempfile
import types
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

if not hasattr(F, "scaled_dot_product_attention"):  # torch < 2.0: a plain implementation for the test

    def _sdpa(q, k, v, is_causal=False):
        T = q.shape[-2]
        att = (q @ k.transpose(-1, -2)) / math.sqrt(q.shape[-1])
        if is_causal:
            att = att.masked_fill(torch.ones(T, T, dtype=torch.bool).triu(1), float("-inf"))
        return att.softmax(-1) @ v

    F.scaled_dot_product_attention = _sdpa

# transformers is not needed for what is tested here; evaluate.py imports it at module level
sys.modules.setdefault("transformers", types.SimpleNamespace(AutoModelForCausalLM=None, AutoTokenizer=None, __version__="stub"))

import specs  # noqa: E402

# --- shrink everything -------------------------------------------------------------------------
specs.SEQ_LEN = 32
small = dict(vocab=300, max_pos=64)
specs.SPECS["target"] = dataclasses.replace(specs.TARGET, hidden=64, layers=2, heads=4, kv_heads=2, intermediate=96, **small)
for n in ("draft-small", "draft-tiny", "draft-tiny-ce"):
    specs.SPECS[n] = dataclasses.replace(specs.SPECS[n], hidden=32, layers=1, heads=2, kv_heads=1, intermediate=64, **small)
for st in specs.STAGES.values():
    st["batch_seqs"], st["micro_seqs"] = 8, 4
    for c in st["train"].values():
        c.warmup_steps = 5

import evaluate  # noqa: E402
import train  # noqa: E402
from model import LlamaLM  # noqa: E402

evaluate.DEV = "cpu"


def naive_forward(m: LlamaLM, idx: torch.Tensor) -> torch.Tensor:
    """Reference implementation written independently (explicit loops over heads)."""
    s = m.spec
    x = m.model.embed_tokens(idx)
    T = idx.shape[1]
    pos = torch.arange(T, dtype=torch.float32)
    inv = 1.0 / (s.rope_theta ** (torch.arange(0, s.head_dim, 2, dtype=torch.float32) / s.head_dim))
    ang = pos[:, None] * inv[None, :]  # [T, hd/2]

    def rope(v):  # v [B, T, hd], halves rotated as in transformers (rotate_half)
        a, b = v[..., : s.head_dim // 2], v[..., s.head_dim // 2 :]
        return torch.cat([a * ang.cos() - b * ang.sin(), b * ang.cos() + a * ang.sin()], -1)

    def rms(v, w):
        return w * (v / torch.sqrt(v.pow(2).mean(-1, keepdim=True) + s.norm_eps))

    for L in m.model.layers:
        h = rms(x, L.input_layernorm.weight)
        q = L.self_attn.q_proj(h)
        k = L.self_attn.k_proj(h)
        v = L.self_attn.v_proj(h)
        outs = []
        for hi in range(s.heads):
            kv = hi // (s.heads // s.kv_heads)
            qh = rope(q[..., hi * s.head_dim : (hi + 1) * s.head_dim])
            kh = rope(k[..., kv * s.head_dim : (kv + 1) * s.head_dim])
            vh = v[..., kv * s.head_dim : (kv + 1) * s.head_dim]
            att = qh @ kh.transpose(-1, -2) / math.sqrt(s.head_dim)
            att = att.masked_fill(torch.ones(T, T, dtype=torch.bool).triu(1), float("-inf")).softmax(-1)
            outs.append(att @ vh)
        x = x + L.self_attn.o_proj(torch.cat(outs, -1))
        h = rms(x, L.post_attention_layernorm.weight)
        x = x + L.mlp.down_proj(F.silu(L.mlp.gate_proj(h)) * L.mlp.up_proj(h))
    x = rms(x, m.model.norm.weight)
    return x @ m.model.embed_tokens.weight.T


def test_model():
    torch.manual_seed(0)
    m = LlamaLM(specs.SPECS["target"]).eval()
    for p in m.parameters():  # non-trivial norm weights too
        p.data += 0.01 * torch.randn_like(p)
    idx = torch.randint(0, 300, (2, 20))
    with torch.no_grad():
        d = (m(idx) - naive_forward(m, idx)).abs().max().item()
    assert d < 1e-4, d
    # losses: CE equals F.cross_entropy; KL of a model against itself is 0
    y = torch.randint(0, 300, (2, 20))
    with torch.no_grad():
        loss, ce, kl = m(idx, y)
        ref = F.cross_entropy(m(idx).reshape(-1, 300), y.reshape(-1))
        assert abs(loss.item() - ref.item()) < 1e-5
        loss, ce, kl = m(idx, y, m(idx), 0.5)
        assert abs(kl.item()) < 1e-5 and abs(loss.item() - 0.5 * ref.item()) < 1e-4
    print("model: ok (max diff vs naive %.1e)" % d)


def write_tokens(work: Path):
    rng = np.random.default_rng(0)
    for split, n in (("train", 20000), ("heldout", 3000)):
        (work / "tokens" / split).mkdir(parents=True, exist_ok=True)
        for p in specs.PARTS:
            # a learnable stream: a noisy repeating pattern with document separators
            base = np.tile(np.arange(3, 60 + 10 * specs.PARTS.index(p)), n // 50 + 1)[:n]
            noise = rng.integers(3, 300, n)
            toks = np.where(rng.random(n) < 0.1, noise, base)
            toks[:: 200] = specs.EOT_ID
            toks.astype(np.uint16).tofile(work / "tokens" / split / f"{p}.bin")


def run_train(work: Path, stage: str, steps: int):
    sys.argv = ["train.py", "--work", str(work), "--stage", stage, "--steps", str(steps), "--device", "cpu",
                "--no-compile", "--eval-every", "10", "--log-every", "5", "--ckpt-every", "0"]
    assert train.main() == 0


def test_train(work: Path):
    write_tokens(work)
    run_train(work, "target", 20)
    run = work / "runs" / "target"
    # resume: pretend the run was planned for 30 steps and got interrupted at 20
    (run / "final.json").unlink()
    ck = torch.load(run / "ckpt.pt", weights_only=False)
    ck["total_steps"] = 30
    torch.save(ck, run / "ckpt.pt")
    run_train(work, "target", 30)
    rows = list(csv.DictReader((run / "target.train.csv").open()))
    steps = [int(r["step"]) for r in rows]
    assert steps == sorted(set(steps)) and steps[-1] == 30, steps
    fin = json.loads((run / "final.json").read_text())
    first, last = float(rows[0]["loss"]), fin["models"]["target"]["final_train_loss"]
    assert last < first - 0.5, (first, last)
    print(f"target stage: ok (loss {first:.2f} -> {last:.2f}, resumed at 20)")

    run_train(work, "drafts", 25)
    fin = json.loads((work / "runs" / "drafts" / "final.json").read_text())
    rows = list(csv.DictReader((work / "runs" / "drafts" / "draft-tiny.train.csv").open()))
    assert float(rows[-1]["kl"]) > 0
    rows_ce = list(csv.DictReader((work / "runs" / "drafts" / "draft-tiny-ce.train.csv").open()))
    assert float(rows_ce[-1]["kl"]) == 0
    val = list(csv.DictReader((work / "runs" / "drafts" / "draft-small.val.csv").open()))
    assert "agree" in val[-1] and 0 <= float(val[-1]["agree"]) <= 1
    for n in ("draft-small", "draft-tiny", "draft-tiny-ce"):
        assert (work / "runs" / "drafts" / "weights" / f"{n}.pt").exists()
    try:  # plots (matplotlib is optional for this test)
        import plot

        sys.argv = ["plot.py", "--work", str(work)]
        plot.main()
        assert (work / "plots" / "loss_target.png").exists() and (work / "plots" / "loss_drafts.png").exists()
    except ImportError:
        print("matplotlib missing: plots not tested")
    print("drafts stage: ok (" + ", ".join(f"{n} {m['final_train_ce']:.2f}" for n, m in fin["models"].items()) + ")")


class HFLike(torch.nn.Module):
    """Wraps LlamaLM so that model(input_ids=...).logits works as with transformers."""

    def __init__(self, m):
        super().__init__()
        self.m = m

    def forward(self, input_ids):
        return types.SimpleNamespace(logits=self.m(input_ids))


def test_simulation(work: Path):
    def load(stage, name):
        m = LlamaLM(specs.SPECS[name])
        m.load_state_dict(torch.load(work / "runs" / stage / "weights" / f"{name}.pt"))
        return HFLike(m.eval())

    target, draft = load("target", "target"), load("drafts", "draft-tiny")
    toks = np.fromfile(work / "tokens" / "heldout" / "code.bin", dtype=np.uint16).astype(np.int64)
    prompts = evaluate.pick_snippets(toks, 3, 16, 24, seed=1)
    assert prompts.shape == (3, 16) and (prompts[:, 0] == specs.EOT_ID).all()
    y = evaluate.greedy_batch(target, prompts, 24)
    assert (evaluate.teacher_forced_argmax(target, prompts, y) == y).all()
    match = (evaluate.teacher_forced_argmax(draft, prompts, y) == y).numpy()
    for i in range(3):
        for k in (1, 3, 4, 6):
            out, a, d, r = evaluate.explicit_loop(target, draft, prompts[i].tolist(), 24, k)
            assert out[:24] == y[i].tolist()
            assert (a, d, r) == evaluate.simulate(match[i].tolist(), k), (k, (a, d, r), evaluate.simulate(match[i].tolist(), k))
    # hand-checked: matches T T F | T T T T, k=4: round 1 accepts 2 and the target corrects position 2,
    # round 2 accepts 4 (positions 3..6) plus the bonus token -> (accepted 6, drafted 8, rounds 2)
    assert evaluate.simulate([True, True, False, True, True, True, True, False], 4) == (6, 8, 2)
    print(f"simulation == explicit loop: ok (draft top-1 agreement {match.mean():.2f})")


def test_self_distill():
    import self_distill
    import train_heads

    torch.manual_seed(0)
    m = LlamaLM(specs.SPECS["target"]).eval()
    for p in m.parameters():
        p.data += 0.05 * torch.randn_like(p)
    prompts = torch.randint(3, 300, (3, 10))
    g = torch.Generator()
    g.manual_seed(0)
    out = self_distill.generate(m, prompts, 8, torch.zeros(3), g)
    assert torch.equal(out[:, :10], prompts)
    with torch.no_grad():
        for t in range(10, 18):
            assert torch.equal(out[:, t], m(out[:, :t])[:, -1].argmax(-1)), t
    # sampled rows stay in the vocabulary and leave greedy rows greedy
    mixed = self_distill.generate(m, prompts, 8, torch.tensor([0.0, 1.0, 0.0]), g)
    assert torch.equal(mixed[0], out[0]) and torch.equal(mixed[2], out[2])
    # chains from rows 0..3: steps (T T) (T F) (F .) (T T) -> tau (3 + 2 + 1 + 3) / 4; step 2 stands in 2 of 3
    r = train_heads.chain_report([torch.tensor([[True, True, False, True]]), torch.tensor([[True, False, True, True]])], 0)
    assert r == {"tau": 2.25, "accept_per_position": [0.75, 0.6667]}, r
    print("self-distillation generate == full-forward greedy, chain tau: ok")


def main():
    test_model()
    test_self_distill()
    work = Path(tempfile.mkdtemp(prefix="sd_test_"))
    try:
        test_train(work)
        test_simulation(work)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print("all CPU tests passed")


if __name__ == "__main__":
    main()
