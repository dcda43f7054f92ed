#!/usr/bin/env python3
"""Test-time learning across a domain shift (issue 20's `--online-levels`;
NESTED_LEARNING.md §4 and §6): a model trained on domain A reads domain B
as one stream. Which of its levels learning while it reads helps?

Domain A is Tiny Shakespeare (--data); domain B the Python standard
library's top-level source (bench/eval/continual.py's builder; --domain-b
names another directory or file), of which the stream reads the first
--tokens bytes. Nothing is downloaded.

Recipe (each model and seed): the example's `.nl` with `--set d=W --set
layers=L --set context=C --set batch=B` (and --set); `train` from scratch
for --steps steps on A; then `eval --long` over B's stream from that
checkpoint, five ways:
  frozen      memorize off: nothing learns (the memories stay at their
              learned initial state), the baseline of a model that forgot
              the stream's past;
  memorize    the memories learn in the stream (their inner objective), the
              outer levels fixed: the default;
  cms         and the levels slower than a step learn too
              (`--online-levels`: Hope's CMS; models without such levels
              skip it);
  all levels  every outer level learns (`--online-levels=LEVELS`, all of
              them: dynamic evaluation, the whole model trained on the
              stream at its compiled rates, one train_step per B x T tokens);
  all, lr x3  the same at three times the compiled rates (--online-lr 3).
Reports the mean loss (nats/token) over the stream and over its last
quarter, and the loss against position.

Writes the JSON (every run), a PNG (loss against position) and the section
`online.py` of --out (docs/results.md). Nothing here is a test.

Usage: .venv/bin/python bench/eval/online.py [--models hope titans ...]
           [--steps 400] [--seeds 0 1 2] [--tokens 65536]
       .venv/bin/python bench/eval/online.py --from-json docs/results-online.json
"""
import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from continual import add_shift_args, build_domain_b, stdlib_dir  # noqa: E402
from nl_examples import (add_eval_args, command_lines, eval_main, example_path, finish_self_check,  # noqa: E402
                         mean_sd, run_or_exit, start_report, write_section)

WAYS = ("frozen", "memorize", "cms", "all levels", "all, lr x3")


def outer_levels(info):
    """(levels slower than a step, every outer level) of a compiled model,
    from the level lines of its `info` ("  NAME  every N steps, optimizer
    ..."; memory levels are "every N tokens")."""
    levels = re.findall(r"^  (\S+)\s+every (\d+) steps, optimizer", info, re.M)
    return [n for n, every in levels if int(every) > 1], [n for n, _ in levels]


def self_check():
    """outer_levels on the `info` of Hope shrunk (runtime's format)."""
    info = """model hope: vocab 256, batch 2, context 16 tokens, f32
levels (slowest first):
  cms_low                  every 4 steps, optimizer adamw, 520 parameters
  cms_mid                  every 2 steps, optimizer adamw, 520 parameters
  pretrain                 every 1 steps, optimizer adamw, 5640 parameters
  layer.0.proj             every 4 tokens, optimizer dgd, memory (state per sequence, written by the inner objective)
parameters: 6680 (0.03 MiB); optimizer state: 14400 (0.05 MiB)
"""
    got = outer_levels(info)
    failures = [] if got == (["cms_low", "cms_mid"], ["cms_low", "cms_mid", "pretrain"]) else [
        f"the levels of Hope's info: {got}"]
    finish_self_check("online", failures)


