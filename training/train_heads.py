#!/usr/bin/env python3
"""Train the self-drafting heads of a base model: EAGLE (plain, and with EAGLE-3's training-time test)
and Medusa-1, side by side on the same batches so one frozen forward of the base serves all three.

    python3 training/train_heads.py --base models/target-q8_0.gguf --data heads-data.tar.xz \
        --out OUT --minutes 5
    python3 training/train_heads.py --base tests/fixtures/models/demo-draft-tiny --data ... \
        --out OUT --minutes 0.5 --medusa-heads 2 --reference   # the test fixtures

--base is a GGUF file (read by gguf_read.py) or a Hugging Face folder of model.py's Llama. Outputs in
OUT/, in the reference implementations' layouts (bf16 safetensors; `specdec convert` turns each into a
GGUF head):
    eagle/       config.json + model.safetensors (fc.*, layers.0.*): trained with one step
    eagle-ttt/   the same layout, trained with the training-time test (--ttt-steps unrolled steps)
    medusa/      config.json + medusa_lm_head.safetensors ({i}.0.linear.*), sharing the base's lm_head
    heads.json   settings, speed, losses and the held-out agreement per step / per head
    reference.json (--reference) fp32 outputs of the bf16-rounded heads on a fixed input, for tests

Losses (the issue's recipe): EAGLE: SmoothL1(f_hat, f) + 0.1 * soft cross-entropy against the base's
distribution, steps weighted 0.8^i; Medusa: soft cross-entropy of head i against the base's distribution
for x_{p+i+2}. Held-out agreement: the fraction of held-out positions where a head's argmax equals the
base's argmax (EAGLE step i: the (i+1)-th token of a chain fed its own features; teacher-forced tokens),
a proxy of per-position acceptance; the benchmark measures the real thing.
"""

from __future__ import annotations

import argparse
import io
import json
import math
import re
import sys
import tarfile
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, str(Path(__file__).resolve().parent))
import specs  # noqa: E402
from gguf_read import llama_from_gguf  # noqa: E402
from heads import EagleHead, HeadSpec, MedusaHeads  # noqa: E402
from model import LlamaLM  # noqa: E402

DOC_SEP = re.compile(r"^<\|endoftext\|>\n?", re.M)
MIX = {"prose": 1.0, "code": 1.0, "dialog": 2.0, "multi": 0.5}  # dialog: most benchmark prompts are chats


def load_base(path: Path, device) -> tuple[LlamaLM, dict]:
    if path.is_dir():
        from safetensors.torch import load_file

        cfg = json.loads((path / "config.json").read_text())
        hp = {
            "hidden": cfg["hidden_size"], "layers": cfg["num_hidden_layers"], "heads": cfg["num_attention_heads"],
            "kv_heads": cfg["num_key_value_heads"], "intermediate": cfg["intermediate_size"],
            "vocab": cfg["vocab_size"], "norm_eps": cfg["rms_norm_eps"],
            "rope_theta": float(cfg.get("rope_theta") or cfg["rope_parameters"]["rope_theta"]), "name": path.name,
        }
        sd = {k: v.float() for k, v in load_file(str(path / "model.safetensors")).items()}
    else:
        hp, arrays = llama_from_gguf(path)
        sd = {k: torch.from_numpy(v) for k, v in arrays.items()}
    spec = specs.ModelSpec(hp["name"], hp["hidden"], hp["layers"], hp["heads"], hp["kv_heads"], hp["intermediate"],
                           vocab=hp["vocab"], rope_theta=hp["rope_theta"], norm_eps=hp["norm_eps"])
    model = LlamaLM(spec)
    if "lm_head.weight" in sd:
        raise SystemExit(f"{path}: untied output heads are not handled by this script")
    model.load_state_dict(sd, strict=True)
    return model.to(device).eval().requires_grad_(False), hp


