#!/usr/bin/env python3
"""Two `train` runs on one run directory at the same moment: exactly one
runs, the other stops at once (exit != 0) with a message that names the
directory and the running one's pid, and leaves the directory as it was.

Usage: concurrent_runs.py MODEL DATA RUN_DIR [--resume | --second-resume]
  without --resume: both start a new run in RUN_DIR (which must not exist);
  with --resume: RUN_DIR holds a run; one resumed run is started, then a
  second one once the first holds the directory;
  with --second-resume: a new run is started in RUN_DIR (which must not
  exist), then, once it holds the directory and before it has written a
  checkpoint, a second one with --resume.
Prints OK, or what went wrong (exit 1).
"""
import os
import select
import subprocess
import sys
import time

model, data, run_dir = sys.argv[1:4]
resume = "--resume" in sys.argv[4:]
second_resume = "--second-resume" in sys.argv[4:]
# A run long enough to be running when the second one starts, writing
# nothing until it is killed (no log line, no evaluation, no checkpoint).
cmd = [model, "train", "--data", data, "--run-dir", run_dir,
       "--steps", "1000000", "--eval-every", "0", "--log-every", "1000000"]
if resume:
    cmd.append("--resume")


def fail(msg):
    print(f"concurrent_runs: {msg}")
    for p in procs:
        if p.poll() is None:
            p.kill()
            p.wait()
    sys.exit(1)


def snapshot():
    return sorted(
        (e.name, e.stat().st_size, e.stat().st_mtime_ns, e.stat().st_ino)
        for e in os.scandir(run_dir))


def start(extra=()):
    return subprocess.Popen(cmd + list(extra), stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True)


procs = []
if not resume and not second_resume:
    procs = [start(), start()]
else:
    procs = [start()]
    lock = os.path.join(run_dir, "train.lock")
    deadline = time.time() + 60
    while not (os.path.exists(lock) and
               open(lock).read().strip() == str(procs[0].pid)):
        if procs[0].poll() is not None or time.time() > deadline:
            fail(f"the first run does not hold {lock}: "
                 f"{procs[0].communicate()[1] if procs[0].poll() is not None else 'timeout'}")
        time.sleep(0.05)
    # Its first line comes once it has set the directory up (metrics.jsonl
    # rewritten on resume); after it, it writes nothing there.
    ready, _, _ = select.select([procs[0].stderr], [], [], 60)
    line = procs[0].stderr.readline() if ready else ""
    if " training " not in line:
        fail(f"the first run did not start training: {line!r}")
    before = snapshot()
    procs.append(start(["--resume"] if second_resume else []))

deadline = time.time() + 60
while all(p.poll() is None for p in procs):
    if time.time() > deadline:
        fail("both runs are still running after 60 s")
    time.sleep(0.05)
done = [p for p in procs if p.poll() is not None]
if len(done) != 1:
    fail(f"both runs ended: {[p.communicate()[1] for p in procs]}")
loser = done[0]
winner = procs[1] if loser is procs[0] else procs[0]
err = loser.communicate()[1]
if (resume or second_resume) and loser is not procs[1]:
    fail(f"the first run ended: {err}")
want = (f"error: run directory '{run_dir}' is in use by another train run "
        f"(process {winner.pid}, ")
if loser.returncode == 0 or want not in err:
    fail(f"the second run exited {loser.returncode} with:\n{err}\n"
         f"expected a message containing:\n{want}")
if (resume or second_resume) and snapshot() != before:
    fail(f"the second run changed {run_dir}: {before} -> {snapshot()}")
# Killed outright (a SIGTERM would let it checkpoint its step first, and
# the lock test that follows wants a holder that died).
winner.kill()
winner.wait()
print("OK")
