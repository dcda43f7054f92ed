#!/usr/bin/env python3
"""Checks the samples bench/eval/niah.py saved for the tiny run of
niah.test: 16 of them (2 haystacks x 2 lengths x 2 samples x memorize on
and off), each rebuilt from what the JSON says (haystack, length, depth,
key, start) with the key twice in its needle, each `correct` the exact
match of answer and key, and each answer what `generate` gives for the
rebuilt prompt (rerun here with the same memorize setting).

Usage: check_niah.py RESULTS.json DATA EXE RUN_DIR
"""
import json
import os
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "..", "bench", "eval"))
import niah  # noqa: E402

path, data, exe, run_dir = sys.argv[1:5]
samples = json.load(open(path))["samples"]
val = niah.splits(open(data, errors="replace").read())[1]
fail = []
if len(samples) != 16:
    fail.append(f"{len(samples)} samples, expected 16")
for s in samples:
    prompt = niah.build(s["haystack"], s["length"], s["depth"], s["key"], s["start"], val)
    if len(prompt) + len(s["key"]) != s["length"] or prompt.count(s["key"]) < 2:
        fail.append(f"{s}: the rebuilt prompt has the wrong length or lacks the key")
    if s["correct"] != (s["answer"] == s["key"]):
        fail.append(f"{s}: 'correct' is not the exact match")
    out = subprocess.run([exe, "generate", "--run-dir", run_dir, "--prompt", prompt, "--tokens",
                          str(len(s["key"])), "--temperature", "0", "--memorize", s["memorize"],
                          "--threads", "1"], capture_output=True, check=True).stdout
    answer = out[len(prompt.encode()):len(prompt.encode()) + len(s["key"])].decode(errors="replace")
    if answer != s["answer"]:
        fail.append(f"{s}: generate gives {answer!r}")
print("\n".join(["FAIL: " + f for f in fail] + ["check_niah: " + ("FAIL" if fail else "PASS")]))
sys.exit(1 if fail else 0)
