#!/usr/bin/env python3
"""Leaves what killed runs leave in a run directory: a checkpoint temporary
of a process that is no longer running, and one named after pid 1 (always
running, so it must stay).

Usage: stale_temporaries.py RUN_DIR   (prints the dead process's pid)
"""
import os
import subprocess
import sys

p = subprocess.Popen(["true"])
p.wait()
for pid in (p.pid, 1):
    with open(os.path.join(sys.argv[1], f"checkpoint.safetensors.tmp.{pid}"), "wb") as f:
        f.write(b"half a checkpoint")
print(p.pid)
