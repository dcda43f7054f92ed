#!/usr/bin/env python3
"""Do the example models train without diverging? (issue: every example
trains for thousands of steps, several seeds, at its defaults and at batch
16, without a NaN; design/NESTED_LEARNING.md §9.10.)

For each model (examples/<name>.nl as shipped, or at the sizes given with
--set) and each batch size: `nlc` once, then `train --steps N --seed S` for
each seed, at the example's compiled learning rate (--lr 1), constant
schedule, validation every --eval-every steps. A run *diverges* when
`train` stops on a non-finite loss (exit code 3: it keeps the last finite
checkpoint and names the first non-finite tensor, runtime/README.md); the
table says how many runs of each configuration diverged, at which step,
and the final training and validation losses of the others (nats/token).
The PNG shows every run's training loss against steps. Writes the section
`stability.py` of --out (docs/results.md), docs/results-stability.png and
docs/results-stability.json. Nothing here is a test.

Usage: .venv/bin/python bench/stability.py [--models titans hope ...]
           [--batches 0 16] [--steps 2000] [--seeds 0 1 2] [--set d=64 ...]
           [--work DIR [--resume]]
       .venv/bin/python bench/stability.py --from-json docs/results-stability.json
           (rewrites the section and the PNG from the runs saved there)
"""
import argparse
import json
import os
import subprocess
import sys
import time

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from nl_examples import parse_run_args, write_section  # noqa: E402

root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
ap.add_argument("--build", default=os.path.join(root, "build"))
ap.add_argument("--from-json", nargs="+", metavar="FILE",
                help="do not train: the runs (and their commands) saved by earlier runs, together")
ap.add_argument("--models", nargs="+", default=["transformer", "linear_attention", "deltanet", "titans", "hope"])
ap.add_argument("--batches", nargs="+", type=int, default=[0, 16], help="batch sizes (0: the example's own)")
ap.add_argument("--steps", type=int, default=2000)
ap.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
ap.add_argument("--eval-every", type=int, default=500)
ap.add_argument("--resume", action="store_true",
                help="continue the runs kept in --work (each from its last checkpoint: `train` checkpoints at every "
                     "validation) instead of starting them again; for runs longer than one sitting")
ap.add_argument("--set", action="append", default=[], metavar="NAME=VALUE",
                help="nlc --set for every model (e.g. d=64 layers=2); default: the examples as shipped")
a, nlc, work = parse_run_args(ap, "nl-stability-")


def sh(cmd):
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode != 0:
        sys.exit(f"stability.py: {' '.join(cmd)} failed (exit {r.returncode}):\n{r.stdout}{r.stderr}")
    return r


results = []  # one dict per run
commands = [sys.argv[1:]]  # one per invocation that trained
if a.from_json:
    commands = []
    for path in a.from_json:
        with open(path) as f:
            saved = json.load(f)
        results += saved["runs"]
        commands += saved["commands"] if "commands" in saved else [saved["command"]]
else:
    for model in a.models:
        for batch in a.batches:
            sets = list(a.set) + ([f"batch={batch}"] if batch else [])
            tag = model + (f"-b{batch}" if batch else "")
            exe = os.path.join(work, tag)
            sh([nlc, os.path.join(root, "examples", f"{model}.nl"), "-o", exe] + [x for s in sets for x in ("--set", s)])
            for seed in a.seeds:
                run_dir = os.path.join(work, f"{tag}-seed{seed}")
                resume = a.resume and os.path.exists(os.path.join(run_dir, "checkpoint.safetensors"))
                if not resume:
                    subprocess.run(["rm", "-rf", run_dir])
                t0 = time.time()
                r = subprocess.run([exe, "train", "--data", a.data, "--run-dir", run_dir, "--steps", str(a.steps),
                                    "--seed", str(seed), "--eval-every", str(a.eval_every), "--log-every", "10",
                                    "--threads", str(a.threads)] + (["--resume"] if resume else []),
                                   capture_output=True, text=True)
                wall = time.time() - t0
                if r.returncode not in (0, 3):
                    sys.exit(f"stability.py: {tag} seed {seed} failed (exit {r.returncode}):\n{r.stderr}")
                train, val = [], []
                with open(os.path.join(run_dir, "metrics.jsonl")) as f:
                    for line in f:
                        m = json.loads(line)
                        (val if m["split"] == "val" else train).append((m["step"], m["loss"]))
                diverged = r.returncode == 3
                why = r.stderr.strip().splitlines()[-1] if diverged else ""
                results.append({"model": model, "batch": batch or "default", "seed": seed, "steps": a.steps,
                                "diverged": diverged, "message": why, "train": train, "val": val, "wall_s": wall,
                                "resumed": resume})
                state = f"DIVERGED: {why}" if diverged else f"val {val[-1][1]:.4f}" if val else "no validation"
                print(f"{tag} seed {seed}: {state} ({wall:.0f} s)", file=sys.stderr)

