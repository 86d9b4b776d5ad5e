#!/usr/bin/env python3
"""Step 5: loss-curve plots from the training CSV logs.

    python3 training/plot.py --work /root/sd_work --out /root/sd_work/plots

Writes loss_target.png (training loss and held-out loss per part vs tokens) and loss_drafts.png
(training cross-entropy and distillation KL of each draft, held-out loss, and top-1 agreement with
the target on held-out text).
"""

from __future__ import annotations

import argparse
import csv
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

PARTS = ["prose", "code", "dialog", "multi"]


def read(path: Path) -> dict[str, np.ndarray]:
    with path.open() as f:
        rows = list(csv.DictReader(f))
    cols = {}
    for k in rows[0].keys() if rows else []:
        vals = []
        for r in rows:
            try:
                vals.append(float(r[k]))
            except (TypeError, ValueError):
                vals.append(np.nan)
        cols[k] = np.array(vals)
    return cols


def smooth(y: np.ndarray, w: int = 10) -> np.ndarray:
    if len(y) < w:
        return y
    return np.convolve(y, np.ones(w) / w, mode="valid")


def plot_target(run: Path, out: Path) -> None:
    tr, va = read(run / "target.train.csv"), read(run / "target.val.csv")
    fig, ax = plt.subplots(1, 2, figsize=(12, 4.5))
    x = tr["tokens"] / 1e6
    ax[0].plot(x, tr["loss"], alpha=0.25, color="C0")
    s = smooth(tr["loss"])
    ax[0].plot(x[len(x) - len(s) :], s, color="C0", label="train (smoothed)")
    ax[0].set(xlabel="tokens (M)", ylabel="cross-entropy (nats/token)", title="target: training loss", ylim=(1.0, 6.0))
    ax[0].grid(alpha=0.3)
    ax[0].legend()
    for i, p in enumerate(PARTS):
        ax[1].plot(va["tokens"] / 1e6, va[p], marker="o", ms=3, label=p, color=f"C{i}")
    ax[1].set(xlabel="tokens (M)", ylabel="held-out cross-entropy", title="target: held-out loss per part", ylim=(0.5, 6.0))
    ax[1].grid(alpha=0.3)
    ax[1].legend()
    fig.tight_layout()
    fig.savefig(out / "loss_target.png", dpi=110)
    plt.close(fig)


def plot_drafts(run: Path, out: Path, names=("draft-small", "draft-tiny", "draft-tiny-ce")) -> None:
    fig, ax = plt.subplots(1, 3, figsize=(16, 4.5))
    for i, n in enumerate(names):
        if not (run / f"{n}.train.csv").exists():
            continue
        tr, va = read(run / f"{n}.train.csv"), read(run / f"{n}.val.csv")
        x = tr["tokens"] / 1e6
        s = smooth(tr["ce"])
        ax[0].plot(x[len(x) - len(s) :], s, color=f"C{i}", label=f"{n} CE")
        if np.nanmax(tr["kl"]) > 0:
            k = smooth(tr["kl"])
            ax[0].plot(x[len(x) - len(k) :], k, color=f"C{i}", ls="--", label=f"{n} KL(target||draft)")
        mean_val = np.nanmean(np.stack([va[p] for p in PARTS]), axis=0)
        ax[1].plot(va["tokens"] / 1e6, mean_val, marker="o", ms=3, color=f"C{i}", label=n)
        if "agree" in va:
            ax[2].plot(va["tokens"] / 1e6, va["agree"], marker="o", ms=3, color=f"C{i}", label=n)
    ax[0].set(xlabel="tokens (M)", ylabel="nats/token", title="drafts: training losses (smoothed)", ylim=(0.0, 6.0))
    ax[1].set(xlabel="tokens (M)", ylabel="cross-entropy", title="drafts: held-out loss (mean of 4 parts)", ylim=(1.0, 6.0))
    ax[2].set(xlabel="tokens (M)", ylabel="fraction", title="drafts: top-1 agreement with target (held-out)", ylim=(0.0, 1.0))
    for a in ax:
        a.grid(alpha=0.3)
        a.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(out / "loss_drafts.png", dpi=110)
    plt.close(fig)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--work", type=Path, default=Path("/root/sd_work"))
    ap.add_argument("--out", type=Path, default=None)
    args = ap.parse_args()
    out = args.out or args.work / "plots"
    out.mkdir(parents=True, exist_ok=True)
    if (args.work / "runs" / "target" / "target.train.csv").exists():
        plot_target(args.work / "runs" / "target", out)
    if (args.work / "runs" / "drafts").exists():
        plot_drafts(args.work / "runs" / "drafts", out)
    print("plots in", out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
