#!/usr/bin/env python3
"""Compares a model compiled by nlc with its independent PyTorch reference
(test/reference/nlref.py) on the same initial weights and the same batches.

    check.py --nlc build/bin/nlc --data ../shared/data/tinyshakespeare.txt \\
             --model hope --context 23 [--every mem=4 --every proj=8 ...]

1. Writes examples/<model>.nl with the given level frequencies (`--every
   LEVEL=N`, tokens or steps as the level declares) and compiles it with
   `--set` for width, layers, heads, context and batch (and `--mcpu`,
   default $NL_TEST_MCPU: code for another CPU than the host's).
2. The starting weights: nlc's initialization (seed 0) with the memories'
   initial states scaled by --memory-scale, as a step-0 checkpoint.
3. At each of --steps steps s: `<exe> dump` writes the compiled weights W_s,
   the batch of step s and nlc's logits, loss and gradients on it; then
   `<exe> train --resume --steps s+1` (constant learning rate) takes the
   checkpoint to W_{s+1}.
4. The reference, in float64 at the compiled weights W_s of each step,
   computes the logits and loss (step 0) and every gradient; its AdamW
   (CMS levels accumulate and fire at their periods), fed the compiled
   gradients, computes each step's update W_{s+1} - W_s.

With --online K (Hope), instead of 3. and 4.: test-time learning of the
slow levels (`eval --long --online-levels`, docs/streaming.md). The CMS
levels' optimizers become plain gradient descent (`gd(lr = --online-lr)`,
linear in the gradient, so that float32 rounding cannot flip an update as
it can Adam's), and the executable reads K B T + 5 tokens of the data as
one stream, saving its state; the reference takes the same K test-time
steps in float64 from the same weights (step k: the B windows of T + 1
tokens starting at (k - 1) B T + r T, the gradient of their mean loss,
accumulated by each CMS level and applied every `period` steps, the other
levels fixed) and its update of every CMS parameter is compared with the
one in the saved state (relative RMS error below --tol), as are the steps
and firings the executable reports and the tokens it kept for its next
step. In the same run, a control gives the reference windows one token
later and must fail every update; --online-shift 1 runs that reference
alone (then the check itself must fail).

The model and the optimizer are thus checked separately at every step, and
neither inherits the other's float32 rounding (Adam divides a gradient by its
own size, so end-to-end weights after a few steps depend on how the CPU
rounds). Logits, loss and gradients: relative RMS error (rms(nlc - ref) /
rms(ref)) below --tol (default 1e-4). Updates: the part of each entry's
error beyond the float32 rounding bound of the AdamW step (nlref.AdamW,
running error analysis), rms(max(|nlc - ref| - bound, 0)) / rms(ref update),
below --tol; a slow level between firings must not move at all. Exit 0 when
all pass. --lr-scale and --grad-scale perturb the reference (controls that
must fail).
"""
import argparse
import json
import os
import re
import subprocess
import sys
import tempfile

import torch
from safetensors import safe_open
from safetensors.torch import load_file, save_file

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import nlref  # noqa: E402

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))


def with_frequencies(text, every):
    """The example's text with `level NAME every N ...` set from `every`."""
    for level, n in every.items():
        text, k = re.subn(rf"(level {level} every )\d+", rf"\g<1>{n}", text)
        if k != 1:
            sys.exit(f"check.py: level '{level}' not found (once) in the example")
    return text


