#!/usr/bin/env python3
"""Needle in a haystack, byte level: can a model recall a pass key it read
long ago, past its training context? (issue 23; NESTED_LEARNING.md §6: the
paper's S-NIAH tasks, in miniature.)

A sample is a haystack with a needle at a chosen depth, then a query:

    <haystack ...> The pass key is 48213. Remember it. 48213 is the pass key.
    <... haystack> What is the pass key? The pass key is

and the answer is the five digits of the key. The haystack is real text (a
slice of the validation split of --data: the last 10 %, which training
never reads) or, as S-NIAH-1, a repeated filler sentence. A sample of
length L holds exactly L bytes: the prompt and the answer.

Recipe (each model, each seed): `nlc examples/<model>.nl` as shipped (or
with --set), then `train` from scratch for --train-steps steps on a file of
such samples (haystacks from the training split; written once by this
script, seeded). With --loss answer (the default) the file holds token
sequences with a loss mask (docs/language.md, "Loss masks"): samples of
exactly one context, only the key's digits after the query counting in the
loss, as MQAR trains; with --loss all it is text, samples of half to one
context, every byte counting. Then for
every length (--lengths, multiples of the context), depth (--depths) and
haystack: --samples prompts, each continued by `generate --temperature 0`
for as many bytes as the key has. The memories' state is carried through
the prompt (the stream entry points: decode and prefill, docs/streaming.md),
so a prompt may be longer than the context; with --memorize-off also with
the memories frozen at their learned initial state (the ablation of
test-time memorization). Score: exact match of the five digits; accuracy per
configuration, over samples, depths and seeds.

Writes the JSON (every sample: model, seed, haystack, length, depth, key,
answer), a PNG (accuracy against length) and the section `niah.py` of --out
(docs/results.md). Nothing here is a test; test/Evals/niah.test runs it end
to end on a tiny configuration, and --self-check checks the generator and
the scorer.

Usage: .venv/bin/python bench/eval/niah.py [--models titans deltanet ...]
           [--train-steps 400] [--seeds 0 1 2] [--lengths 1 4 16]
           [--depths 0.1 0.5 0.9] [--samples 8] [--haystacks text filler]
       .venv/bin/python bench/eval/niah.py --from-json docs/results-niah.json
       .venv/bin/python bench/eval/niah.py --self-check
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
                         plot_styles, run_or_exit, start_report, write_masked, write_section)

FILLER = "The grass is green. The sky is blue. The sun is yellow. Here we go. There and back again. "
NEEDLE = "The pass key is {key}. Remember it. {key} is the pass key. "
QUERY = "What is the pass key? The pass key is "
KEY_DIGITS = 5
# The shortest sample: the needle, the query and the key, no haystack.
MIN_LENGTH = len(NEEDLE.format(key="0" * KEY_DIGITS)) + len(QUERY) + KEY_DIGITS


def splits(text):
    """(training split, validation split) of a text as the runtime reads it:
    the last 10 % (at least one window) is validation (runtime/README.md)."""
    cut = len(text) - len(text) // 10
    return text[:cut], text[cut:]


def build(kind, length, depth, key, start, text):
    """The prompt of a sample of `length` bytes in all (prompt + key): the
    haystack (`text` from byte `start`, or the filler sentence repeated)
    with the needle of `key` at fraction `depth` of it, then the query.
    Raises ValueError when the needle and the query do not fit, or the text
    is too short."""
    needle = NEEDLE.format(key=key)
    room = length - len(needle) - len(QUERY) - len(key)
    if room < 0:
        raise ValueError(f"a sample of {length} bytes cannot hold the needle and the query "
                         f"({length - room} bytes)")
    if not 0 <= depth <= 1:
        raise ValueError(f"depth {depth} is not in [0, 1]")
    if kind == "filler":
        hay = (FILLER * (room // len(FILLER) + 1))[:room]
    elif start + room <= len(text):
        hay = text[start:start + room]
    else:
        raise ValueError(f"a haystack of {room} bytes from byte {start} needs a longer text than "
                         f"{len(text)} bytes")
    at = round(depth * room)
    return hay[:at] + needle + hay[at:] + QUERY


def sample(rng, kind, length, depth, text):
    """(prompt, key, start) of one random sample (build): a random key of
    KEY_DIGITS digits, a random start in `text`."""
    key = str(rng.randrange(10 ** (KEY_DIGITS - 1), 10 ** KEY_DIGITS))
    start = rng.randrange(max(1, len(text) - length))
    return build(kind, length, depth, key, start, text), key, start


def score(answer, key):
    """Exact match of the generated bytes against the key."""
    return answer == key.encode()


def training_text(rng, text, context, size):
    """`size` bytes (about) of training samples: lengths between half the
    context (at least MIN_LENGTH) and the context, depths uniform,
    real-text haystacks from `text`, one blank line between samples."""
    if context < MIN_LENGTH:
        raise ValueError(f"a context of {context} bytes cannot hold a sample ({MIN_LENGTH} bytes)")
    parts, n = [], 0
    while n < size:
        length = rng.randint(max(MIN_LENGTH, context // 2), context)
        prompt, key, _ = sample(rng, "text", length, rng.random(), text)
        parts.append(prompt + key + "\n\n")
        n += len(parts[-1])
    return "".join(parts)


def training_rows(rng, text, context, count):
    """`count` training sequences for a loss mask (docs/language.md, "Loss
    masks"): each one sample of exactly context + 1 bytes (real-text
    haystack from `text`, depth uniform), as (tokens [context + 1], mask
    [context]) with the mask 1 only where the target is one of the key's
    digits after the query (the last KEY_DIGITS positions)."""
    if context + 1 < MIN_LENGTH:
        raise ValueError(f"a context of {context} bytes cannot hold a sample ({MIN_LENGTH} bytes)")
    rows = []
    while len(rows) < count:
        prompt, key, _ = sample(rng, "text", context + 1, rng.random(), text)
        tokens = list((prompt + key).encode())
        if len(tokens) != context + 1:  # a character of more than one byte
            continue
        mask = [0] * context
        mask[context - KEY_DIGITS:] = [1] * KEY_DIGITS
        rows.append((tokens, mask))
    return rows


def self_check():
    """The generator and the scorer on known cases; exits 1 on a failure."""
    rng = random.Random(0)
    text = "".join(chr(ord("a") + i % 26) for i in range(5000))
    failures = []
    for kind in ("text", "filler"):
        for length in (MIN_LENGTH, 256, 1024):
            for depth in (0.0, 0.5, 1.0):
                prompt, key, _ = sample(rng, kind, length, depth, text)
                needle = NEEDLE.format(key=key)
                room = length - len(needle) - len(QUERY) - len(key)
                ok = (len(prompt) + len(key) == length and len(key) == KEY_DIGITS and key.isdigit()
                      and prompt.endswith(QUERY) and prompt.find(needle) == round(depth * room)
                      and prompt.count(key) == 2)
                if not ok:
                    failures.append(f"{kind} length {length} depth {depth}: {prompt!r} / {key}")
    if not score(b"48213", "48213") or score(b"48214", "48213") or score(b"4821", "48213"):
        failures.append("the scorer")
    try:
        sample(rng, "text", MIN_LENGTH - 1, 0.5, text)
        failures.append("a sample too short for the needle was not refused")
    except ValueError:
        pass
    train = training_text(random.Random(1), text, 256, 4096)
    if train.count(QUERY) < 8 or len(train) < 4096:
        failures.append("the training text")
    for tokens, mask in training_rows(random.Random(2), text, 128, 4):
        answer = bytes(t for t, m in zip(tokens[1:], mask) if m).decode()
        prompt = bytes(tokens[:-KEY_DIGITS]).decode()
        if (len(tokens) != 129 or len(mask) != 128 or sum(mask) != KEY_DIGITS or not answer.isdigit()
                or not prompt.endswith(QUERY) or NEEDLE.format(key=answer) not in prompt):
            failures.append(f"a masked training row: {bytes(tokens)!r} {mask}")
    finish_self_check("niah", failures)


def evaluate(a, nlc, work):
    with open(a.data, errors="replace") as f:
        train_split, val_split = splits(f.read())
    results = []
    for model in a.models:
        name = os.path.splitext(os.path.basename(model))[0]
        exe = os.path.join(work, name)
        t0 = time.time()
        run_or_exit("niah.py", [nlc, example_path(model), "-o", exe] + [x for s in a.set for x in ("--set", s)])
        info = run_or_exit("niah.py", [exe, "info"], text=True).stdout
        context = int(re.search(r"context (\d+) tokens", info).group(1))
        if "decode" not in info:
            sys.exit(f"niah.py: {name} has no stream entry points; prompts longer than its context "
                     f"cannot be read")
        if a.loss == "answer":
            data = os.path.join(work, f"niah-train-{context}.safetensors")
            if not os.path.exists(data):
                write_masked(data, training_rows(random.Random(1234), train_split, context,
                                                 max(16, a.train_bytes // (context + 1))))
        else:
            data = os.path.join(work, f"niah-train-{context}.txt")
            if not os.path.exists(data):
                with open(data, "w") as f:
                    f.write(training_text(random.Random(1234), train_split, context, a.train_bytes))
        print(f"{name}: compiled in {time.time() - t0:.0f} s (context {context})", file=sys.stderr)
        for seed in a.seeds:
            run_dir = os.path.join(work, f"{name}-seed{seed}")
            subprocess.run(["rm", "-rf", run_dir])
            t0 = time.time()
            run_or_exit("niah.py", [exe, "train", "--data", data, "--run-dir", run_dir, "--steps", str(a.train_steps),
                 "--seed", str(seed), "--lr", str(a.lr), "--eval-every", "0",
                 "--log-every", str(max(1, a.train_steps // 10)),
                 "--threads", str(a.threads)])
            trained = time.time() - t0
            val = json.loads(run_or_exit("niah.py", [exe, "eval", "--data", data, "--run-dir", run_dir, "--eval-batches", "4"],
                                 text=True).stdout)["loss"]
            print(f"{name} seed {seed}: trained {a.train_steps} steps in {trained:.0f} s, "
                  f"validation loss {val:.3f}", file=sys.stderr)
            rng = random.Random(seed * 7919 + 1)
            for kind in a.haystacks:
                for mult in a.lengths:
                    length = int(mult * context)
                    for depth in a.depths:
                        for i in range(a.samples):
                            prompt, key, start = sample(rng, kind, length, depth, val_split)
                            for memorize in (["on", "off"] if a.memorize_off else ["on"]):
                                out = run_or_exit("niah.py", [exe, "generate", "--run-dir", run_dir, "--prompt", prompt,
                                           "--tokens", str(len(key)), "--temperature", "0",
                                           "--memorize", memorize, "--threads", str(a.threads)]).stdout
                                answer = out[len(prompt.encode()):len(prompt.encode()) + len(key)]
                                results.append({"model": name, "seed": seed, "haystack": kind,
                                                "context": context, "length": length, "multiple": mult,
                                                "depth": depth, "memorize": memorize, "key": key, "start": start,
                                                "answer": answer.decode(errors="replace"),
                                                "correct": score(answer, key),
                                                "train_steps": a.train_steps, "train_loss_val": val,
                                                "loss": a.loss, "lr": a.lr})
                    acc = [r["correct"] for r in results if r["model"] == name and r["seed"] == seed
                           and r["haystack"] == kind and r["multiple"] == mult and r["memorize"] == "on"]
                    print(f"{name} seed {seed} {kind} {mult}x context: {sum(acc)}/{len(acc)}", file=sys.stderr)
    return results


def report(a, results, commands):
    plt, base = start_report(a.out, "niah", "samples", results, commands)
    # Samples saved before --loss and --lr existed trained on text at rate 1.
    for r in results:
        r.setdefault("loss", "all")
        r.setdefault("lr", 1.0)
    models = list(dict.fromkeys(r["model"] for r in results))
    # A model trained for several budgets (runs merged with --from-json) is
    # one row and one curve per budget.
    runs = list(dict.fromkeys((r["model"], r["train_steps"], r["lr"]) for r in results))
    several = {m for m in models if sum(1 for x, _, _ in runs if x == m) > 1}
    kinds = list(dict.fromkeys(r["haystack"] for r in results))
    mults = sorted({r["multiple"] for r in results})
    mems = list(dict.fromkeys(r["memorize"] for r in results))

    def acc(**kw):
        rs = [r for r in results if all(r[k] == v for k, v in kw.items())]
        return (sum(r["correct"] for r in rs) / len(rs), len(rs)) if rs else (None, 0)

    def mean_val(model, steps, lr):
        """The run's validation loss, mean over its seeds."""
        vals = {r["seed"]: r["train_loss_val"] for r in results
                if (r["model"], r["train_steps"], r["lr"]) == (model, steps, lr)}
        return sum(vals.values()) / len(vals)

    # One colour per model, one marker per budget (steps, lr), a dotted line
    # for memorize off: the same in both panels, past ten curves too.
    colours, markers = plot_styles(models, sorted({(steps, lr) for _, steps, lr in runs}))
    fig, axes = plt.subplots(1, len(kinds), figsize=(5 * len(kinds), 3.4), squeeze=False)
    for ax, kind in zip(axes[0], kinds):
        for model, steps, lr in runs:
            for mem in mems:
                ys = [acc(model=model, train_steps=steps, lr=lr, haystack=kind, multiple=m, memorize=mem)[0]
                      for m in mults]
                ax.plot(mults, ys, marker=markers[(steps, lr)], color=colours[model], ls="-" if mem == "on" else ":",
                        label=f"{model}" + (f", {steps} steps, lr {lr:g}" if model in several else "")
                        + ("" if mem == "on" else " (memorize off)"))
        ax.set_xscale("log", base=2)
        ax.set_xticks(mults, [f"{m:g}x" for m in mults])
        ax.set_ylim(-0.05, 1.05)
        ax.set_title(f"pass key in {'real text' if kind == 'text' else 'filler (S-NIAH-1)'}", fontsize=9)
        ax.set_xlabel("prompt length (x training context)")
        ax.grid(alpha=0.3)
    axes[0][0].set_ylabel("exact-match accuracy")
    # One legend, beside the panels, where it hides no curve.
    fig.legend(*axes[0][0].get_legend_handles_labels(), fontsize=7, loc="center left",
               bbox_to_anchor=(1.0, 0.5))
    fig.tight_layout()
    fig.savefig(base + ".png", dpi=90, bbox_inches="tight")

    rows = []
    for model, steps, lr in runs:
        for kind in kinds:
            for mem in mems:
                cells = []
                for m in mults:
                    v, n = acc(model=model, train_steps=steps, lr=lr, haystack=kind, multiple=m, memorize=mem)
                    cells.append(f"{v:.2f} ({n})" if n else "-")
                rows.append(f"| {model} | {steps} | {lr:g} | {mean_val(model, steps, lr):.3f} | {kind} | {mem} | "
                            + " | ".join(cells) + " |")
    seeds = sorted({r["seed"] for r in results})
    depths = sorted({r["depth"] for r in results})
    steps = sorted({r["train_steps"] for r in results})
    losses = sorted({r["loss"] for r in results})
    recipe = {"answer": "samples of one context, only the key's five digits after the query counting in the loss "
                        "(a loss mask)",
              "all": "samples of half to one context as text, every byte counting in the loss"}
    sets = sorted({c[i + 1] for c in commands for i in range(len(c) - 1) if c[i] == "--set"})
    cmd = command_lines("bench/eval/niah.py", commands)
    body = f"""<!-- niah.py -->
## Needle in a haystack: a pass key past the training context

Generated by {cmd} ({os.cpu_count()} cores); do not edit this section by hand
(`bench/eval/niah.py --from-json docs/results-niah.json` rewrites it from the saved samples).
Each model ({', '.join(f'`{m}`' for m in models)}{' with --set ' + ', '.join(sets) if sets else ' as shipped'}), trained from scratch for {' / '.join(map(str, steps))} steps on pass-key samples
(bench/eval/niah.py: real-text haystacks; {'; '.join(recipe[x] for x in losses)}), seeds {', '.join(map(str, seeds))};
then prompts of each length with the needle at depths {', '.join(f'{d:g}' for d in depths)}, read with
the memories' state carried (`generate`, stream entry points), the key's five digits generated greedily.
Exact-match accuracy (samples in parentheses); "memorize off": the memories frozen at their learned
initial state. Validation loss: `eval` on the held-out tenth of the training file after training (nats per
counted target: per key digit with the loss mask; mean over the seeds).

| model | steps | lr | validation loss | haystack | memorize | """ + " | ".join(f"{m:g}x context" for m in mults) + """ |
| --- | --- | --- | --- | --- | --- | """ + " | ".join("---" for _ in mults) + """ |
""" + "\n".join(rows) + f"""

![pass-key accuracy against prompt length]({os.path.basename(base)}.png)
<!-- end niah.py -->
"""
    write_section(a.out, "niah.py", body, "# Results\n")
    print(f"niah.py: wrote {a.out}, {base}.png and {base}.json", file=sys.stderr)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    add_eval_args(ap, "samples", "the generator and the scorer")
    ap.add_argument("--train-steps", type=int, default=400)
    ap.add_argument("--train-bytes", type=int, default=2_000_000, help="size of the training file")
    ap.add_argument("--loss", choices=["answer", "all"], default="answer",
                    help="what training counts: the key's digits after the query (a loss mask; "
                         "samples of one context) or every byte (text of samples of half to one context)")
    ap.add_argument("--lr", type=float, default=1.0, help="train --lr: scale of the compiled outer rates")
    ap.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    ap.add_argument("--lengths", nargs="+", type=float, default=[1, 4, 16], help="multiples of the context")
    ap.add_argument("--depths", nargs="+", type=float, default=[0.1, 0.5, 0.9])
    ap.add_argument("--samples", type=int, default=4, help="per length, depth, haystack and seed")
    ap.add_argument("--haystacks", nargs="+", choices=["text", "filler"], default=["text", "filler"])
    ap.add_argument("--memorize-off", action="store_true", help="also with the memories frozen (the ablation)")
    eval_main(ap, "nl-niah-", "samples", self_check, evaluate, report)


if __name__ == "__main__":
    main()
