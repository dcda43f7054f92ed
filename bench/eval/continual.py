#!/usr/bin/env python3
"""Continual learning across two domains (issue 23; NESTED_LEARNING.md §6):
how much of domain A does a model forget while it learns domain B?

Domain A is Tiny Shakespeare (--data). Domain B is text of a clearly
different kind that every machine of this kind has: the Python standard
library's own source (the top-level `*.py` files of /usr/lib/python3.X, in
sorted order, concatenated; --domain-b names another directory or file).
Nothing is downloaded. Each file's last 10 % is its validation split, never
trained on (the executables' `eval --data`).

Recipe (each model and seed): the example's `.nl` with `--set d=W --set
layers=L --set context=C --set batch=B` (and --set); `train` from scratch for
--steps steps on A; `eval` on A and on B (a0, b0); then the same run resumed
(`train --resume`, optimizer state kept) for --steps more steps on B; `eval`
on A and on B again (a1, b1). Forgetting is a1 − a0 (nats/token), learning B
is b0 − b1. A reference run trains on B alone for --steps steps from scratch
(b_scratch): b_scratch − b1 is what A's training transferred to B.

Writes the JSON (every run), a PNG (A's and B's validation loss before and
after the switch) and the section `continual.py` of --out (docs/results.md).
Nothing here is a test; test/Evals/continual.test runs it end to end on a
tiny configuration, and --self-check checks the domain-B builder.

Usage: .venv/bin/python bench/eval/continual.py [--models transformer titans ...]
           [--steps 400] [--seeds 0 1 2]
       .venv/bin/python bench/eval/continual.py --from-json docs/results-continual.json
       .venv/bin/python bench/eval/continual.py --self-check
"""
import argparse
import glob
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from nl_examples import (add_eval_args, command_lines, eval_main, example_path, finish_self_check,  # noqa: E402
                         mean_sd, run_or_exit, start_report, write_section)


def stdlib_dir():
    """The newest /usr/lib/python3.X holding the standard library's source."""
    dirs = sorted((d for d in glob.glob("/usr/lib/python3.*") if os.path.exists(os.path.join(d, "os.py"))),
                  key=lambda d: [int(x) for x in d.rsplit("python", 1)[1].split(".") if x.isdigit()])
    if not dirs:
        sys.exit("continual.py: no Python standard library source under /usr/lib/python3.* "
                 "(give --domain-b a directory of text files or a file)")
    return dirs[-1]


def build_domain_b(source, out, limit):
    """Writes domain B to `out`: `source` itself when it is a file, else its
    top-level *.py files in sorted order, concatenated, cut at `limit` bytes
    (0: all). Returns {path, bytes, sha256, source}."""
    if os.path.isfile(source):
        data = open(source, "rb").read()
    else:
        files = sorted(glob.glob(os.path.join(source, "*.py")))
        if not files:
            sys.exit(f"continual.py: no *.py files in {source}")
        data = b"".join(open(f, "rb").read() for f in files)
    if limit:
        data = data[:limit]
    with open(out, "wb") as f:
        f.write(data)
    return {"path": out, "bytes": len(data), "sha256": hashlib.sha256(data).hexdigest(), "source": source}


def self_check():
    """The domain-B builder on a directory made here; exits 1 on a failure."""
    failures = []
    with tempfile.TemporaryDirectory() as d:
        src = os.path.join(d, "src")
        os.makedirs(src)
        for name, text in (("b.py", "print(2)\n"), ("a.py", "x = 1\n"), ("notes.txt", "skip\n")):
            with open(os.path.join(src, name), "w") as f:
                f.write(text)
        info = build_domain_b(src, os.path.join(d, "b.txt"), 0)
        got = open(info["path"]).read()
        if got != "x = 1\nprint(2)\n":
            failures.append(f"the *.py files in sorted order, nothing else: got {got!r}")
        if info["bytes"] != len(got) or info["sha256"] != hashlib.sha256(got.encode()).hexdigest():
            failures.append(f"size and digest: {info}")
        cut = build_domain_b(src, os.path.join(d, "c.txt"), 4)
        if open(cut["path"]).read() != "x = " or cut["bytes"] != 4:
            failures.append(f"--domain-b-bytes cuts the text: {cut}")
        if build_domain_b(os.path.join(d, "b.txt"), os.path.join(d, "d.txt"), 0)["bytes"] != len(got):
            failures.append("a file is taken as it is")
    finish_self_check("continual", failures)