def run(cmd, **kw):
    r = subprocess.run(cmd, capture_output=True, text=True, **kw)
    if r.returncode != 0:
        sys.exit(f"check.py: {' '.join(cmd)} failed (exit {r.returncode}):\n{r.stdout}{r.stderr}")
    return r


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--nlc", required=True)
    ap.add_argument("--data", required=True)
    ap.add_argument("--model", required=True, choices=sorted(nlref.MODELS))
    ap.add_argument("--d", type=int, default=16)
    ap.add_argument("--layers", type=int, default=2)
    ap.add_argument("--heads", type=int, default=2)
    ap.add_argument("--context", type=int, default=23)
    ap.add_argument("--batch", type=int, default=2)
    ap.add_argument("--every", action="append", default=[], metavar="LEVEL=N",
                    help="a level's frequency (chunk size in tokens, or period in steps)")
    ap.add_argument("--steps", type=int, default=3)
    ap.add_argument("--memory-scale", type=float, default=20.0,
                    help="scale of the memories' initial states (params named *.init.*)")
    ap.add_argument("--tol", type=float, default=1e-4)
    ap.add_argument("--mcpu", default=os.environ.get("NL_TEST_MCPU", ""),
                    help="nlc --mcpu (default: $NL_TEST_MCPU, else the host's CPU)")
    ap.add_argument("--lr-scale", type=float, default=1.0,
                    help="scale the reference's learning rate (a control: 1.001 must fail the updates)")
    ap.add_argument("--grad-scale", type=float, default=1.0,
                    help="scale the reference's gradients (a control: 1.001 must fail the gradients)")
    ap.add_argument("--memory-norm", choices=["layer", "rms"],
                    help="titans only: give the example's mlp memory this output normalization "
                         "(norm = ..., docs/language.md 'Stabilizers'), the reference too")
    ap.add_argument("--rope", type=float,
                    help="transformer only: rotary position embeddings of this base in every "
                         "attention (attention(..., rope = BASE)), the reference too")
    ap.add_argument("--ref-rope", type=float,
                    help="give the reference this rotary base instead of --rope's (a control: "
                         "another base must fail)")
    ap.add_argument("--online", type=int, default=0, metavar="K",
                    help="hope only: check K test-time steps of the CMS levels (eval --long --online-levels) "
                         "instead of training steps")
    ap.add_argument("--online-lr", type=float, default=1.0, help="the CMS levels' gd rate with --online")
    ap.add_argument("--online-shift", type=int, default=0,
                    help="with --online: the reference's windows this many tokens later (a control: 1 must fail)")
    ap.add_argument("--workdir", help="keep the files here (default: a temporary directory)")
    a = ap.parse_args()
    every = dict(e.split("=", 1) for e in a.every)
    for k, v in every.items():
        every[k] = int(v)

    work = a.workdir or tempfile.mkdtemp(prefix=f"nlref-{a.model}-")
    os.makedirs(work, exist_ok=True)
    src = os.path.join(work, f"{a.model}.nl")
    with open(os.path.join(ROOT, "examples", f"{a.model}.nl")) as f:
        text = with_frequencies(f.read(), every)

    def edit(flag, model, what, pattern, repl):
        """`text` with the one match of `pattern` replaced, for --flag."""
        nonlocal text
        if a.model != model:
            sys.exit(f"check.py: {flag} is for --model {model}")
        text, k = re.subn(pattern, repl, text)
        if k != 1:
            sys.exit(f"check.py: {what} of examples/{model}.nl not found (once)")

    if a.memory_norm:
        edit("--memory-norm", "titans", "the memory type", r"(memory neural = mlp\(.*act = silu)\)",
             rf"\1, norm = {a.memory_norm})")
    if a.rope:
        edit("--rope", "transformer", "the attention call", r"(attention\(heads\(.*, heads\))\)",
             rf"\1, rope = {a.rope})")
    if a.online:
        for level in ("cms_low", "cms_mid"):
            edit("--online", "hope", f"the optimizer of {level}",
                 rf"(level {level} every \d+ steps \{{\s*)optimizer adamw\([^)]*\)",
                 rf"\1optimizer gd(lr = {a.online_lr})")
    with open(src, "w") as f:
        f.write(text)
    exe = os.path.join(work, a.model)
    sets = [f"d={a.d}", f"layers={a.layers}", f"heads={a.heads}", f"context={a.context}", f"batch={a.batch}"]
    run([a.nlc, src, "-o", exe] + [x for s in sets for x in ("--set", s)] + ([f"--mcpu={a.mcpu}"] if a.mcpu else []))

    # The starting point: nlc's initialization (seed 0), with the memories'
    # initial states scaled by --memory-scale (at std 0.02 the memories are
    # near the identity and their parameters' gradients are ~1e-10, below
    # what float32 resolves), written as a step-0 checkpoint that `dump`
    # reads and `train --resume` continues.
    run_dir = os.path.join(work, "run")
    ckpt = os.path.join(run_dir, "checkpoint.safetensors")
    if os.path.exists(ckpt):
        os.remove(ckpt)
    common = ["--data", a.data, "--seed", "0", "--threads", "1"]
    init = os.path.join(work, "init.safetensors")
    run([exe, "dump", "--out", init] + common)
    run([exe, "train", "--run-dir", run_dir, "--steps", "1", "--eval-every", "0", "--eval-batches", "1"] + common)
    params = {k[len("param."):]: v for k, v in load_file(init).items() if k.startswith("param.")}
    with safe_open(ckpt, "pt") as f:
        meta = f.metadata()
        start = {k: f.get_tensor(k) for k in f.keys()}
    for k in start:
        if k in params:
            start[k] = params[k] * (a.memory_scale if ".init." in k else 1.0)
        else:
            start[k] = torch.zeros_like(start[k])  # optimizer state
    meta["nl.step"] = "0"
    save_file(start, ckpt, metadata=meta)

    if a.online:
        return check_online(a, exe, run_dir, every, start, params, common)

    # Step by step: at each step s, `dump` gives the compiled weights W_s,
    # the batch of step s and the compiled gradient on it; `train --resume
    # --steps s+1` (constant learning rate) then takes W_s to W_{s+1}.
    dumps = []
    train = ["--lr", "1", "--warmup", "0", "--schedule", "constant", "--eval-every", "0", "--eval-batches", "1"]
    for s in range(a.steps):
        out = os.path.join(work, f"step{s}.safetensors")
        run([exe, "dump", "--run-dir", run_dir, "--batch-step", str(s), "--out", out] + common)
        dumps.append(load_file(out))
        run([exe, "train", "--run-dir", run_dir, "--resume", "--steps", str(s + 1)] + train + common)
    trained = load_file(ckpt)

    d0 = dumps[0]
    names = sorted(k[len("param."):] for k in d0 if k.startswith("param."))
    cfg = {"heads": a.heads, "layers": a.layers, "chunk": every, "memory_norm": a.memory_norm,
           "rope": a.ref_rope or a.rope}
    forward = nlref.MODELS[a.model]
    torch.set_grad_enabled(True)

    def loss_and_grads(P, tokens):
        leaves = {n: P[n].detach().clone().requires_grad_(True) for n in names}
        ids, targets = tokens[:, :-1].long(), tokens[:, 1:].long()
        logits = forward(leaves, ids, cfg)
        loss = nlref.cross_entropy(logits, targets)
        grads = torch.autograd.grad(loss, [leaves[n] for n in names])
        return logits.detach(), loss.detach(), dict(zip(names, grads))

    # Each comparison: (what, error, allowed). The model (logits, loss,
    # gradients) and the optimizer are checked separately, each at the
    # compiled weights of every step, so that float32 rounding is never
    # carried from one into the other: Adam divides a gradient by its own
    # size, so a gradient entry that float32 cannot resolve (cancellation
    # in its sum) moves its weight by a full step in either direction, and
    # three such steps compared end to end depend on the CPU's rounding.
    results = []
    periods = {"pretrain": 1}
    for level in ("cms_mid", "cms_low"):
        if level in every:
            periods[level] = every[level]
    opt = {}
    for n in names:
        level = nlref.level_of(a.model, n)
        if level not in periods:
            sys.exit(f"check.py: give --every {level}=N")
        opt[n] = nlref.AdamW(period=periods[level])
        opt[n].lr *= a.lr_scale
    loss = None
    for s in range(a.steps):
        d = dumps[s]
        P = {n: d[f"param.{n}"].double() for n in names}
        logits, ls, grads = loss_and_grads(P, d["tokens"])
        if s == 0:
            loss = ls
            results.append(("logits", nlref.rel_rms(d["logits"], logits), a.tol, ""))
            results.append(("loss", nlref.rel_rms(d["loss"], ls), a.tol, ""))
        for n in names:
            results.append((f"step {s} grad {n}", nlref.rel_rms(d[f"grad.{n}"], grads[n] * a.grad_scale), a.tol, ""))
        # The optimizer on its own: the reference AdamW from the compiled
        # weights and gradients against the compiled update W_{s+1} - W_s,
        # beyond the float32 rounding bound of each entry (nlref.AdamW):
        # rms(max(|error| - bound, 0)) / rms(update).
        after = dumps[s + 1] if s + 1 < a.steps else None
        # The compiled gradients as the optimizer sees them: clipped to the
        # example's clip_norm by their global norm (nlref.clip_grads).
        clipped = nlref.clip_grads({n: d[f"grad.{n}"].double() for n in names}, nlref.OUTER_CLIP.get(a.model))
        for n in names:
            w = P[n]
            w_next = (after[f"param.{n}"] if after is not None else trained[n]).double()
            ref = opt[n].step(w, clipped[n], s + 1)
            excess = ((w_next - ref).abs() - opt[n].bound).clamp_min(0)
            results.append((f"step {s + 1} update {n}", _excess(excess, ref - w), a.tol,
                            f" beyond float32 rounding (raw {_excess((w_next - ref).abs(), ref - w):.1e}, "
                            f"rounding bound {_excess(opt[n].bound, ref - w):.1e})"))

    worst = max(e for _, e, _, _ in results)
    failed = [w for w, e, tol, _ in results if not e < tol]
    for w, e, tol, note in results:
        print(f"{'FAIL' if not e < tol else 'ok  '} {w}: relative RMS error {e:.2e}{note}")
    kinds = {k: (sum(1 for w, _, _, _ in results if f" {k} " in w),
                 sum(1 for w in failed if f" {k} " in w)) for k in ("grad", "update")}
    print(f"{'FAIL' if failed else 'PASS'}: {a.model} (d {a.d}, {a.layers} layers, {a.heads} heads, "
          f"T {a.context}, B {a.batch}, {' '.join(f'{k}={v}' for k, v in every.items()) or 'no memory levels'}"
          f"{', code for ' + a.mcpu if a.mcpu else ''}): "
          f"{len(results)} comparisons, worst {worst:.2e}, tolerance {a.tol:g}; failed: "
          f"gradients {kinds['grad'][1]}/{kinds['grad'][0]}, updates {kinds['update'][1]}/{kinds['update'][0]}, "
          f"others {len(failed) - kinds['grad'][1] - kinds['update'][1]}; "
          f"nlc loss {d0['loss'].item():.6f}, reference {loss.item():.6f} nats/token")
    return 1 if failed else 0


