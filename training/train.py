#!/usr/bin/env python3
"""Step 2: train one stage of the demo model family on the cached token streams.

    python3 training/train.py --work /root/sd_work --stage target --minutes 12
    python3 training/train.py --work /root/sd_work --stage drafts --minutes 6

Stages (specs.STAGES):
  target  the 28M-parameter Llama target, cross-entropy.
  drafts  draft-small, draft-tiny (distilled: 0.8 * KL(target || draft) + 0.2 * CE) and the
          ablation draft-tiny-ce (plain CE), trained side by side on the same batches so that one
          teacher forward pass serves all of them.

Training: bf16 autocast with float32 master weights, fused AdamW, linear warmup then cosine decay to
10 % of the peak learning rate, gradient clipping at 1.0, sequences of 1024 tokens drawn at random
offsets from the four corpus parts with the mix of specs.UPSAMPLE (sampling is seeded per step, so a
resumed run draws the same batches).

Step count: with --minutes the stage measures its own speed (steps 5..25, after torch.compile's
warm-up) and fixes the total number of steps so that the whole stage, start-up included, takes about
that long; --steps N fixes it instead. The decision is stored in the checkpoint.

Resuming: a full checkpoint (models, optimisers, step, schedule) is written atomically to
runs/<stage>/ckpt.pt every --ckpt-every seconds; rerunning the same command continues from it.
At the end, float32 weights-only files runs/<stage>/weights/<model>.pt and runs/<stage>/final.json
(summary) are written; a stage whose final.json exists is skipped.

Logs: runs/<stage>/<model>.train.csv (step, tokens, seconds, lr, loss, ce, kl, tokens/s) and
runs/<stage>/<model>.val.csv (held-out loss per part every --eval-every steps; for drafts also the
top-1 agreement with the target, a proxy of greedy acceptance).
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import os
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
import specs  # noqa: E402
from model import LlamaLM  # noqa: E402


# --------------------------------------------------------------------------------------------
# data
# --------------------------------------------------------------------------------------------
class MixData:
    """All training streams concatenated on the GPU; a batch row picks a part with probability
    proportional to tokens x upsampling, then a uniformly random window inside that part."""

    def __init__(self, folder: Path, device: torch.device):
        arrays = [np.fromfile(folder / f"{p}.bin", dtype=np.uint16).astype(np.int32) for p in specs.PARTS]
        self.lengths = [len(a) for a in arrays]
        self.tokens = torch.from_numpy(np.concatenate(arrays)).to(device)
        offsets = np.cumsum([0] + self.lengths[:-1])
        self.offsets = torch.tensor(offsets, dtype=torch.int64, device=device)
        self.spans = torch.tensor(self.lengths, dtype=torch.int64, device=device)
        w = np.array([n * specs.UPSAMPLE[p] for n, p in zip(self.lengths, specs.PARTS)], dtype=np.float64)
        self.mix = {p: float(x) for p, x in zip(specs.PARTS, w / w.sum())}
        self.probs = torch.tensor(w / w.sum(), dtype=torch.float32, device=device)
        self.device = device
        self.gen = torch.Generator(device=device)

    def batch(self, n: int, T: int, seed: int):
        self.gen.manual_seed(seed)
        part = torch.multinomial(self.probs, n, replacement=True, generator=self.gen)
        u = torch.rand(n, generator=self.gen, device=self.device, dtype=torch.float64)
        start = self.offsets[part] + (u * (self.spans[part] - T - 1).double()).long()
        idx = start[:, None] + torch.arange(T + 1, device=self.device)[None, :]
        w = self.tokens[idx].long()
        return w[:, :-1].contiguous(), w[:, 1:].contiguous()


class ValData:
    """Fixed held-out windows: the first `n` non-overlapping windows of each held-out part."""

    def __init__(self, folder: Path, device: torch.device, n: int = 16, T: int | None = None):
        T = T or specs.SEQ_LEN
        self.parts = {}
        for p in specs.PARTS:
            a = torch.from_numpy(np.fromfile(folder / f"{p}.bin", dtype=np.uint16).astype(np.int64))
            k = min(n, (len(a) - 1) // T)
            w = torch.stack([a[i * T : i * T + T + 1] for i in range(k)]).to(device)
            self.parts[p] = (w[:, :-1].contiguous(), w[:, 1:].contiguous())


# --------------------------------------------------------------------------------------------
# helpers
# --------------------------------------------------------------------------------------------
def lr_at(step: int, cfg: specs.TrainConfig, total: int | None) -> float:
    if step < cfg.warmup_steps:
        return cfg.lr * (step + 1) / cfg.warmup_steps
    if total is None:  # still measuring speed; warm-up is always longer than the measurement
        return cfg.lr
    frac = min(1.0, (step - cfg.warmup_steps) / max(1, total - cfg.warmup_steps))
    return cfg.lr * (cfg.min_lr_frac + (1 - cfg.min_lr_frac) * 0.5 * (1 + math.cos(math.pi * frac)))


def make_optimizer(model: torch.nn.Module, cfg: specs.TrainConfig) -> torch.optim.Optimizer:
    decay = [p for p in model.parameters() if p.dim() >= 2]
    no_decay = [p for p in model.parameters() if p.dim() < 2]
    groups = [{"params": decay, "weight_decay": cfg.weight_decay}, {"params": no_decay, "weight_decay": 0.0}]
    fused = next(model.parameters()).is_cuda
    return torch.optim.AdamW(groups, lr=cfg.lr, betas=cfg.betas, **({"fused": True} if fused else {}))


def atomic_save(obj, path: Path) -> None:
    tmp = path.with_suffix(path.suffix + ".tmp")
    torch.save(obj, tmp)
    os.replace(tmp, path)


class CsvLog:
    def __init__(self, path: Path, fields: list[str], resume_step: int | None):
        self.path, self.fields = path, fields
        rows = []
        if resume_step is not None and path.exists():
            with path.open() as f:
                rows = [r for r in csv.DictReader(f) if int(r["step"]) <= resume_step]
        with path.open("w", newline="") as f:
            w = csv.DictWriter(f, fieldnames=fields)
            w.writeheader()
            w.writerows(rows)

    def write(self, row: dict) -> None:
        with self.path.open("a", newline="") as f:
            csv.DictWriter(f, fieldnames=self.fields).writerow(row)


@torch.no_grad()
def evaluate(models: dict, teacher, val: ValData) -> dict:
    """Held-out cross-entropy per part for each model (+ top-1 agreement with the teacher)."""
    out = {name: {} for name in models}
    for part, (x, y) in val.parts.items():
        with torch.autocast(x.device.type, dtype=torch.bfloat16):
            t_arg = teacher(x).argmax(-1) if teacher is not None else None
            for name, m in models.items():
                m.eval()
                logits = m(x).float()
                out[name][part] = float(torch.nn.functional.cross_entropy(logits.view(-1, logits.shape[-1]), y.view(-1)))
                if t_arg is not None:
                    out[name].setdefault("_agree", []).append(float((logits.argmax(-1) == t_arg).float().mean()))
                m.train()
    for name in out:
        if "_agree" in out[name]:
            out[name]["agree"] = float(np.mean(out[name].pop("_agree")))
    return out


# --------------------------------------------------------------------------------------------
# main
# --------------------------------------------------------------------------------------------
def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--work", type=Path, default=Path("/root/sd_work"))
    ap.add_argument("--stage", choices=sorted(specs.STAGES), required=True)
    ap.add_argument("--minutes", type=float, default=None, help="wall-clock budget of the stage")
    ap.add_argument("--steps", type=int, default=None, help="fixed number of optimiser steps")
    ap.add_argument("--no-compile", action="store_true")
    ap.add_argument("--ckpt-every", type=float, default=120.0, help="seconds between checkpoints")
    ap.add_argument("--eval-every", type=int, default=250)
    ap.add_argument("--log-every", type=int, default=10)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--device", default="cuda", help="cuda (default); cpu only for tests of this script")
    args = ap.parse_args()
    if (args.minutes is None) == (args.steps is None):
        ap.error("give exactly one of --minutes and --steps")

    t_start = time.time()
    # SD_DEADLINE (unix time): checkpoint and exit with status 75 before it, for runners that limit
    # the length of one command (see device.sh); rerunning the command resumes.
    deadline = float(os.environ.get("SD_DEADLINE", "inf")) - 12.0
    torch.backends.cuda.matmul.allow_tf32 = True
    torch.backends.cudnn.allow_tf32 = True
    dev = torch.device(args.device)

    def sync():
        if dev.type == "cuda":
            torch.cuda.synchronize()
    stage = specs.STAGES[args.stage]
    run = args.work / "runs" / args.stage
    (run / "weights").mkdir(parents=True, exist_ok=True)
    if (run / "final.json").exists():
        print(f"stage {args.stage} already finished ({run / 'final.json'})", flush=True)
        return 0

    data = MixData(args.work / "tokens" / "train", dev)
    val = ValData(args.work / "tokens" / "heldout", dev)
    print(f"data: {sum(data.lengths) / 1e6:.1f} M tokens, mix {json.dumps({k: round(v, 3) for k, v in data.mix.items()})}", flush=True)

    names: list[str] = stage["models"]
    cfgs: dict[str, specs.TrainConfig] = stage["train"]
    torch.manual_seed(args.seed)
    models = {n: LlamaLM(specs.SPECS[n]).to(dev) for n in names}
    opts = {n: make_optimizer(models[n], cfgs[n]) for n in names}
    for n, m in models.items():
        print(f"{n}: {m.n_params() / 1e6:.2f} M params", flush=True)

    teacher = None
    if stage["teacher"]:
        tw = args.work / "runs" / stage["teacher"] / "weights" / f"{stage['teacher']}.pt"
        teacher = LlamaLM(specs.SPECS[stage["teacher"]]).to(dev)
        teacher.load_state_dict(torch.load(tw, map_location=dev))
        teacher.eval().requires_grad_(False)

    step, total_steps, tokens_seen, elapsed_before, measured_tps = 0, args.steps, 0, 0.0, None
    ckpt_path = run / "ckpt.pt"
    resumed = ckpt_path.exists()
    if resumed:
        ck = torch.load(ckpt_path, map_location=dev, weights_only=False)
        for n in names:
            models[n].load_state_dict(ck["models"][n])
            opts[n].load_state_dict(ck["opts"][n])
        step, total_steps, tokens_seen, elapsed_before = ck["step"], ck["total_steps"], ck["tokens"], ck["elapsed"]
        measured_tps = ck.get("measured_tps")
        print(f"resumed at step {step}/{total_steps}", flush=True)

    fwd = {n: (m if args.no_compile else torch.compile(m)) for n, m in models.items()}
    t_fwd = None
    if teacher is not None:
        t_fwd = teacher if args.no_compile else torch.compile(teacher)

    train_logs = {
        n: CsvLog(run / f"{n}.train.csv", ["step", "tokens", "seconds", "lr", "loss", "ce", "kl", "tok_per_s"], step if resumed else None)
        for n in names
    }
    val_fields = ["step", "tokens", "seconds"] + specs.PARTS + (["agree"] if teacher is not None else [])
    val_logs = {n: CsvLog(run / f"{n}.val.csv", val_fields, step if resumed else None) for n in names}

    T = specs.SEQ_LEN
    micro = stage["micro_seqs"]
    accum = stage["batch_seqs"] // micro
    tokens_per_step = stage["batch_seqs"] * T
    acc = {n: {"loss": 0.0, "ce": 0.0, "kl": 0.0} for n in names}
    t_interval, tok_interval = time.time(), 0
    t_measure0, proc_steps, n_acc = None, 0, 0
    last_ckpt = time.time()
    budget_s = args.minutes * 60 if args.minutes else None
    session_start = t_start

    def elapsed() -> float:
        return elapsed_before + time.time() - session_start

    def save_ckpt():
        atomic_save(
            {
                "models": {n: models[n].state_dict() for n in names},
                "opts": {n: opts[n].state_dict() for n in names},
                "step": step,
                "total_steps": total_steps,
                "tokens": tokens_seen,
                "elapsed": elapsed(),
                "measured_tps": measured_tps,
            },
            ckpt_path,
        )

    def log_val():
        res = evaluate(models, teacher, val)
        for n in names:
            row = {"step": step, "tokens": tokens_seen, "seconds": round(elapsed(), 1)}
            row.update({k: round(v, 5) for k, v in res[n].items()})
            val_logs[n].write(row)
        print("val " + " | ".join(f"{n}: " + " ".join(f"{k}={v:.3f}" for k, v in res[n].items()) for n in names), flush=True)
        return res

    last_val = None
    if not resumed:
        log_val()
    while total_steps is None or step < total_steps:
        lrs = {n: lr_at(step, cfgs[n], total_steps) for n in names}
        for n in names:
            for g in opts[n].param_groups:
                g["lr"] = lrs[n]
        for k in range(accum):
            x, y = data.batch(micro, T, seed=args.seed * 1_000_003 + step * 64 + k)
            with torch.autocast(dev.type, dtype=torch.bfloat16):
                t_logits = None
                if t_fwd is not None:
                    with torch.no_grad():
                        t_logits = t_fwd(x)
                for n in names:
                    alpha = cfgs[n].kd_alpha
                    loss, ce, kl = fwd[n](x, y, t_logits if alpha > 0 else None, alpha)
                    (loss / accum).backward()
                    acc[n]["loss"] += loss.detach() / accum
                    acc[n]["ce"] += ce / accum
                    acc[n]["kl"] += kl / accum
        for n in names:
            torch.nn.utils.clip_grad_norm_(models[n].parameters(), cfgs[n].grad_clip)
            opts[n].step()
            opts[n].zero_grad(set_to_none=True)
        step += 1
        n_acc += 1
        tokens_seen += tokens_per_step
        tok_interval += tokens_per_step

        proc_steps += 1
        # speed measurement and step budget (steps 5..25 of this process, after compilation)
        if budget_s is not None and total_steps is None:
            if proc_steps == 5:
                sync()
                t_measure0 = time.time()
            elif proc_steps == 25:
                sync()
                step_time = (time.time() - t_measure0) / 20
                measured_tps = tokens_per_step / step_time
                remaining = budget_s - elapsed() - 20.0  # final evaluation, checkpoint, export of weights
                remaining -= remaining * 0.04  # periodic evaluation and checkpoints
                total_steps = step + max(0, int(remaining / step_time))
                print(f"measured {step_time * 1000:.0f} ms/step, {measured_tps / 1e3:.0f} k tokens/s -> "
                      f"{total_steps} steps ({total_steps * tokens_per_step / 1e6:.0f} M tokens)", flush=True)

        if step % args.log_every == 0 or step == total_steps:
            sync()
            now = time.time()
            tps = tok_interval / (now - t_interval)
            t_interval, tok_interval = now, 0
            parts = []
            for n in names:
                a = {k: float(v) / max(1, n_acc) for k, v in acc[n].items()}  # mean over the steps since the last log
                train_logs[n].write(
                    {"step": step, "tokens": tokens_seen, "seconds": round(elapsed(), 1), "lr": f"{lrs[n]:.3e}",
                     "loss": round(a["loss"], 4), "ce": round(a["ce"], 4), "kl": round(a["kl"], 4), "tok_per_s": round(tps)}
                )
                parts.append(f"{n} {a['loss']:.3f} (ce {a['ce']:.3f})")
                acc[n] = {"loss": 0.0, "ce": 0.0, "kl": 0.0}
            n_acc = 0
            if step % (args.log_every * 5) == 0:
                print(f"step {step}/{total_steps} {elapsed():.0f}s {tps / 1e3:.0f}k tok/s lr {lrs[names[0]]:.2e} | " + " | ".join(parts), flush=True)
        if step % args.eval_every == 0:
            last_val = log_val()
        if time.time() - last_ckpt > args.ckpt_every:
            save_ckpt()
            last_ckpt = time.time()
        if time.time() > deadline and step < (total_steps or step + 1):
            save_ckpt()
            print(f"deadline (SD_DEADLINE) reached: checkpoint at step {step}, rerun to resume", flush=True)
            return 75

    res = log_val() if step % args.eval_every != 0 or last_val is None else last_val
    save_ckpt()
    summary = {"stage": args.stage, "steps": step, "tokens_seen": tokens_seen, "seconds": round(elapsed(), 1),
               "tokens_per_step": tokens_per_step, "measured_tokens_per_s": round(measured_tps) if measured_tps else None,
               "mix": data.mix, "train_tokens": dict(zip(specs.PARTS, data.lengths)), "models": {}}
    for n in names:
        torch.save({k: v.float().cpu() for k, v in models[n].state_dict().items()}, run / "weights" / f"{n}.pt")
        with (run / f"{n}.train.csv").open() as f:
            rows = list(csv.DictReader(f))
        last = rows[-5:]
        summary["models"][n] = {
            "spec": specs.SPECS[n].to_dict(),
            "train_config": {k: v for k, v in vars(cfgs[n]).items()},
            "final_train_loss": round(float(np.mean([float(r["loss"]) for r in last])), 4),
            "final_train_ce": round(float(np.mean([float(r["ce"]) for r in last])), 4),
            "final_val": res[n],
        }
    (run / "final.json").write_text(json.dumps(summary, indent=2) + "\n")
    print(f"stage {args.stage} done: {step} steps, {tokens_seen / 1e6:.0f} M tokens, {elapsed():.0f} s", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
