#!/usr/bin/env python3
"""Train the self-drafting heads of a base model: EAGLE heads (with EAGLE-3's training-time test) and
Medusa-1, side by side on the same batches so one frozen forward of the base serves all of them.

    bash training/heads.sh DATA OUT      # the bundled target's heads (self-distilled) and the fixtures
    python3 training/train_heads.py --base tests/fixtures/models/demo-draft-tiny --data ... \
        --out OUT --minutes 0.5 --medusa-heads 2 --eagle eagle:1:1:0.1 --reference   # test fixtures

--base is a GGUF file (read by gguf_read.py) or a Hugging Face folder of model.py's Llama. With
--gen-seconds the heads train mostly on the base's own continuations (self_distill.py) of prompts from the
data, as they will draft at decode time. Outputs in OUT/, in the reference implementations' layouts (bf16
safetensors; `specdec convert` turns each into a GGUF head):
    <name>/      per EAGLE head of --eagle: config.json + model.safetensors (fc.*, layers.0.*)
    medusa/      config.json + medusa_lm_head.safetensors ({i}.0.linear.*), sharing the base's lm_head
    heads.json   settings, speed, losses, held-out agreement and greedy chain tau, the best EAGLE head
    reference.json (--reference) fp32 outputs of the bf16-rounded first EAGLE head on a fixed input

Losses: EAGLE head `name:steps:fw:cw`: per unrolled step, fw * SmoothL1(f_hat, f) + cw * soft cross-entropy
against the base's distribution, steps weighted 0.8^i (the issue's recipe fw 1, cw 0.1; EAGLE-3's fw 0,
cw 1); Medusa: soft cross-entropy of head i against the base's distribution for x_{p+i+2}. Reports:
held-out agreement, the fraction of held-out corpus positions where a head's argmax equals the base's
(EAGLE step i: the (i+1)-th token of a chain fed its own features; teacher-forced tokens); and greedy chain
tau on the base's own greedy continuations of held-out prompts (see chain_eval), which picks the best head.
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
import gguf_read  # noqa: E402
import self_distill  # noqa: E402
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


class Teacher:
    """The base's side of a batch, shared by every head: features f [B, T, H], and for rows 0..T-2 the
    distribution of the token after the next one, probs [B, T-1, V] (row p: softmax of the logits of
    f_{p+1}, i.e. of x_{p+2}), and its argmax [B, T-1]."""

    def __init__(self, base: LlamaLM, x: torch.Tensor):
        self.E = base.model.embed_tokens.weight
        self.x = x
        self.f = base_features(base, x)
        logits = F.linear(self.f[:, 1:], self.E).float()
        self.argmax = logits.argmax(-1)
        self.probs = torch.softmax(logits, -1)


def soft_ce(logits: torch.Tensor, probs: torch.Tensor) -> torch.Tensor:
    """Per-row cross-entropy of the distribution probs against log_softmax(logits): [..., V] -> [...]."""
    s = logits.float()
    return torch.logsumexp(s, -1) - (probs * s).sum(-1)


def eagle_outputs(head: EagleHead, t: Teacher, steps: int, noise: float = 0.0) -> list[torch.Tensor]:
    """Per unrolled step i, the predicted features [B, T-1, H]; row r predicts f_{r+1} (chain start r-i)."""
    feats = t.f[:, :-1]
    if noise:
        feats = feats + (torch.rand_like(feats) - 0.5) * noise
    return head.unroll(F.embedding(t.x[:, 1:], t.E), feats, steps)


def eagle_losses(head: EagleHead, t: Teacher, steps: int, feature_w: float, ce_w: float, noise: float):
    """Per-step (loss, top-1 agreement with the base) for rows whose chain start exists (r >= i).
    loss = feature_w * SmoothL1(f_hat, f) + ce_w * soft CE against the base's distribution."""
    res = []
    for i, g in enumerate(eagle_outputs(head, t, steps, noise)):
        gi = g[:, i:]
        logits = F.linear(gi, t.E)
        loss = ce_w * soft_ce(logits, t.probs[:, i:]).mean()
        if feature_w:
            loss = loss + feature_w * F.smooth_l1_loss(gi.float(), t.f[:, 1 + i :].float())
        res.append((loss, (logits.argmax(-1) == t.argmax[:, i:]).float().mean()))
    return res


def medusa_losses(heads: MedusaHeads, t: Teacher):
    """Head i at row p predicts x_{p+i+2}: the base's distribution of row p+i (Teacher's rows)."""
    T1 = t.probs.shape[1]
    res = []
    for i, g in enumerate(heads(t.f)):
        logits = F.linear(g[:, : T1 - i], t.E)
        res.append((soft_ce(logits, t.probs[:, i:]).mean(), (logits.argmax(-1) == t.argmax[:, i:]).float().mean()))
    return res


