#!/usr/bin/env python3
"""Multi-query associative recall (MQAR, as in the Zoology benchmark): can a
model recall the value bound to a key it read earlier in the sequence, for
many keys at once? The standard small-scale test of a recurrent memory
(issue 23; NESTED_LEARNING.md §6), against the size of the state the model
carries from token to token.

A sequence of context + 1 tokens holds `pairs` key-value pairs, then
`queries` of those keys again, each followed by its value. Two layouts
(--layout):

    packed:  k1 v1 k2 v2 ... kN vN  q1 a1 q2 a2 ... qQ aQ  0 0 ... 0
    spread:  k1 v1 k2 v2 ... kN vN  n n q1 a1 n n n n q2 a2 n ... n

`packed` puts the queries right after the pairs and pads the rest (pad
token 0): a longer sequence adds padding, not distance. `spread` is
Zoology's layout (Arora et al. 2023, "Zoology", MQAR's generator): the
rest of the sequence is cut into two-token slots, each query takes a
slot drawn without replacement with probability proportional to
slot^(ALPHA - 1) (ALPHA = 0.01, Zoology's power law: most queries near
the pairs, a heavy tail far from them; slots counted from 1), in the
order of their slots, and every other token is noise. Zoology draws its
noise from the whole vocabulary; here noise tokens are drawn from
[1 + KEYS + VALUES, 256), so that noise never reads as a key or a value
(a noise "key" followed by a random token would write a false pair into
a memory).

Keys are distinct tokens of [1, 1 + KEYS), values tokens of
[1 + KEYS, 1 + KEYS + VALUES), so that a value never reads as a key.
Only the answers a_i count in the loss: the data file holds a loss mask
(docs/language.md, "Loss masks"), 1 at each answer's target position.
Accuracy: the greedy next-token prediction at those positions (`eval` on
a file with a loss mask prints it), over the validation sequences (the
last 10 %, never trained on).

Recipe (each model, width, sequence length and seed): the example's `.nl`
with `--set d=W --set context=L --set layers=2` (and --set), `train` from
scratch for --steps steps on --sequences sequences written by this script
(seeded; the same file for every model), then `eval` over every validation
sequence. The state size is what `info` reports the stream entry points
carry per sequence (memories with their chunk-start copies and momentum,
convolution and attention caches).

Writes the JSON (every run), a PNG (accuracy against state size) and the
section `mqar.py` of --out (docs/results.md). Nothing here is a test;
test/Evals/mqar.test runs it end to end on a tiny configuration, and
--self-check checks the generator.

Usage: .venv/bin/python bench/eval/mqar.py [--models deltanet titans ...]
           [--widths 64 128] [--lengths 64 256] [--pairs 8] [--steps 600]
           [--seeds 0 1 2]
       .venv/bin/python bench/eval/mqar.py --from-json docs/results-mqar.json
       .venv/bin/python bench/eval/mqar.py --self-check
"""
import argparse
import json
import os
import random
import re
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from nl_examples import (add_eval_args, command_lines, eval_main, example_path, finish_self_check,  # noqa: E402
                         mean_sd, plot_styles, run_or_exit, start_report, write_masked, write_section)

KEYS = 64
VALUES = 64
PAD = 0
NOISE = range(1 + KEYS + VALUES, 256)  # the spread layout's filler tokens
ALPHA = 0.01  # Zoology's power law of the spread layout's query slots
LAYOUTS = ("packed", "spread")