def tokenize(data_tar: Path, device) -> tuple[dict, dict]:
    """Token streams per part, <|endoftext|> doc <|endoftext|> ...; cached beside the tarball."""
    cache = data_tar.with_suffix(".tokens.pt")
    if cache.exists():
        train, held = torch.load(cache)
        return {k: v.to(device) for k, v in train.items()}, {k: v.to(device) for k, v in held.items()}
    from tokenizers import Tokenizer

    tok = Tokenizer.from_file(str(Path(__file__).resolve().parent / "tokenizer" / "tokenizer.json"))
    train, held = {}, {}
    with tarfile.open(data_tar) as tar:
        for m in tar.getmembers():
            split, part = m.name.split("/")[0], Path(m.name).stem
            docs = [d for d in DOC_SEP.split(tar.extractfile(m).read().decode("utf-8")) if d.strip()]
            ids = [specs.EOT_ID]
            for e in tok.encode_batch(docs, add_special_tokens=False):
                ids.extend(e.ids)
                ids.append(specs.EOT_ID)
            (train if split == "train" else held)[part] = torch.tensor(ids, dtype=torch.int32)
    torch.save((train, held), cache)
    return {k: v.to(device) for k, v in train.items()}, {k: v.to(device) for k, v in held.items()}


class Batches:
    def __init__(self, parts: dict, device):
        self.names = list(parts)
        self.tokens = torch.cat([parts[p] for p in self.names])
        lens = [len(parts[p]) for p in self.names]
        self.offsets = torch.tensor(np.cumsum([0] + lens[:-1]), device=device)
        self.spans = torch.tensor(lens, device=device)
        w = torch.tensor([lens[i] * MIX.get(p, 1.0) for i, p in enumerate(self.names)], dtype=torch.float64)
        self.probs = (w / w.sum()).float().to(device)
        self.gen = torch.Generator(device=device)
        self.device = device

    def get(self, n: int, T: int, seed: int) -> torch.Tensor:
        self.gen.manual_seed(seed)
        part = torch.multinomial(self.probs, n, replacement=True, generator=self.gen)
        u = torch.rand(n, generator=self.gen, device=self.device, dtype=torch.float64)
        start = self.offsets[part] + (u * (self.spans[part] - T - 1).double()).long()
        return self.tokens[start[:, None] + torch.arange(T, device=self.device)[None, :]].long()


def base_features(base: LlamaLM, x: torch.Tensor) -> torch.Tensor:
    """The final-normed last hidden states [B, T, H] (the lm_head input)."""
    h = base.model.embed_tokens(x)
    T = x.shape[1]
    cos, sin = base.rope_cos[:T], base.rope_sin[:T]
    for layer in base.model.layers:
        h = layer(h, cos, sin)
    return base.model.norm(h)


def soft_ce(logits: torch.Tensor, target_logits: torch.Tensor) -> torch.Tensor:
    """Per-row cross-entropy of softmax(target_logits) against log_softmax(logits): [..., V] -> [...]."""
    return -(F.softmax(target_logits.float(), -1) * F.log_softmax(logits.float(), -1)).sum(-1)


def eagle_losses(head: EagleHead, E: torch.Tensor, x, f, steps: int, noise: float):
    """Per-step (loss, top-1 agreement with the base) for rows whose chain and target exist."""
    T = x.shape[1]
    emb_next = F.embedding(x[:, 1:], E)  # row p: embed(x_{p+1}), rows 0..T-2
    feats = f[:, :-1]
    if noise:
        feats = feats + (torch.rand_like(feats) - 0.5) * noise
    outs = head.unroll(emb_next, feats, steps)
    target_f = f[:, 1:]  # row p: f_{p+1}
    target_logits = F.linear(target_f, E)
    res = []
    for i, g in enumerate(outs):
        rows = slice(i, T - 1)  # chains need a start p - i >= 0
        gi, tf, tl = g[:, rows], target_f[:, rows], target_logits[:, rows]
        logits = F.linear(gi, E)
        loss = F.smooth_l1_loss(gi.float(), tf.float()) + 0.1 * soft_ce(logits, tl).mean()
        agree = (logits.argmax(-1) == tl.argmax(-1)).float().mean()
        res.append((loss, agree))
    return res


def medusa_losses(heads: MedusaHeads, E: torch.Tensor, f):
    """Head i at row p predicts x_{p+i+2}: the base's distribution at row p+i+1."""
    T = f.shape[1]
    base_logits = F.linear(f, E)
    res = []
    for i, g in enumerate(heads(f)):
        n = T - (i + 1)
        logits = F.linear(g[:, :n], E)
        tl = base_logits[:, i + 1 :]
        res.append((soft_ce(logits, tl).mean(), (logits.argmax(-1) == tl.argmax(-1)).float().mean()))
    return res


def lr_at(step: int, total: int, peak: float, warmup: int = 100) -> float:
    if step < warmup:
        return peak * (step + 1) / warmup
    t = min(1.0, (step - warmup) / max(1, total - warmup))
    return peak * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * t)))