def evaluate(a, nlc, work):
    b_info = build_domain_b(a.domain_b or stdlib_dir(), os.path.join(work, "domain-b.txt"), a.tokens + 1)
    b = b_info["path"]
    print(f"online.py: domain B {b_info['bytes']:,} bytes from {b_info['source']}", file=sys.stderr)
    sets = [f"d={a.width}", f"layers={a.layers}", f"context={a.context}", f"batch={a.batch}"] + a.set
    results = []
    for model in a.models:
        name = os.path.splitext(os.path.basename(model))[0]
        exe = os.path.join(work, name)
        run_or_exit("online.py", [nlc, example_path(model), "-o", exe] + [x for s in sets for x in ("--set", s)])
        slow, outer = outer_levels(run_or_exit("online.py", [exe, "info"], text=True).stdout)
        for seed in a.seeds:
            run_dir = os.path.join(work, f"{name}-seed{seed}")
            shutil.rmtree(run_dir, ignore_errors=True)
            run_or_exit("online.py", [exe, "train", "--data", a.data, "--run-dir", run_dir, "--seed", str(seed),
                                      "--steps", str(a.steps), "--eval-every", "0", "--lr", str(a.lr),
                                      "--threads", str(a.threads)])
            ways = {"frozen": ["--memorize", "off"], "memorize": [],
                    "cms": ["--online-levels"] if slow else None,
                    "all levels": ["--online-levels=" + ",".join(outer)],
                    "all, lr x3": ["--online-levels=" + ",".join(outer), "--online-lr", "3"]}
            record = {"model": name, "seed": seed, "steps": a.steps, "width": a.width, "layers": a.layers,
                      "context": a.context, "batch": a.batch, "levels": outer, "slow": slow, "bucket": a.bucket,
                      "domain_b": {k: v for k, v in b_info.items() if k != "path"}, "ways": {}}
            for way, flags in ways.items():
                if flags is None:
                    continue
                t0 = time.time()
                r = subprocess.run([exe, "eval", "--run-dir", run_dir, "--long", b, "--bucket", str(a.bucket),
                                    "--threads", str(a.threads)] + flags, capture_output=True, text=True)
                if r.returncode != 0:
                    record["ways"][way] = {"failed": (r.stderr.strip().splitlines() or ["?"])[-1]}
                    print(f"{name} seed {seed} {way}: failed: {record['ways'][way]['failed']}", file=sys.stderr)
                    continue
                j = json.loads(r.stdout)
                buckets = j["bucket_loss"]
                quarter = buckets[len(buckets) * 3 // 4:]
                record["ways"][way] = {"loss": j["loss"], "last_quarter": sum(quarter) / len(quarter),
                                       "buckets": buckets, "online_steps": j.get("online_steps", 0),
                                       "optimizer_steps": j.get("online_optimizer_steps", {}),
                                       "wall_s": round(time.time() - t0, 1)}
                print(f"{name} seed {seed} {way}: loss {j['loss']:.4f}, last quarter "
                      f"{record['ways'][way]['last_quarter']:.4f} ({time.time() - t0:.0f} s)", file=sys.stderr)
            results.append(record)
    return results


def report(a, results, commands):
    plt, base = start_report(a.out, "online", "runs", results, commands)
    models = list(dict.fromkeys(r["model"] for r in results))
    fig, axes = plt.subplots(1, len(models), figsize=(4.2 * len(models), 3.4), squeeze=False)
    for ax, m in zip(axes[0], models):
        rs = [r for r in results if r["model"] == m]
        for way in WAYS:
            runs = [r["ways"][way]["buckets"] for r in rs if "buckets" in r["ways"].get(way, {})]
            if not runs:
                continue
            n = min(len(x) for x in runs)
            mean = [sum(x[i] for x in runs) / len(runs) for i in range(n)]
            ax.plot([(i + 0.5) * rs[0]["bucket"] for i in range(n)], mean, lw=1.2, label=way,
                    color=f"C{WAYS.index(way)}")
        ax.set_title(m, fontsize=9)
        ax.set_xlabel("position in the stream (tokens)")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7)
    axes[0][0].set_ylabel("loss (nats/token), mean over seeds")
    fig.tight_layout()
    fig.savefig(base + ".png", dpi=90)

    def cell(rs, way, key):
        xs = [r["ways"][way][key] for r in rs if key in r["ways"].get(way, {})]
        if not xs:
            return "-"
        mean, sd = mean_sd(xs)
        return f"{mean:.3f} ± {sd:.3f}"

    rows = []
    for m in models:
        rs = [r for r in results if r["model"] == m]
        for way in WAYS:
            if not any(way in r["ways"] for r in rs):
                continue
            steps = {json.dumps(r["ways"][way].get("optimizer_steps", {}), sort_keys=True) for r in rs
                     if way in r["ways"]}
            rows.append(f"| {m} | {way} | {cell(rs, way, 'loss')} | {cell(rs, way, 'last_quarter')} | "
                        f"{', '.join(sorted(steps)) if way not in ('frozen', 'memorize') else '-'} | "
                        f"{len([r for r in rs if 'loss' in r['ways'].get(way, {})])} |")
    r0 = results[0]
    body = f"""<!-- online.py -->
## Test-time learning across a domain shift (bench/eval/online.py)

Generated by {command_lines("bench/eval/online.py", commands)} ({os.cpu_count()} cores); do not edit this section by hand
(`bench/eval/online.py --from-json docs/results-online.json` rewrites it from the saved runs).
Each model (width {r0['width']}, {r0['layers']} layers, context {r0['context']}, batch {r0['batch']}: a test-time step
every {r0['batch'] * r0['context']} tokens) trained from scratch for {r0['steps']} steps on Tiny Shakespeare, then reads
{r0['domain_b']['bytes'] - 1:,} tokens of Python source ({r0['domain_b']['source']}) as one stream (`eval --long`):
frozen (`--memorize off`), memorize (the default), cms (`--online-levels`: the levels slower than a step), all levels
(`--online-levels=NAME,...` naming every outer level: dynamic evaluation) and the same at 3x the compiled rates. Loss in nats/token,
over the whole stream and its last quarter, mean ± sd over the seeds; the optimizer steps each online level took.

| model | way | loss | last quarter | optimizer steps | seeds |
| --- | --- | --- | --- | --- | --- |
""" + "\n".join(rows) + f"""

![loss against position in the stream]({os.path.basename(base)}.png)
<!-- end online.py -->
"""
    write_section(a.out, "online.py", body, "# Results\n")
    print(f"online.py: wrote {a.out}, {base}.png and {base}.json", file=sys.stderr)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    add_eval_args(ap, "runs", "the parsing of `info`'s levels")
    ap.set_defaults(models=["transformer", "titans", "hope"])
    add_shift_args(ap, "training steps on domain A")
    ap.add_argument("--tokens", type=int, default=65536, help="tokens of domain B read as one stream")
    ap.add_argument("--bucket", type=int, default=2048, help="tokens per point of the loss against position")
    eval_main(ap, "nl-online-", "runs", self_check, evaluate, report)


if __name__ == "__main__":
    main()