def sequence(rng, length, pairs, queries, layout="packed"):
    """(tokens [length + 1], mask [length]) of one MQAR sequence: `pairs`
    distinct keys with random values, then `queries` of those keys
    (distinct, in random order) each followed by its value, in the layout
    of the module docstring. mask[t] = 1 when token t + 1 is an answer.
    Raises ValueError when they do not fit or the layout is unknown."""
    if not 1 <= pairs <= KEYS:
        raise ValueError(f"pairs must be in [1, {KEYS}], got {pairs}")
    if not 1 <= queries <= pairs:
        raise ValueError(f"queries must be in [1, pairs = {pairs}], got {queries}")
    if 2 * (pairs + queries) > length + 1:
        raise ValueError(f"{pairs} pairs and {queries} queries need {2 * (pairs + queries)} tokens; "
                         f"a sequence of context {length} holds {length + 1}")
    if layout not in LAYOUTS:
        raise ValueError(f"layout must be one of {', '.join(LAYOUTS)}, got {layout!r}")
    keys = rng.sample(range(1, 1 + KEYS), pairs)
    values = [rng.randrange(1 + KEYS, 1 + KEYS + VALUES) for _ in keys]
    tokens = []
    for k, v in zip(keys, values):
        tokens += [k, v]
    mask = [0] * length
    asked = rng.sample(range(pairs), queries)
    if layout == "packed":
        for i in asked:
            tokens.append(keys[i])
            mask[len(tokens) - 1] = 1  # the target of this position is the answer
            tokens.append(values[i])
        tokens += [PAD] * (length + 1 - len(tokens))
        return tokens, mask
    # Spread: weighted sampling without replacement (Efraimidis and
    # Spirakis: the `queries` largest u^(1 / w), u uniform in (0, 1)).
    slots = (length + 1 - 2 * pairs) // 2
    draw = sorted(range(slots), key=lambda s: -(1.0 - rng.random()) ** (1.0 / (s + 1) ** (ALPHA - 1)))
    start = len(tokens)
    tokens += [rng.choice(NOISE) for _ in range(length + 1 - start)]
    for slot, i in zip(sorted(draw[:queries]), asked):
        at = start + 2 * slot
        tokens[at], tokens[at + 1] = keys[i], values[i]
        mask[at] = 1
    return tokens, mask


def write_data(path, rng, count, length, pairs, queries, layout):
    """A data file of `count` sequences (safetensors: I32 tokens
    [count, length + 1], I32 mask [count, length])."""
    write_masked(path, [sequence(rng, length, pairs, queries, layout) for _ in range(count)])


