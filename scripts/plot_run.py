#!/usr/bin/env python3
"""Draws a run's loss curve: RUN_DIR/metrics.jsonl (written by a compiled
model's `train`) -> RUN_DIR/loss.png, training loss (the mean of each logged
window) and validation loss in nats/token against training tokens.

    .venv/bin/python scripts/plot_run.py runs/hope [--out FILE] [--title TEXT]
"""
import argparse
import json
import os
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


def read_metrics(path):
    """(train, val): lists of (tokens, loss) from a metrics.jsonl."""
    train, val = [], []
    with open(path) as f:
        for n, line in enumerate(f, 1):
            try:
                m = json.loads(line)
                point = (m["tokens"], m["loss"])
            except (ValueError, KeyError) as e:
                sys.exit(f"plot_run.py: {path}:{n}: not a metrics line ({e})")
            (val if m.get("split") == "val" else train).append(point)
    return train, val


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("run_dir")
    ap.add_argument("--out", help="PNG file (default: RUN_DIR/loss.png)")
    ap.add_argument("--title", help="plot title (default: the run directory)")
    a = ap.parse_args()
    path = os.path.join(a.run_dir, "metrics.jsonl")
    if not os.path.isfile(path):
        sys.exit(f"plot_run.py: {path} does not exist (train a model with --run-dir {a.run_dir} first)")
    train, val = read_metrics(path)
    if not train and not val:
        sys.exit(f"plot_run.py: {path} holds no metrics")
    fig, ax = plt.subplots(figsize=(7, 4.5))
    if train:
        ax.plot(*zip(*train), label="train (window mean)", lw=1)
    if val:
        ax.plot(*zip(*val), "o-", label="validation", lw=1.5)
    ax.set_xlabel("training tokens")
    ax.set_ylabel("loss (nats/token)")
    ax.set_title(a.title or a.run_dir)
    ax.grid(alpha=0.3)
    ax.legend()
    out = a.out or os.path.join(a.run_dir, "loss.png")
    fig.tight_layout()
    fig.savefig(out + ".tmp.png", dpi=110)
    os.replace(out + ".tmp.png", out)
    print(f"plot_run.py: wrote {out}")


if __name__ == "__main__":
    main()