base = os.path.splitext(a.out)[0] + "-stability"
with open(base + ".json", "w") as f:
    json.dump({"commands": commands, "runs": results}, f, indent=1)

models = list(dict.fromkeys(r["model"] for r in results))
# One configuration per model, batch and run length (runs of several
# invocations merged with --from-json may differ in length).
configs = sorted({(r["model"], str(r["batch"]), r["steps"]) for r in results},
                 key=lambda c: (models.index(c[0]), 0 if c[1] == "default" else int(c[1]), c[2]))
ncols = min(4, len(configs))
nrows = -(-len(configs) // ncols)
fig, axes = plt.subplots(nrows, ncols, figsize=(4 * ncols, 3.2 * nrows), squeeze=False)
for ax in axes.flat[len(configs):]:
    ax.set_visible(False)
for ax, (model, batch, steps) in zip(axes.flat, configs):
    for r in results:
        if (r["model"], str(r["batch"]), r["steps"]) == (model, batch, steps):
            ax.plot([p[0] for p in r["train"]], [p[1] for p in r["train"]], lw=1,
                    label=f"seed {r['seed']}" + (" (diverged)" if r["diverged"] else ""))
    ax.set_title(f"{model}, batch {batch}, {steps} steps", fontsize=9)
    ax.set_xlabel("step")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7)
for row in axes:
    row[0].set_ylabel("training loss (nats/token)")
fig.tight_layout()
fig.savefig(base + ".png", dpi=90)

rows = []
for model, batch, steps in configs:
    rs = [r for r in results if (r["model"], str(r["batch"]), r["steps"]) == (model, batch, steps)]
    bad = [r for r in rs if r["diverged"]]
    ok = [r for r in rs if not r["diverged"]]
    where = ", ".join(f"seed {r['seed']}: {r['message']}" for r in bad) or "none"
    last = lambda r, k: f"{r[k][-1][1]:.3f}" if r[k] else "-"  # noqa: E731
    rows.append(f"| {model} | {batch} | {steps} | {len(bad)} of {len(rs)} (seeds {', '.join(str(r['seed']) for r in rs)}) | {where} | "
                f"{' / '.join(last(r, 'train') for r in ok) or '-'} | {' / '.join(last(r, 'val') for r in ok) or '-'} |")


def shown(command):
    """The command as a reader would rerun it: without where it kept its files."""
    kept = [x for i, x in enumerate(command)
            if x not in ("--work", "--out", "--resume") and (i == 0 or command[i - 1] not in ("--work", "--out"))]
    return "`.venv/bin/python " + " ".join(["bench/stability.py"] + kept) + "`"


cmd = " and ".join(shown(c) for c in commands)
batches = sorted({str(r["batch"]) for r in results}, key=lambda b: 0 if b == "default" else int(b))
steps = sorted({r["steps"] for r in results})
seeds = sorted({r["seed"] for r in results})
sets = sorted({x.split("=", 1)[1] for c in commands for x in c if x.startswith("--set=")} |
              {c[i + 1] for c in commands for i, x in enumerate(c[:-1]) if x == "--set"})
body = f"""<!-- stability.py -->
## Stability: the examples at their defaults, several seeds

Generated by {cmd} ({os.cpu_count()} cores); do not edit this section by hand
(`bench/stability.py --from-json docs/results-stability.json` rewrites it from the saved runs).
{', '.join(models)} as shipped{' with ' + ', '.join('`--set ' + s + '`' for s in sets) if sets else ''},
at batch {' and '.join(batches)} ("default": the example's own), {' / '.join(map(str, steps))} steps,
seeds {', '.join(map(str, seeds))}, the compiled learning rate with a constant schedule. A run diverges
when `train` stops on a non-finite loss. Losses in nats/token, one per run that did not diverge.

| model | batch | steps | diverged | where | final training loss | final validation loss |
| --- | --- | --- | --- | --- | --- | --- |
""" + "\n".join(rows) + f"""

![training loss of every run]({os.path.basename(base)}.png)
<!-- end stability.py -->
"""
write_section(a.out, "stability.py", body, "# Results\n")
print(f"stability.py: wrote {a.out}, {base}.png and {base}.json", file=sys.stderr)