def self_check():
    """The generator on known cases; exits 1 on a failure."""
    rng = random.Random(0)
    failures = []
    for length, pairs, queries in ((64, 8, 8), (64, 16, 4), (255, 32, 32), (16, 1, 1)):
        tokens, mask = sequence(rng, length, pairs, queries)
        kv = dict(zip(tokens[0:2 * pairs:2], tokens[1:2 * pairs:2]))
        answers = [t for t in range(length) if mask[t]]
        ok = (len(tokens) == length + 1 and len(mask) == length and len(kv) == pairs
              and all(1 <= k < 1 + KEYS for k in kv) and all(1 + KEYS <= v < 1 + KEYS + VALUES for v in kv.values())
              and len(answers) == queries
              and all(tokens[t] in kv and kv[tokens[t]] == tokens[t + 1] for t in answers)
              and all(t >= 2 * pairs for t in answers)
              and all(x == PAD for x in tokens[2 * (pairs + queries):]))
        if not ok:
            failures.append(f"context {length}, {pairs} pairs, {queries} queries: {tokens} {mask}")
    # Spread: the same pairs and answers, the queries in slots after the
    # pairs in slot order, every other token noise; over many sequences the
    # slots follow the power law: the first slot is taken in most sequences
    # (uniform slots: 16 / 496 of them), and fewer queries land in the last
    # half of the slots than in the first (uniform: as many), but some do.
    first = early = late = 0
    for length, pairs, queries in ((64, 8, 8), (255, 32, 32), (1024, 16, 16), (16, 1, 1), (19, 4, 4)):
        for _ in range(50):
            tokens, mask = sequence(rng, length, pairs, queries, "spread")
            kv = dict(zip(tokens[0:2 * pairs:2], tokens[1:2 * pairs:2]))
            answers = [t for t in range(length) if mask[t]]
            query_tokens = {t for a in answers for t in (a, a + 1)}
            ok = (len(tokens) == length + 1 and len(mask) == length and len(kv) == pairs
                  and len(answers) == queries and len({tokens[t] for t in answers}) == queries
                  and all(tokens[t] in kv and kv[tokens[t]] == tokens[t + 1] for t in answers)
                  and all(t >= 2 * pairs and (t - 2 * pairs) % 2 == 0 for t in answers)
                  and all(tokens[t] in NOISE for t in range(2 * pairs, length + 1) if t not in query_tokens))
            if not ok:
                failures.append(f"spread, context {length}, {pairs} pairs, {queries} queries: {tokens} {mask}")
                break
            if length == 1024:
                first += mask[2 * pairs]
                half = 2 * pairs + (length - 2 * pairs) // 2
                early += sum(1 for t in answers if t < half)
                late += sum(1 for t in answers if t >= half)
    if not (first > 25 and 0 < late < early):
        failures.append(f"spread slots at context 1024, 50 sequences: first slot {first} times, "
                        f"{early} answers in the first half, {late} in the last")
    for bad in ((16, 8, 8), (64, 0, 1), (64, 4, 5), (512, KEYS + 1, 1)):
        for layout in LAYOUTS:
            try:
                sequence(rng, *bad, layout)
                failures.append(f"{bad} ({layout}) was not refused")
            except ValueError:
                pass
    try:
        sequence(rng, 64, 8, 8, "zoology")
        failures.append("an unknown layout was not refused")
    except ValueError:
        pass
    a, b = random.Random(5), random.Random(5)
    if sequence(a, 64, 8, 8) != sequence(b, 64, 8, 8) or sequence(a, 64, 8, 8, "spread") != sequence(b, 64, 8, 8, "spread"):
        failures.append("the generator does not follow its seed")
    finish_self_check("mqar", failures)