def evaluate(a, nlc, work):
    b_info = build_domain_b(a.domain_b or stdlib_dir(), os.path.join(work, "domain-b.txt"), a.domain_b_bytes)
    b = b_info["path"]
    print(f"continual.py: domain B {b_info['bytes']:,} bytes from {b_info['source']}", file=sys.stderr)
    results = []
    sets = [f"d={a.width}", f"layers={a.layers}", f"context={a.context}", f"batch={a.batch}"] + a.set
    common = ["--eval-every", "0", "--lr", str(a.lr), "--threads", str(a.threads),
              "--log-every", str(max(1, a.steps // 10))]

    def loss(exe, run_dir, data):
        ev = json.loads(run_or_exit("continual.py", [exe, "eval", "--data", data, "--run-dir", run_dir,
                                                     "--eval-batches", str(a.eval_batches)]).stdout)
        return ev["loss"]

    for model in a.models:
        name = os.path.splitext(os.path.basename(model))[0]
        exe = os.path.join(work, name)
        t0 = time.time()
        run_or_exit("continual.py", [nlc, example_path(model), "-o", exe] + [x for s in sets for x in ("--set", s)])
        print(f"{name}: compiled in {time.time() - t0:.0f} s", file=sys.stderr)
        for seed in a.seeds:
            runs = {k: os.path.join(work, f"{name}-seed{seed}-{k}") for k in ("a", "ab", "b")}
            for d in runs.values():
                shutil.rmtree(d, ignore_errors=True)
            record = {"model": name, "seed": seed, "steps": a.steps, "width": a.width, "layers": a.layers,
                      "context": a.context, "batch": a.batch, "domain_b": {k: v for k, v in b_info.items() if k != "path"}}
            t0 = time.time()
            stages = [("a", a.data, runs["a"], False), ("ab", b, runs["ab"], True), ("b", b, runs["b"], False)]
            failed = None
            for stage, data, run_dir, resume in stages:
                if resume:  # B continues A's run (its lock file is not held)
                    shutil.copytree(runs["a"], run_dir)
                cmd = [exe, "train", "--data", data, "--run-dir", run_dir, "--seed", str(seed),
                       "--steps", str(2 * a.steps if resume else a.steps)] + common + (["--resume"] if resume else [])
                r = subprocess.run(cmd, capture_output=True, text=True)
                if r.returncode != 0:
                    # A run that diverges is a result, not the end of the evaluation.
                    failed = f"{stage}: " + (r.stderr.strip().splitlines() or ["?"])[-1]
                    break
                if stage == "a":
                    record["a0"], record["b0"] = loss(exe, run_dir, a.data), loss(exe, run_dir, b)
                elif stage == "ab":
                    record["a1"], record["b1"] = loss(exe, run_dir, a.data), loss(exe, run_dir, b)
                else:
                    record["b_scratch"] = loss(exe, run_dir, b)
            record["wall_s"] = round(time.time() - t0, 1)
            if failed:
                record["failed"] = failed
                print(f"{name} seed {seed}: failed: {failed}", file=sys.stderr)
            else:
                print(f"{name} seed {seed}: A {record['a0']:.3f} -> {record['a1']:.3f} "
                      f"(forgetting {record['a1'] - record['a0']:+.3f}), B {record['b0']:.3f} -> {record['b1']:.3f} "
                      f"(from scratch {record['b_scratch']:.3f}) in {record['wall_s']:.0f} s", file=sys.stderr)
            results.append(record)
    return results



def report(a, results, commands):
    plt, base = start_report(a.out, "continual", "runs", results, commands)
    models = list(dict.fromkeys(r["model"] for r in results))
    ok = {m: [r for r in results if r["model"] == m and "failed" not in r] for m in models}

    fig, axes = plt.subplots(1, 2, figsize=(9, 3.4))
    for ax, dom in zip(axes, ("a", "b")):
        for m in models:
            rs = ok[m]
            if rs:
                before, after = (mean_sd([r[f"{dom}{i}"] for r in rs]) for i in (0, 1))
                ax.errorbar([0, 1], [before[0], after[0]], yerr=[before[1], after[1]], marker="o", capsize=3, label=m)
        ax.set_xticks([0, 1], ["after A", "after A, then B"])
        ax.set_title("domain A (Tiny Shakespeare)" if dom == "a" else "domain B (Python source)", fontsize=9)
        ax.set_ylabel("validation loss (nats/token)")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(base + ".png", dpi=90)

    def cell(rs, f):
        if not rs:
            return "-"
        m, sd = mean_sd([f(r) for r in rs])
        return f"{m:.3f} ± {sd:.3f}"

    rows = []
    for m in models:
        rs = ok[m]
        every = [r for r in results if r["model"] == m]
        seeds = f"{len(rs)}" + (f" ({len(every) - len(rs)} failed)" if len(every) > len(rs) else "")
        rows.append(f"| {m} | {cell(rs, lambda r: r['a0'])} | {cell(rs, lambda r: r['a1'])} | "
                    f"{cell(rs, lambda r: r['a1'] - r['a0'])} | {cell(rs, lambda r: r['b0'])} | "
                    f"{cell(rs, lambda r: r['b1'])} | {cell(rs, lambda r: r['b_scratch'])} | {seeds} |")
    r0 = results[0]
    cmd = command_lines("bench/eval/continual.py", commands)
    body = f"""<!-- continual.py -->
## Continual learning: Tiny Shakespeare, then Python source

Generated by {cmd} ({os.cpu_count()} cores); do not edit this section by hand
(`bench/eval/continual.py --from-json docs/results-continual.json` rewrites it from the saved runs).
Each model (width {r0['width']}, {r0['layers']} layers, context {r0['context']}, batch {r0['batch']}) trained from scratch
for {r0['steps']} steps on domain A (Tiny Shakespeare), then resumed for {r0['steps']} more steps on domain B (the
Python standard library's top-level source, {r0['domain_b']['bytes']:,} bytes from {r0['domain_b']['source']}), the
optimizer state kept; a reference run trains on B alone for {r0['steps']} steps. Validation loss (nats/token) on each
domain's last 10 %, never trained on. Forgetting: A's loss after B minus before. Mean ± sd over the seeds.

| model | A after A | A after B | forgetting | B after A | B after B | B from scratch | seeds |
| --- | --- | --- | --- | --- | --- | --- | --- |
""" + "\n".join(rows) + f"""

![validation loss of each domain before and after the switch]({os.path.basename(base)}.png)
<!-- end continual.py -->
"""
    write_section(a.out, "continual.py", body, "# Results\n")
    print(f"continual.py: wrote {a.out}, {base}.png and {base}.json", file=sys.stderr)


def add_shift_args(ap, steps_help):
    """The options of an evaluation across the domain shift A -> B (this
    driver's and online.py's): domain B, the models' size (--set adds to
    it), the training steps and rate, the seeds."""
    ap.add_argument("--domain-b", help="directory of *.py files or a text file (default: the Python standard library)")
    ap.add_argument("--width", type=int, default=64)
    ap.add_argument("--layers", type=int, default=2)
    ap.add_argument("--context", type=int, default=64)
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--steps", type=int, default=400, help=steps_help)
    ap.add_argument("--lr", type=float, default=1.0, help="train --lr: scale of the compiled outer rates")
    ap.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    add_eval_args(ap, "runs", "the domain-B builder")
    add_shift_args(ap, "training steps on each domain")
    ap.add_argument("--domain-b-bytes", type=int, default=0, help="cut domain B at this many bytes (0: all)")
    ap.add_argument("--eval-batches", type=int, default=16)
    eval_main(ap, "nl-continual-", "runs", self_check, evaluate, report)


if __name__ == "__main__":
    main()
