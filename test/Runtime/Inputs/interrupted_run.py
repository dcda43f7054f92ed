#!/usr/bin/env python3
"""Ctrl-C during `train`: the step in flight finishes, its state is written
as the checkpoint and the run exits with code 130 naming the step; resumed
to a later step, it writes the metrics and the checkpoint of a run that
was never interrupted. A second signal stops the run at once, leaving the
checkpoint on disk whole. A signal during validation stops it between
validation batches (no validation line), with the checkpoint of the step.

Usage: interrupted_run.py MODEL DATA WORK_DIR   (prints OK, or what went
wrong, exit 1)
"""
import json
import os
import signal
import struct
import subprocess
import sys
import time

model, data, work = sys.argv[1:4]
common = ["--data", data, "--seed", "5", "--eval-every", "4", "--eval-batches", "1", "--log-every", "1"]


def fail(msg):
    print(f"interrupted_run: {msg}")
    sys.exit(1)


def step_of(ckpt):
    """nl.step of a checkpoint (safetensors: an 8-byte header length, then
    the JSON header with __metadata__)."""
    with open(ckpt, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        return int(json.loads(f.read(n))["__metadata__"]["nl.step"])


def start(run_dir, steps, resume=False):
    return subprocess.Popen([model, "train", "--run-dir", run_dir, "--steps", str(steps)] + common +
                            (["--resume"] if resume else []),
                            stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True)


def wait_for_step(p, k):
    """Reads the run's stderr until its progress line of step k."""
    for line in p.stderr:
        if line.startswith(f"step {k}/"):
            return
    fail(f"the run ended (exit {p.wait()}) before its step {k}")


# One signal: the run stops after its step in flight, with a checkpoint.
part = os.path.join(work, "part")
p = start(part, 1000000)
wait_for_step(p, 2)
p.send_signal(signal.SIGINT)
rest = p.stderr.read()
if p.wait() != 130:
    fail(f"exit {p.returncode} after SIGINT, not 130:\n{rest}")
stopped = step_of(os.path.join(part, "checkpoint.safetensors"))
if stopped < 2 or f"interrupted at step {stopped}: checkpoint of step {stopped} in " not in rest:
    fail(f"the checkpoint holds step {stopped}; the run said:\n{rest}")

# Resumed to a later step, it equals a run that was never interrupted.
end = stopped + 5
whole = os.path.join(work, "whole")
for run_dir, resume in ((part, True), (whole, False)):
    q = start(run_dir, end, resume)
    q.stderr.read()
    if q.wait() != 0:
        fail(f"train --steps {end} in {run_dir} failed (exit {q.returncode})")
keys = ("step", "split", "tokens", "loss")
lines = [[tuple(json.loads(x).get(k) for k in keys) for x in open(os.path.join(d, "metrics.jsonl"))]
         for d in (part, whole)]
if lines[0] != lines[1]:
    fail(f"the resumed run's metrics differ from the uninterrupted run's:\n{lines[0]}\n{lines[1]}")
with open(os.path.join(part, "checkpoint.safetensors"), "rb") as f, \
        open(os.path.join(whole, "checkpoint.safetensors"), "rb") as g:
    if f.read() != g.read():
        fail("the resumed run's checkpoint differs from the uninterrupted run's")

# Two signals: the second stops the run at once (killed by SIGTERM), and the
# checkpoint on disk is one of a whole step.
twice = os.path.join(work, "twice")
p = start(twice, 1000000)
wait_for_step(p, 5)  # after the checkpoint of the validation at step 4
p.send_signal(signal.SIGTERM)
time.sleep(0.01)
p.send_signal(signal.SIGTERM)
p.stderr.read()
code = p.wait()
if code not in (130, -signal.SIGTERM):
    fail(f"exit {code} after two SIGTERMs")
if step_of(os.path.join(twice, "checkpoint.safetensors")) < 4:
    fail("the checkpoint on disk is older than the step-4 validation")

# A signal during a validation far too long to finish: it stops between
# validation batches, the step's checkpoint is written, no validation line.
val = os.path.join(work, "validation")
p = subprocess.Popen([model, "train", "--run-dir", val, "--steps", "2", "--data", data, "--seed", "5",
                      "--eval-every", "2", "--eval-batches", "100000000", "--log-every", "1"],
                     stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True)
wait_for_step(p, 2)
p.send_signal(signal.SIGINT)
try:
    rest = p.communicate(timeout=60)[1]
except subprocess.TimeoutExpired:
    p.kill()
    fail("the run went on validating for 60 s after SIGINT")
if p.returncode != 130 or "step 2: validation stopped by the signal" not in rest:
    fail(f"exit {p.returncode} after SIGINT during validation:\n{rest}")
if step_of(os.path.join(val, "checkpoint.safetensors")) != 2:
    fail("no checkpoint of step 2 after SIGINT during validation")
if any(json.loads(x).get("split") == "val" for x in open(os.path.join(val, "metrics.jsonl"))):
    fail("a validation line was written for the interrupted validation")
print("OK")