def evaluate(a, nlc, work):
    results = []
    for length in a.lengths:
        pairs = a.pairs or min(length // 8, KEYS)
        queries = a.queries or pairs
        suffix = "" if a.layout == "packed" else f"-{a.layout}"
        data = os.path.join(work, f"mqar-{length}-{pairs}-{queries}{suffix}.safetensors")
        try:
            write_data(data, random.Random(1000 + length), a.sequences, length, pairs, queries, a.layout)
        except ValueError as e:
            sys.exit(f"mqar.py: sequence length {length}: {e}")
        val_seqs = a.sequences - a.sequences * 9 // 10
        for model in a.models:
            name = os.path.splitext(os.path.basename(model))[0]
            for width in a.widths:
                exe = os.path.join(work, f"{name}-{width}-{length}")
                sets = [f"d={width}", f"context={length}", f"layers={a.layers}", f"batch={a.batch}"] + a.set
                t0 = time.time()
                run_or_exit("mqar.py", [nlc, example_path(model), "-o", exe]
                            + [x for s in sets for x in ("--set", s)])
                info = run_or_exit("mqar.py", [exe, "info"], text=True).stdout
                m = re.search(r"stream state: (\d+) floats", info)
                state = int(m.group(1)) if m else None
                print(f"{name} d={width} context {length}: compiled in {time.time() - t0:.0f} s, "
                      f"state {state} floats", file=sys.stderr)
                batches = -(-val_seqs // a.batch)
                for seed in a.seeds:
                    run_dir = os.path.join(work, f"{name}-{width}-{length}-seed{seed}")
                    subprocess.run(["rm", "-rf", run_dir])
                    t0 = time.time()
                    r = subprocess.run([exe, "train", "--data", data, "--run-dir", run_dir,
                                        "--steps", str(a.steps), "--seed", str(seed), "--eval-every", "0",
                                        "--log-every", str(max(1, a.steps // 10)),
                                        "--lr", str(a.lr), "--threads", str(a.threads)],
                                       capture_output=True, text=True)
                    trained = time.time() - t0
                    record = {"model": name, "width": width, "context": length, "pairs": pairs,
                           "queries": queries, "layout": a.layout, "seed": seed, "steps": a.steps, "lr": a.lr,
                           "state_floats": state, "train_s": round(trained, 1)}
                    if r.returncode != 0:
                        # A run that diverges is a result, not the end of the evaluation.
                        why = (r.stderr.strip().splitlines() or ["?"])[-1]
                        results.append(dict(record, accuracy=None, loss=None, failed=why))
                        print(f"{name} d={width} context {length} seed {seed}: training failed: {why}",
                              file=sys.stderr)
                        continue
                    ev = json.loads(run_or_exit("mqar.py", [exe, "eval", "--data", data, "--run-dir", run_dir,
                                         "--eval-batches", str(batches)]).stdout)
                    results.append(dict(record, accuracy=ev["accuracy"], loss=ev["loss"], targets=ev["targets"]))
                    print(f"{name} d={width} context {length} seed {seed}: accuracy {ev['accuracy']:.3f} "
                          f"(loss {ev['loss']:.3f}, {ev['targets']} answers), trained in {trained:.0f} s",
                          file=sys.stderr)
    return results



def report(a, results, commands):
    import matplotlib.ticker
    plt, base = start_report(a.out, "mqar", "runs", results, commands)
    # Runs of one model, width, length, layout, step count and learning
    # rate are one row (mean and sd over their seeds). Runs saved before
    # --layout existed are packed.
    for r in results:
        r.setdefault("layout", "packed")
    key = ("model", "width", "context", "layout", "steps", "lr")
    configs = list(dict.fromkeys(tuple(r[k] for k in key) for r in results))
    several_lrs = len({c[5] for c in configs}) > 1
    panels = sorted({(r["context"], r["layout"]) for r in results}, key=lambda p: (p[0], LAYOUTS.index(p[1])))
    models = list(dict.fromkeys(r["model"] for r in results))

    # One colour per model, one marker per budget (steps, lr), the same in
    # every panel; one legend for the figure, beside the panels.
    budgets = sorted({(c[4], c[5]) for c in configs})
    colours, markers = plot_styles(models, budgets)
    fig, axes = plt.subplots(1, len(panels), figsize=(4.5 * len(panels), 3.4), squeeze=False)
    legend = {}
    for ax, (length, layout) in zip(axes[0], panels):
        for model in models:
            for steps, lr in budgets:
                pts = []
                for c in configs:
                    if c[0] == model and c[2] == length and c[3] == layout and c[4] == steps and c[5] == lr:
                        rs = [r for r in results if tuple(r[k] for k in key) == c and r["accuracy"] is not None]
                        if rs:
                            pts.append((rs[0]["state_floats"] or 0, mean_sd([r["accuracy"] for r in rs])))
                if pts:
                    pts.sort()
                    line = ax.errorbar([p[0] for p in pts], [p[1][0] for p in pts],
                                       yerr=[p[1][1] for p in pts], marker=markers[(steps, lr)],
                                       color=colours[model], capsize=3)
                    label = f"{model}, {steps} steps" + (f", lr {lr:g}" if several_lrs else "")
                    legend.setdefault(label, line)
        ax.set_xscale("log")
        ax.xaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())
        ax.set_ylim(-0.05, 1.05)
        ax.set_title(f"MQAR, sequence length {length}" + (f", {layout}" if layout != "packed" else ""),
                     fontsize=9)
        ax.set_xlabel("state carried per sequence (floats)")
        ax.grid(alpha=0.3)
    axes[0][0].set_ylabel("answer accuracy")
    fig.tight_layout()
    fig.legend(list(legend.values()), list(legend.keys()), fontsize=7, loc="center left",
               bbox_to_anchor=(1.0, 0.5))
    fig.savefig(base + ".png", dpi=90, bbox_inches="tight")

    rows = []
    for (mo, w, L, layout, steps, lr) in configs:
        every = [r for r in results if tuple(r[k] for k in key) == (mo, w, L, layout, steps, lr)]
        rs = [r for r in every if r["accuracy"] is not None]
        failed = len(every) - len(rs)
        cells = "- | -"
        if rs:
            acc, sd = mean_sd([r["accuracy"] for r in rs])
            loss, lsd = mean_sd([r["loss"] for r in rs])
            cells = f"{acc:.3f} ± {sd:.3f} | {loss:.3f} ± {lsd:.3f}"
        state = every[0]["state_floats"]
        seeds = f"{len(rs)}" + (f" ({failed} failed)" if failed else "")
        rows.append(f"| {mo} | {w} | {L} | {steps} | {lr:g} | {every[0]['pairs']} / {every[0]['queries']}"
                    + (f", {layout}" if layout != "packed" else "") + " | "
                    + (f"{state:,}" if state is not None else "-") + f" | {cells} | {seeds} |")
    steps = sorted({r["steps"] for r in results})
    cmd = command_lines("bench/eval/mqar.py", commands)
    body = f"""<!-- mqar.py -->
## Multi-query associative recall (MQAR)

Generated by {cmd} ({os.cpu_count()} cores); do not edit this section by hand
(`bench/eval/mqar.py --from-json docs/results-mqar.json` rewrites it from the saved runs).
Each model trained from scratch for {' / '.join(map(str, steps))} steps on MQAR sequences (bench/eval/mqar.py:
key-value pairs, then queries of those keys each followed by its value, right after the pairs and then
padding, or "spread" (Zoology's layout) over the rest of the sequence between noise tokens; only the
answers count in the loss, through the data file's loss mask), then evaluated on every validation sequence: the greedy
prediction of each answer (accuracy), and the loss over the answers (nats). State: the floats the
stream entry points carry per sequence (memories with their chunk-start copies and momentum; caches).
Models at the widths shown, with the layers and batch of the command (2 and 16 unless it says
otherwise); lr: `train --lr`, the scale of the compiled outer learning rates. Mean ± sd over the seeds; a run whose training stopped (a non-finite loss) is counted as failed,
not averaged.

| model | width | sequence length | steps | lr | pairs / queries | state (floats) | accuracy | answer loss | seeds |
| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |
""" + "\n".join(rows) + f"""

![MQAR accuracy against state size]({os.path.basename(base)}.png)
<!-- end mqar.py -->
"""
    write_section(a.out, "mqar.py", body, "# Results\n")
    print(f"mqar.py: wrote {a.out}, {base}.png and {base}.json", file=sys.stderr)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    add_eval_args(ap, "runs", "the generator")
    ap.add_argument("--widths", nargs="+", type=int, default=[64, 128])
    ap.add_argument("--lengths", nargs="+", type=int, default=[64, 256], help="sequence lengths (the context)")
    ap.add_argument("--pairs", type=int, default=0,
                    help=f"key-value pairs per sequence (default: length / 8, at most {KEYS})")
    ap.add_argument("--layout", choices=LAYOUTS, default="packed",
                    help="packed: the queries right after the pairs, then padding; spread: Zoology's "
                    "layout, the queries in power-law slots over the rest, between noise tokens")
    ap.add_argument("--queries", type=int, default=0, help="queries per sequence (default: every pair)")
    ap.add_argument("--layers", type=int, default=2)
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--steps", type=int, default=600)
    ap.add_argument("--lr", type=float, default=1.0, help="train --lr: scale of the compiled outer rates")
    ap.add_argument("--sequences", type=int, default=20000, help="in the data file (90 %% train)")
    ap.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    eval_main(ap, "nl-mqar-", "runs", self_check, evaluate, report)


if __name__ == "__main__":
    main()
