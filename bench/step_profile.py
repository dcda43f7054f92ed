#!/usr/bin/env python3
"""Where one training step of each example goes: `perf record` of the
compiled executable's `train`, every sample put in one category by its call
stack (the runtime's dense products on BLIS, the fused attention kernels,
the fused memory-update kernels, the other generated code, OpenMP's
waiting, malloc and free), as a Markdown table per model, with the hottest
symbols of each category.

    .venv/bin/python bench/step_profile.py [--models transformer titans hope]
        [--threads 2] [--steps 6] [--freq 500] [--write-results]

(Not named profile.py: in bench/ that would shadow Python's `profile`
module, which torch imports through cProfile, in the other scripts.)

Needs `perf` (Debian: `apt-get install linux-perf`) and permission to
record (perf_event_paranoid <= 2 for one's own processes). The samples
cover the whole `train` run (start-up, the steps, one validation batch):
take several steps so that the steps dominate. Shares are of samples of
all threads, so a thread waiting for the others shows as OpenMP's share.
"""
import argparse
import collections
import os
import re
import shutil
import sys

from nl_examples import ROOT, cpu_model, example_path, parse_run_args, run_or_exit, write_section

ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
ap.add_argument("--build", default=os.path.join(ROOT, "build"))
ap.add_argument("--models", nargs="+", default=["transformer", "titans", "hope"])
ap.add_argument("--width", type=int, default=128)
ap.add_argument("--layers", type=int, default=4)
ap.add_argument("--heads", type=int, default=4)
ap.add_argument("--context", type=int, default=256)
ap.add_argument("--batch", type=int, default=16)
ap.add_argument("--steps", type=int, default=12, help="training steps recorded (Hope: a quarter)")
ap.add_argument("--freq", type=int, default=500, help="samples per second and thread")
ap.add_argument("--top", type=int, default=3, help="symbols named per category")
ap.add_argument("--write-results", action="store_true",
                help="write the section `step_profile.py` of --out (docs/results.md)")
# --threads, --data, --out, --work
a, nlc, work = parse_run_args(ap, "nl-profile-")

if not shutil.which("perf"):
    sys.exit("step_profile.py: perf not found (Debian: apt-get install linux-perf)")
if not os.path.exists(nlc):
    sys.exit(f"step_profile.py: {nlc} not found (build first: scripts/build.sh)")

CATEGORIES = [
    "dense products (BLIS)",
    "fused attention kernels",
    "fused memory-update kernels",
    "other generated code",
    "runtime (data, metrics, checkpoints)",
    "OpenMP (threads waiting)",
    "malloc, free, memset",
    "other",
]


def category(frames, exe):
    """The category of one sample from its frames (symbol, object), the
    innermost first."""
    top_sym, top_obj = frames[0]
    syms = [s for s, _ in frames]
    if any(s.startswith("nlrt_attention") for s in syms):
        return "fused attention kernels"
    if "libblis" in top_obj or any(s.startswith(("nlrt_sgemm", "nlrt_dgemm")) for s in syms):
        return "dense products (BLIS)"
    if "libomp" in top_obj:
        return "OpenMP (threads waiting)"
    if re.search(r"malloc|free|memset|memcpy|memmove", top_sym) and "libc" in top_obj:
        return "malloc, free, memset"
    if any(".chunk" in s for s in syms if s):
        return "fused memory-update kernels"
    if top_obj.endswith(exe):
        # The runtime (libnlrt) is linked into the executable too.
        if top_sym.startswith("nlrt") or "nlrt::" in top_sym:
            return "runtime (data, metrics, checkpoints)"
        return "other generated code"
    return "other"


def profile(model):
    exe = os.path.join(work, model)
    sets = ["--set", f"d={a.width}", "--set", f"layers={a.layers}", "--set", f"heads={a.heads}",
            "--set", f"context={a.context}", "--set", f"batch={a.batch}"]
    print(f"compiling {model} ...", file=sys.stderr)
    run_or_exit("step_profile.py", [nlc, example_path(model), *sets, "-o", exe])
    steps = max(1, a.steps // 4) if model == "hope" else a.steps
    run = os.path.join(work, f"run-{model}")
    shutil.rmtree(run, ignore_errors=True)
    data = os.path.join(work, f"{model}.perf")
    print(f"recording {model}: {steps} steps ...", file=sys.stderr)
    run_or_exit("step_profile.py", ["perf", "record", "-q", "--call-graph", "dwarf,16384", "-F", str(a.freq),
                               "-o", data, exe, "train", "--data", a.data, "--run-dir", run,
                               "--steps", str(steps), "--threads", str(a.threads),
                               "--eval-every", "0", "--eval-batches", "1"])
    script = run_or_exit("step_profile.py", ["perf", "script", "-i", data, "-F", "ip,sym,dso"],
                         text=True).stdout
    counts = collections.Counter()
    symbols = collections.defaultdict(collections.Counter)
    for block in script.split("\n\n"):
        frames = []
        for line in block.strip().splitlines():
            m = re.match(r"\s*[0-9a-f]+ (.*) \((.*)\)$", line)
            if m:
                frames.append((m.group(1), m.group(2)))
        if not frames:
            continue
        c = category(frames, os.path.basename(exe))
        counts[c] += 1
        # Numbered outlined regions and chunk kernels grouped by name.
        symbols[c][re.sub(r"\d+", "N", frames[0][0])] += 1
    total = sum(counts.values())
    rows = [f"{model}: {total:,} samples ({a.freq} per second and thread, {steps} steps, "
            f"{a.threads} threads)", "",
            "| category | share | hottest symbols (share of the category) |", "| --- | --- | --- |"]
    for c in CATEGORIES:
        if not counts[c]:
            continue
        # BLIS's kernels and libomp's waiting loops have no symbols.
        top = ", ".join((f"`{s}`" if s != "[unknown]" else "(no symbol)") + f" {100 * n / counts[c]:.0f} %"
                        for s, n in symbols[c].most_common(a.top))
        rows.append(f"| {c} | {100 * counts[c] / total:.1f} % | {top} |")
    return "\n".join(rows)


sections = [profile(m) for m in a.models]
cmd = "bench/step_profile.py " + " ".join(x for x in sys.argv[1:] if x != "--write-results")
text = (f"Generated by `.venv/bin/python {cmd.strip()}` (do not edit by hand); {cpu_model()}, "
        f"width {a.width}, {a.layers} layers, {a.heads} heads, context {a.context}, batch {a.batch}.\n"
        "Samples of `train` (all threads) by call stack: BLIS's products, the runtime's fused "
        "attention kernels, the fused memory-update kernels (the chunk functions), the rest of "
        "the generated code, OpenMP's runtime (a thread waiting for the others), the C library's "
        "allocation and copies. A region is named after the first function that holds its code "
        "(nl-merge-functions keeps one copy of equal functions): a `logits.*` region may run in "
        "`loss_grad` too.\n\n" + "\n\n".join(sections) + "\n")
print("\n" + text)
if a.write_results:
    write_section(a.out, "step_profile.py",
                  "<!-- step_profile.py -->\n## Where a training step goes (bench/step_profile.py)\n\n"
                  + text + "<!-- end step_profile.py -->\n")
    print(f"step_profile.py: wrote its section of {a.out}", file=sys.stderr)
