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
