"""Helpers the benchmark scripts share for reading examples/."""
import itertools
import os
import re
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def outer_optimizer(name):
    """(definition, use) of examples/optimizers/<name>.nl: the `optimizer
    ...` lines of its every-step level (two with `... for matrices`, joined
    by a newline), and the definition block of an optimizer written in .nl
    ("" for a built-in)."""
    ex = open(os.path.join(ROOT, "examples", "optimizers", f"{name}.nl")).read()
    use = re.search(r"^level \w+ every 1 steps? \{\n((?:[ \t]*optimizer .*\n)+)", ex, re.M)
    if not use:
        sys.exit(f"no outer optimizer line in examples/optimizers/{name}.nl")
    definition = re.search(r"^optimizer \w+\(.*?\n\}\n", ex, re.M | re.S)
    lines = [line.strip() for line in use.group(1).splitlines()]
    return (definition.group(0) if definition else ""), "\n  ".join(lines)


def parse_run_args(ap, prefix):
    """Adds the options every training benchmark shares (--threads, --data,
    --out, --work; --build must already be there), parses them, and returns
    (args, the nlc binary, the work directory: --work or a new temporary
    one named `prefix`...)."""
    import tempfile
    ap.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    ap.add_argument("--data", default=os.path.join(ROOT, "..", "shared", "data", "tinyshakespeare.txt"))
    ap.add_argument("--out", default=os.path.join(ROOT, "docs", "results.md"))
    ap.add_argument("--work", help="keep executables and runs here (default: a temporary directory)")
    a = ap.parse_args()
    work = a.work or tempfile.mkdtemp(prefix=prefix)
    os.makedirs(work, exist_ok=True)
    return a, os.path.join(a.build, "bin", "nlc"), work


def write_section(path, tag, body, empty="# Results\n"):
    """Writes `body` (which begins with `<!-- TAG -->` and ends with
    `<!-- end TAG -->` and a newline) into the Markdown file `path`: in place
    of that section when the file has it, else appended (to `empty` when the
    file does not exist). Written to a temporary file and renamed."""
    old = open(path).read() if os.path.exists(path) else empty
    pattern = re.compile(rf"<!-- {re.escape(tag)} -->.*?<!-- end {re.escape(tag)} -->\n", re.S)
    new = pattern.sub(lambda _: body, old) if pattern.search(old) else old.rstrip("\n") + "\n\n" + body
    with open(path + ".tmp", "w") as f:
        f.write(new)
    os.replace(path + ".tmp", path)


def run_or_exit(who, cmd, text=False, **kw):
    """Runs `cmd` with its output captured (as str when `text`); on a
    non-zero exit, exits naming `who` and the command, with its stderr."""
    import subprocess
    r = subprocess.run(cmd, capture_output=True, text=text, **kw)
    if r.returncode != 0:
        err = r.stderr.decode(errors="replace") if isinstance(r.stderr, bytes) else r.stderr
        sys.exit(f"{who}: {' '.join(cmd[:4])} ... failed (exit {r.returncode}):\n{err[-3000:]}")
    return r


def cpu_model():
    """The CPU's model name (/proc/cpuinfo), which speed figures depend on."""
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return "CPU model unknown"


def example_path(name):
    """An example's name (examples/NAME.nl) or a .nl file."""
    return name if name.endswith(".nl") else os.path.join(ROOT, "examples", f"{name}.nl")


def load_saved(paths, key):
    """(records, commands) from the JSON files an evaluation saved: their
    lists `key` and `commands`, concatenated."""
    import json
    records, commands = [], []
    for path in paths:
        with open(path) as f:
            saved = json.load(f)
        records += saved[key]
        commands += saved["commands"]
    return records, commands


def command_lines(script, commands):
    """The Markdown that names the command lines of a results section
    (`--work` and `--out`, which only say where files go, left out)."""
    local = ("--work", "--out")
    return " and ".join(
        f"`.venv/bin/python {script} " + " ".join(
            x for i, x in enumerate(c) if x not in local and (i == 0 or c[i - 1] not in local)) + "`"
        for c in commands)


def add_eval_args(ap, saved, checks):
    """The options every evaluation driver of bench/eval takes: --build,
    --from-json (the saved `saved` that rewrite its section), --self-check
    (which checks `checks`), --models and --set."""
    ap.add_argument("--build", default=os.path.join(ROOT, "build"))
    ap.add_argument("--from-json", nargs="+", metavar="FILE", help=f"rewrite the section from saved {saved}")
    ap.add_argument("--self-check", action="store_true", help=f"check {checks}, then exit")
    ap.add_argument("--models", nargs="+", default=["transformer", "deltanet", "titans", "hope"],
                    help="example names or .nl files")
    ap.add_argument("--set", action="append", default=[], metavar="NAME=VALUE", help="nlc --set for every model")


def eval_main(ap, prefix, key, self_check, evaluate, report):
    """An evaluation driver's main: --self-check runs `self_check` (which
    exits); otherwise the records (`evaluate(args, nlc, work)`, or those
    saved under `key` in --from-json's files) go to `report(args, records,
    commands)`."""
    if "--self-check" in sys.argv:
        self_check()
    a, nlc, work = parse_run_args(ap, prefix)
    if a.from_json:
        records, commands = load_saved(a.from_json, key)
    else:
        records, commands = evaluate(a, nlc, work), [sys.argv[1:]]
    report(a, records, commands)


def finish_self_check(name, failures):
    """Prints each failure and the verdict of a driver's --self-check, then
    exits (1 on a failure)."""
    for f in failures:
        print(f"FAIL: {f}")
    print(f"{name} self-check: " + ("FAIL" if failures else "PASS"))
    sys.exit(1 if failures else 0)


def mean_sd(xs):
    """(mean, sample standard deviation; 0 for one value) of `xs`."""
    m = sum(xs) / len(xs)
    sd = (sum((x - m) ** 2 for x in xs) / (len(xs) - 1)) ** 0.5 if len(xs) > 1 else 0.0
    return m, sd


def start_report(out, name, key, records, commands):
    """Saves an evaluation's `records` (under `key`) and `commands` to
    <out>-<name>.json and returns (matplotlib.pyplot with the Agg backend,
    the base path <out>-<name> of its JSON and PNG)."""
    import json
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    base = os.path.splitext(out)[0] + "-" + name
    # One record per line: thousands of samples stay small and diff by line.
    with open(base + ".json", "w") as f:
        f.write('{"commands": ' + json.dumps(commands) + ",\n " + json.dumps(key) + ": [\n"
                + ",\n".join(json.dumps(r) for r in records) + "\n]}\n")
    return plt, base


def plot_styles(models, budgets):
    """(colour per model, marker per budget) for an evaluation's plot: one
    colour per model and one marker per budget (any hashable, e.g.
    (steps, lr)), the same in every panel, cycling past ten of each."""
    colours = {m: f"C{i % 10}" for i, m in enumerate(models)}
    markers = dict(zip(budgets, itertools.cycle("os^DvP*Xhp")))
    return colours, markers


def write_masked(path, seqs):
    """A data file of token sequences with a loss mask (docs/language.md,
    "Loss masks"): `seqs` a list of (tokens [T + 1], mask [T]) pairs, all of
    one T; safetensors with I32 `tokens` [N, T + 1] and I32 `mask` [N, T]."""
    import numpy as np
    from safetensors.numpy import save_file

    save_file({"tokens": np.array([s[0] for s in seqs], dtype=np.int32),
               "mask": np.array([s[1] for s in seqs], dtype=np.int32)}, path)