def save_bf16(tensors: dict, path: Path, meta: dict) -> None:
    from safetensors.torch import save_file

    save_file({k: v.detach().to(torch.bfloat16).contiguous().cpu() for k, v in tensors.items()}, str(path), metadata=meta)


def export(out: Path, hp: dict, eagle: dict, medusa: MedusaHeads) -> None:
    base_name = hp["name"]
    for name, head in eagle.items():
        d = out / name
        d.mkdir(parents=True, exist_ok=True)
        cfg = {
            "architectures": ["LlamaForCausalLM"], "model_type": "llama", "bias": True,
            "hidden_size": hp["hidden"], "intermediate_size": hp["intermediate"],
            "num_attention_heads": hp["heads"], "num_key_value_heads": hp["kv_heads"], "num_hidden_layers": 1,
            "head_dim": hp["hidden"] // hp["heads"], "vocab_size": hp["vocab"], "rms_norm_eps": hp["norm_eps"],
            "rope_theta": hp["rope_theta"], "max_position_embeddings": 2048, "hidden_act": "silu",
            "tie_word_embeddings": True, "torch_dtype": "bfloat16", "base_model_name_or_path": base_name,
        }
        (d / "config.json").write_text(json.dumps(cfg, indent=2) + "\n")
        save_bf16(head.state_dict(), d / "model.safetensors", {"format": "pt"})
    d = out / "medusa"
    d.mkdir(parents=True, exist_ok=True)
    cfg = {"medusa_num_heads": len(medusa.heads), "medusa_num_layers": 1, "hidden_size": hp["hidden"],
           "vocab_size": hp["vocab"], "base_model_name_or_path": base_name}
    (d / "config.json").write_text(json.dumps(cfg, indent=2) + "\n")
    save_bf16(medusa.reference_state_dict(), d / "medusa_lm_head.safetensors", {"format": "pt"})