def chain_tau(matches: list[torch.Tensor], first: int) -> float:
    """Mean tokens per target step of greedy chains: matches[i] [B, n] tells whether step i of the chain
    that starts at row p (indexed p) is the base's own token; a chain is cut at its first miss, and the
    target adds one token. Rows from `first` on (the base's own generation)."""
    ok = torch.ones_like(matches[0][:, first:], dtype=torch.bool)
    tau = torch.ones_like(ok, dtype=torch.float32)
    for m in matches:
        ok = ok & m[:, first:]
        tau += ok.float()
    return float(tau.mean())


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
    """Top-1 agreement per step / head on held-out corpus text (tokens teacher-forced)."""
    report = {}
    for part, toks in held.items():
        n = min(8, (len(toks) - 1) // T)
        x = torch.stack([toks[i * T : (i + 1) * T] for i in range(n)]).long()
        with torch.autocast(x.device.type, dtype=torch.bfloat16, enabled=x.is_cuda):
            t = Teacher(base, x)
            r = {name: [round(float(a), 4) for _, a in eagle_losses(h, t, steps, 0.0, 1.0, 0.0)] for name, h in eagle.items()}
            r["medusa"] = [round(float(a), 4) for _, a in medusa_losses(medusa, t)]
        report[part] = r
    return report


def held_out_prompts(held: dict, n: int, P: int) -> dict:
    """n prompts of P tokens per held-out part, evenly spread; dialog's end at a chat answer."""
    out = {}
    for part, toks in held.items():
        ends = self_distill.chat_ends(toks, P) if part == "dialog" else torch.arange(P, len(toks) + 1, device=toks.device)
        pick = ends[torch.linspace(0, len(ends) - 1, n, device=toks.device).long()]
        out[part] = self_distill.prompts_from(toks, pick, P)
    return out


@torch.no_grad()
def chain_eval(base, eagle: dict, eagle_steps: int, medusa, seqs: dict, P: int) -> dict:
    """Greedy chain tau on the base's own greedy continuations of held-out prompts (seqs [n, P + new]):
    per start row p in the generated text, how many of the head's drafted tokens in a row equal the
    base's greedy ones (EAGLE: a chain of eagle_steps fed its own features; Medusa: heads 1..k), plus
    one. Also the acceptance rate of each chain position (accepted given the ones before it were)."""
    report = {}
    for part, x in seqs.items():
        x = x.long()
        with torch.autocast(x.device.type, dtype=torch.bfloat16, enabled=x.is_cuda):
            t = Teacher(base, x)
            T1 = t.argmax.shape[1]
            r = {}
            for name, h in eagle.items():
                outs = eagle_outputs(h, t, eagle_steps)
                eq = [(F.linear(g[:, i:], t.E).argmax(-1) == t.argmax[:, i:]) for i, g in enumerate(outs)]
                r[name] = chain_report([m[:, : T1 - eagle_steps + 1] for m in eq], P - 1)
            med = [(F.linear(g[:, : T1 - i], t.E).argmax(-1) == t.argmax[:, i:]) for i, g in enumerate(medusa(t.f))]
            r["medusa"] = chain_report([m[:, : T1 - len(med) + 1] for m in med], P - 1)
        report[part] = r
    return report


def chain_report(matches: list[torch.Tensor], first: int) -> dict:
    ok, alive, per_pos = None, None, []
    for m in matches:
        m = m[:, first:]
        alive = torch.ones_like(m) if ok is None else ok
        ok = m if ok is None else ok & m
        per_pos.append(round(float(ok.sum()) / max(1.0, float(alive.sum())), 4))
    return {"tau": round(chain_tau(matches, first), 4), "accept_per_position": per_pos}


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


def eagle_specs(text: str) -> dict:
    """'name:steps:feature_weight:ce_weight,...' -> {name: (steps, feature_w, ce_w, noise)}; a one-step
    head gets EAGLE-1's uniform feature noise (+-0.05)."""
    out = {}
    for item in text.split(","):
        try:
            name, steps, fw, cw = item.split(":")
            out[name] = (int(steps), float(fw), float(cw), 0.1 if int(steps) == 1 else 0.0)
        except ValueError:
            raise SystemExit(f"error: --eagle item {item!r} is not name:steps:feature_weight:ce_weight")
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--base", type=Path, required=True)
    ap.add_argument("--data", type=Path, required=True)
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--minutes", type=float, default=5.0, help="training time (after self-distillation)")
    ap.add_argument("--ttt-steps", type=int, default=5, help="unrolled steps of the default EAGLE heads")
    ap.add_argument("--eagle", default=None, help="EAGLE heads to train side by side, name:steps:feature_weight:ce_weight,... "
                    "(default: eagle-ttt:S:1:0.1 (the issue's loss) and eagle-ce:S:0:1 (EAGLE-3's), S = --ttt-steps)")
    ap.add_argument("--medusa-heads", type=int, default=4)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--seq", type=int, default=512, help="training sequence length (with --gen-seconds: prompt + new)")
    ap.add_argument("--lr", type=float, default=1e-3, help="peak learning rate of the EAGLE heads")
    ap.add_argument("--medusa-lr", type=float, default=None, help="peak learning rate of the Medusa heads (default --lr)")
    ap.add_argument("--warmup", type=int, default=100)
    ap.add_argument("--init-eagle", type=Path, help="start every EAGLE head from this head GGUF")
    ap.add_argument("--init-medusa", type=Path, help="start the Medusa heads from this GGUF")
    ap.add_argument("--gen-seconds", type=float, default=0.0, help="self-distillation: seconds of generating the base's own "
                    "continuations to train on (0: corpus text only)")
    ap.add_argument("--gen-batch", type=int, default=1024)
    ap.add_argument("--gen-prompt", type=int, default=128)
    ap.add_argument("--gen-new", type=int, default=384)
    ap.add_argument("--gen-temps", default="0,0,0.7,0.7,1", help="temperatures the generated rows cycle through (0: greedy)")
    ap.add_argument("--gen-chat", type=float, default=0.5, help="share of the prompts that end at a chat answer")
    ap.add_argument("--gen-share", type=float, default=0.75, help="share of each training batch from the generations")
    ap.add_argument("--eval-prompts", type=int, default=48, help="held-out prompts per part for the greedy chain tau")
    ap.add_argument("--stop-at", type=float, default=0.0, help="end training at this many seconds after the start, "
                    "whatever the step count (0: no limit)")
    ap.add_argument("--reference", action="store_true")
    ap.add_argument("--device", default="cuda")
    args = ap.parse_args()
    t0 = time.time()
    dev = torch.device(args.device)
    torch.manual_seed(0)
    torch.backends.cuda.matmul.allow_tf32 = True
    autocast = dict(device_type=dev.type, dtype=torch.bfloat16, enabled=dev.type == "cuda")
    base, hp = load_base(args.base, dev)
    train, held = tokenize(args.data, dev)
    print(f"base {hp}; tokens {({k: len(v) for k, v in train.items()})} ({time.time() - t0:.0f} s)", flush=True)
    s = HeadSpec(hp["hidden"], hp["heads"], hp["kv_heads"], hp["intermediate"], hp["vocab"], hp["norm_eps"], hp["rope_theta"])
    recipes = eagle_specs(args.eagle or f"eagle-ttt:{args.ttt_steps}:1:0.1,eagle-ce:{args.ttt_steps}:0:1")
    eagle = {k: EagleHead(s).to(dev) for k in recipes}
    medusa = MedusaHeads(hp["hidden"], args.medusa_heads).to(dev)
    if args.init_eagle:
        sd = {k: torch.from_numpy(v.copy()) for k, v in gguf_read.eagle_head_from_gguf(args.init_eagle).items()}
        for h in eagle.values():
            h.load_state_dict(sd, strict=True)
    if args.init_medusa:
        sd = {k: torch.from_numpy(v.copy()) for k, v in gguf_read.medusa_heads_from_gguf(args.init_medusa).items()}
        medusa.load_state_dict(sd, strict=True)
    models = {**eagle, "medusa": medusa}
    peak = {k: (args.medusa_lr or args.lr) if k == "medusa" else args.lr for k in models}
    opts = {k: torch.optim.AdamW(m.parameters(), lr=peak[k], betas=(0.9, 0.95), weight_decay=0.0) for k, m in models.items()}
    E = base.model.embed_tokens.weight
    data = Batches(train, dev)
    # with the base's held-out loss first: a sanity check that the GGUF read back is the trained model
    with torch.no_grad(), torch.autocast(**autocast):
        xv = held["prose"][: 4 * 512].long().view(4, 512)
        lv = F.cross_entropy(F.linear(base_features(base, xv), E)[:, :-1].float().reshape(-1, hp["vocab"]), xv[:, 1:].reshape(-1))
    print(f"base held-out prose loss {float(lv):.3f}", flush=True)
    eval_steps = max(r[0] for r in recipes.values()) + 1
    P = args.gen_prompt
    pool = None
    if args.gen_seconds > 0:
        args.seq = P + args.gen_new
        temps = [float(v) for v in args.gen_temps.split(",")]
        pool = self_distill.pool(base, data.get, train["dialog"], P, args.gen_new, args.gen_batch, args.gen_seconds, temps,
                                 args.gen_chat, seed=4242, log=lambda m: print(m, flush=True))
    # held-out greedy continuations for the chain tau (the same for every head and both reports)
    eval_new = args.gen_new if pool is not None else args.seq - P
    g = torch.Generator(device=dev)
    g.manual_seed(7)
    with torch.autocast(**autocast):
        eval_seqs = {part: self_distill.generate(base, pr, eval_new, torch.zeros(len(pr), device=dev), g)
                     for part, pr in held_out_prompts(held, args.eval_prompts, P).items()}
    report = {
        "base": hp, "args": {k: str(v) for k, v in vars(args).items()},
        "pool_sequences": 0 if pool is None else len(pool), "pool_new_tokens": 0 if pool is None else len(pool) * args.gen_new,
        "chain_before": chain_eval(base, eagle, eval_steps, medusa, eval_seqs, P) if (args.init_eagle or args.init_medusa) else None,
    }
    print(f"ready to train ({time.time() - t0:.0f} s); chain tau before: {json.dumps(report['chain_before'])}", flush=True)
    n_gen = 0 if pool is None else round(args.batch * args.gen_share)
    pg = torch.Generator(device=dev)
    pg.manual_seed(99)
    budget = args.minutes * 60
    total, step, log = None, 0, []
    t_train = time.time()
    while total is None or step < total:
        parts = [pool[torch.randint(len(pool), (n_gen,), generator=pg, device=dev)].long()] if n_gen else []
        if n_gen < args.batch:
            parts.append(data.get(args.batch - n_gen, args.seq, seed=1000 + step))
        x = torch.cat(parts)
        with torch.autocast(**autocast):
            with torch.no_grad():
                t = Teacher(base, x)
            row = {}
            for k, m in models.items():  # one head at a time: only its graph is held
                if k == "medusa":
                    res, w = medusa_losses(medusa, t), [1.0] * args.medusa_heads
                else:
                    steps, fw, cw, noise = recipes[k]
                    res, w = eagle_losses(m, t, steps, fw, cw, noise), [0.8**i for i in range(steps)]
                loss = sum(wi * l for wi, (l, _) in zip(w, res))
                opts[k].zero_grad(set_to_none=True)
                loss.backward()
                torch.nn.utils.clip_grad_norm_(m.parameters(), 1.0)
                for grp in opts[k].param_groups:
                    grp["lr"] = lr_at(step, total or 10**9, peak[k], args.warmup)
                opts[k].step()
                row[k] = [round(float(a), 3) for _, a in res]
        step += 1
        if args.stop_at and time.time() - t0 > args.stop_at:
            print(f"stopped at step {step} of {total}: --stop-at {args.stop_at:.0f} s reached", flush=True)
            break
        if step == 30 and total is None:  # fix the step count from the measured speed
            if dev.type == "cuda":
                torch.cuda.synchronize()
            per = (time.time() - t_train) / 30
            total = max(60, int((budget - (time.time() - t_train)) / per) + 30)
            print(f"{per * 1000:.0f} ms/step -> {total} steps", flush=True)
        if step % 200 == 0 or step == total:
            log.append({"step": step, "s": round(time.time() - t0), **row})
            print(json.dumps(log[-1]), flush=True)
    for m in models.values():
        m.eval()
    report.update({"steps": step, "tokens_seen": step * args.batch * args.seq, "train_seconds": round(time.time() - t_train), "log": log})
    args.out.mkdir(parents=True, exist_ok=True)
    export(args.out, hp, eagle, medusa)  # before the evaluations, so a late failure keeps the heads
    (args.out / "heads.json").write_text(json.dumps(report, indent=1) + "\n")
    report["held_out_agreement"] = held_out(base, eagle, medusa, held, eval_steps, args.seq)
    print(json.dumps(report["held_out_agreement"]), flush=True)
    report["chain_tau"] = chain_eval(base, eagle, eval_steps, medusa, eval_seqs, P)
    mean = {k: sum(r[k]["tau"] for r in report["chain_tau"].values()) / len(report["chain_tau"]) for k in eagle}
    report["best_eagle"] = max(mean, key=mean.get)
    print(json.dumps(report["chain_tau"]), flush=True)
    print(f"mean greedy chain tau {mean}; best {report['best_eagle']}", flush=True)
    if args.reference:
        (args.out / "reference.json").write_text(json.dumps(reference(base, next(iter(eagle.values())), medusa, held)) + "\n")
    (args.out / "heads.json").write_text(json.dumps(report, indent=1) + "\n")
    print(f"done in {time.time() - t0:.0f} s", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
