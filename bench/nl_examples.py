"""Helpers the benchmark scripts share for reading examples/."""
import os
import re
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def outer_optimizer(name):
    """(definition, use) of examples/optimizers/<name>.nl: the `optimizer
    ...` line of its every-step level, and the definition block of an
    optimizer written in .nl ("" for a built-in)."""
    ex = open(os.path.join(ROOT, "examples", "optimizers", f"{name}.nl")).read()
    use = re.search(r"^level \w+ every 1 steps? \{\n\s*(optimizer .*)$", ex, re.M)
    if not use:
        sys.exit(f"no outer optimizer line in examples/optimizers/{name}.nl")
    definition = re.search(r"^optimizer \w+\(.*?\n\}\n", ex, re.M | re.S)
    return (definition.group(0) if definition else ""), use.group(1)


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