def check_online(a, exe, run_dir, every, start, params, common):
    """--online K: the executable's test-time steps of the CMS levels
    against the reference's (module docstring)."""
    B, T = a.batch, a.context
    with open(a.data, "rb") as f:
        text = list(f.read(a.online * B * T + 6))
    work = os.path.dirname(run_dir)
    long_path, state = os.path.join(work, "online.txt"), os.path.join(work, "online-state.safetensors")
    with open(long_path, "wb") as f:
        f.write(bytes(text))
    out = run([exe, "eval", "--run-dir", run_dir, "--long", long_path, "--online-levels",
               "--state-out", state, "--threads", "1"]).stdout
    report = json.loads(out)
    saved = load_file(state)

    names = sorted(params)
    cfg = {"heads": a.heads, "layers": a.layers, "chunk": every, "memory_norm": None, "rope": None}
    torch.set_grad_enabled(True)
    P0 = {n: start[n].double() for n in names}
    periods = {lv: every[lv] for lv in ("cms_mid", "cms_low")}

    def reference(shift):
        """The online levels' weights after the K test-time steps, and each
        level's optimizer steps, with the windows read `shift` tokens late."""
        P = {n: p.clone() for n, p in P0.items()}
        acc = {n: torch.zeros_like(P[n]) for n in names}
        fired = {lv: 0 for lv in periods}
        for k in range(1, a.online + 1):
            base = (k - 1) * B * T + shift
            tokens = torch.tensor([text[base + r * T: base + r * T + T + 1] for r in range(B)])
            leaves = {n: P[n].detach().clone().requires_grad_(True) for n in names}
            logits = nlref.MODELS["hope"](leaves, tokens[:, :-1].long(), cfg)
            loss = nlref.cross_entropy(logits, tokens[:, 1:].long())
            grads = dict(zip(names, torch.autograd.grad(loss, [leaves[n] for n in names])))
            for lv, period in periods.items():
                fired[lv] += k % period == 0
            for n in names:
                lv = nlref.level_of("hope", n)
                if lv not in periods:
                    continue  # the levels of every step do not learn online
                acc[n] = acc[n] + grads[n].detach()
                if k % periods[lv] == 0:
                    P[n] = P[n] - a.online_lr * acc[n] / periods[lv]
                    acc[n] = torch.zeros_like(acc[n])
        return P, fired

    P, fired = reference(a.online_shift)
    results = []
    learned = [n for n in names if nlref.level_of("hope", n) in periods]

    def error(n, want):
        # Beyond the rounding of the stored weights (half an ulp of p' at
        # each of the level's optimizer steps): a norm's gain near 1 moves
        # by little more than that.
        got = saved[f"online.{n}"].double().reshape(want[n].shape)
        bound = fired[nlref.level_of("hope", n)] * nlref.AdamW.U * want[n].abs()
        excess = ((got - want[n]).abs() - bound).clamp_min(0)
        return _excess(excess, want[n] - P0[n])

    for n in learned:
        got = saved[f"online.{n}"].double().reshape(P[n].shape)
        results.append((f"online update {n} (rms {torch.sqrt(((P[n] - P0[n]) ** 2).mean()).item():.1e}; raw "
                        f"{nlref.rel_rms(got - P0[n], P[n] - P0[n]):.1e})", error(n, P), a.tol))
    if a.online_shift == 0:
        # The control, on the same run: the reference reading its windows one
        # token late must fail every online update (the comparison can fail).
        shifted, _ = reference(1)
        caught = sum(not error(n, shifted) < a.tol for n in learned)
        results.append((f"control: the reference's windows one token late fail {caught} of {len(learned)} "
                        f"online updates (must fail all)", float(caught != len(learned)), 0.5))
    want_keys = {f"online.{n}" for n in learned} | {f"online.{n}.acc" for n in learned} | {"online.history"}
    have_keys = {k for k in saved if k.startswith("online.")}
    results.append((f"saved online tensors (extra {sorted(have_keys - want_keys)}, missing "
                    f"{sorted(want_keys - have_keys)})", float(have_keys != want_keys), 0.5))
    history = saved["online.history"].tolist()
    results.append((f"history {history} (the tokens since the last step)",
                    float(history != text[a.online * B * T: len(text) - 1]), 0.5))
    results.append((f"test-time steps {report.get('online_steps')} (want {a.online}), optimizer steps "
                    f"{report.get('online_optimizer_steps')} (want {fired})",
                    float(report.get("online_steps") != a.online or report.get("online_optimizer_steps") != fired),
                    0.5))
    failed = [w for w, e, tol in results if not e < tol]
    for w, e, tol in results:
        print(f"{'FAIL' if not e < tol else 'ok  '} {w}: {e:.2e}")
    print(f"{'FAIL' if failed else 'PASS'}: hope online (d {a.d}, {a.layers} layers, T {T}, B {B}, "
          f"{' '.join(f'{k}={v}' for k, v in every.items())}, {a.online} test-time steps, gd lr {a.online_lr}"
          f"{', windows shifted by ' + str(a.online_shift) if a.online_shift else ''}): "
          f"{len(results)} comparisons, failed {len(failed)}")
    return 1 if failed else 0


def _excess(excess, update):
    """rms(excess) / rms(update) (absolute when the update is zero: a slow
    level between its firings must not move at all)."""
    num = torch.sqrt((excess ** 2).mean()).item()
    den = torch.sqrt((update ** 2).mean()).item()
    return num / den if den > 0 else num


if __name__ == "__main__":
    sys.exit(main())