@torch.no_grad()
def held_out(base, eagle: dict, medusa, held: dict, steps: int, T: int) -> dict:
    E = base.model.embed_tokens.weight
    report = {}
    for part, toks in held.items():
        n = min(8, (len(toks) - 1) // T)
        x = torch.stack([toks[i * T : (i + 1) * T] for i in range(n)]).long()
        with torch.autocast(x.device.type, dtype=torch.bfloat16, enabled=x.is_cuda):
            f = base_features(base, x)
            r = {name: [round(float(a), 4) for _, a in eagle_losses(h, E, x, f, steps, 0.0)] for name, h in eagle.items()}
            r["medusa"] = [round(float(a), 4) for _, a in medusa_losses(medusa, E, f)]
        report[part] = r
    return report


@torch.no_grad()
def reference(base, eagle_head: EagleHead, medusa: MedusaHeads, held: dict) -> dict:
    """fp32 outputs of the bf16-rounded heads on the first 24 held-out dialog tokens."""
    for m in (eagle_head, medusa):
        for p in m.parameters():
            p.copy_(p.to(torch.bfloat16).float())
    x = held["dialog"][:24].long()[None]
    E = base.model.embed_tokens.weight
    f = base_features(base, x)
    g = eagle_head.unroll(F.embedding(x[:, 1:], E), f[:, :-1], 1)[0]
    # a greedy chain of 4 tokens from the last position: the head's own tokens and features
    chain = []
    nxt = F.linear(f[:, -1], E).argmax(-1)  # the base's own next token is the chain's first input
    seq_emb = F.embedding(torch.cat((x[:, 1:], nxt[:, None]), 1), E)
    feats = f
    for _ in range(4):
        out = eagle_head.unroll(seq_emb, feats, 1)[0]
        tok = F.linear(out[:, -1], E).argmax(-1)
        chain.append(int(tok))
        feats = torch.cat((feats, out[:, -1:]), 1)
        seq_emb = torch.cat((seq_emb, F.embedding(tok[:, None], E)), 1)
    med = medusa(f)
    return {
        "input_ids": x[0].tolist(),
        "base_next_token": int(nxt),
        "features": f[0].tolist(),
        "eagle_features": g[0].tolist(),
        "eagle_argmax": F.linear(g, E).argmax(-1)[0].tolist(),
        "eagle_chain_after_next_token": chain,
        "medusa_argmax": [F.linear(m, E).argmax(-1)[0].tolist() for m in med],
        "medusa_features_last": [m[0, -1].tolist() for m in med],
    }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--base", type=Path, required=True)
    ap.add_argument("--data", type=Path, required=True)
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--minutes", type=float, default=5.0)
    ap.add_argument("--ttt-steps", type=int, default=4)
    ap.add_argument("--medusa-heads", type=int, default=4)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--seq", type=int, default=512)
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--reference", action="store_true")
    ap.add_argument("--device", default="cuda")
    args = ap.parse_args()
    t0 = time.time()
    dev = torch.device(args.device)
    torch.manual_seed(0)
    torch.backends.cuda.matmul.allow_tf32 = True
    base, hp = load_base(args.base, dev)
    train, held = tokenize(args.data, dev)
    print(f"base {hp}; tokens {({k: len(v) for k, v in train.items()})} ({time.time() - t0:.0f} s)", flush=True)
    s = HeadSpec(hp["hidden"], hp["heads"], hp["kv_heads"], hp["intermediate"], hp["vocab"], hp["norm_eps"], hp["rope_theta"])
    eagle = {"eagle": EagleHead(s).to(dev), "eagle-ttt": EagleHead(s).to(dev)}
    steps_of = {"eagle": 1, "eagle-ttt": args.ttt_steps}
    medusa = MedusaHeads(hp["hidden"], args.medusa_heads).to(dev)
    models = {**eagle, "medusa": medusa}
    opts = {k: torch.optim.AdamW(m.parameters(), lr=args.lr, betas=(0.9, 0.95), weight_decay=0.0) for k, m in models.items()}
    E = base.model.embed_tokens.weight
    data = Batches(train, dev)
    # with the base's held-out loss first: a sanity check that the GGUF read back is the trained model
    with torch.no_grad(), torch.autocast(dev.type, dtype=torch.bfloat16, enabled=dev.type == "cuda"):
        xv = held["prose"][: 4 * 512].long().view(4, 512)
        lv = F.cross_entropy(F.linear(base_features(base, xv), E)[:, :-1].float().reshape(-1, hp["vocab"]), xv[:, 1:].reshape(-1))
    print(f"base held-out prose loss {float(lv):.3f}", flush=True)
    budget = args.minutes * 60
    total, step, log = None, 0, []
    t_train = time.time()
    while total is None or step < total:
        x = data.get(args.batch, args.seq, seed=1000 + step)
        lrs = {k: lr_at(step, total or 10**9, args.lr) for k in models}
        with torch.autocast(dev.type, dtype=torch.bfloat16, enabled=dev.type == "cuda"):
            with torch.no_grad():
                f = base_features(base, x)
            res = {k: eagle_losses(h, E, x, f, steps_of[k], 0.1 if k == "eagle" else 0.0) for k, h in eagle.items()}
            res["medusa"] = medusa_losses(medusa, E, f)
        for k, m in models.items():
            w = [0.8**i for i in range(len(res[k]))] if k != "medusa" else [1.0] * len(res[k])
            loss = sum(wi * l for wi, (l, _) in zip(w, res[k]))
            opts[k].zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(m.parameters(), 1.0)
            for g in opts[k].param_groups:
                g["lr"] = lrs[k]
            opts[k].step()
        step += 1
        if step == 30 and total is None:  # fix the step count from the measured speed
            if dev.type == "cuda":
                torch.cuda.synchronize()
            per = (time.time() - t_train) / 30
            total = max(60, int((budget - (time.time() - t0) - 40) / per))
            print(f"{per * 1000:.0f} ms/step -> {total} steps", flush=True)
        if step % 200 == 0 or step == total:
            row = {"step": step, "s": round(time.time() - t0)}
            for k in models:
                row[k] = [round(float(a), 3) for _, a in res[k]]
            log.append(row)
            print(json.dumps(row), flush=True)
    for m in models.values():
        m.eval()
    report = {
        "base": hp, "args": {k: str(v) for k, v in vars(args).items()}, "steps": step,
        "tokens_seen": step * args.batch * args.seq, "train_seconds": round(time.time() - t_train),
        "held_out_agreement": held_out(base, eagle, medusa, held, args.ttt_steps + 1, args.seq), "log": log,
    }
    args.out.mkdir(parents=True, exist_ok=True)
    export(args.out, hp, eagle, medusa)
    if args.reference:
        (args.out / "reference.json").write_text(json.dumps(reference(base, eagle["eagle"], medusa, held)) + "\n")
    (args.out / "heads.json").write_text(json.dumps(report, indent=1) + "\n")
    print(json.dumps(report["held_out_agreement"]), flush=True)
    print(f"done in {time.time() - t0:.0f} s", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
