#!/usr/bin/env python3
"""Runs a command and succeeds only when it exits with the given code
(its output passes through).

Usage: expect_exit.py CODE COMMAND [ARGS...]
"""
import subprocess
import sys

code = int(sys.argv[1])
rc = subprocess.run(sys.argv[2:]).returncode
if rc != code:
    print(f"expect_exit: {sys.argv[2]} exited {rc}, expected {code}", file=sys.stderr)
    sys.exit(1)
