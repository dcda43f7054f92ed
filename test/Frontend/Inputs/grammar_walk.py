#!/usr/bin/env python3
"""Walks the constructs of docs/language.md: each compiles, or is refused at
its location, by `nlc FILE --check`.

    grammar_walk.py NLC docs/language.md WORKDIR [--build DATA]

From docs/language.md it reads what the language has: the grammar's
productions and quoted words (the EBNF block), the built-in functions (the
first column of the builtins table), the optimizer kinds (the `optimizer`
row's list), the objective, retention, parameter-initialization and memory
option words. PROGRAMS below are small models, each naming the productions
it walks and what nlc must do with it: "ok" (`--check` passes: the front end,
every memory's derived update rule and the training step) or "error" (exit
1 with `FILE:LINE:COL: error:` on the line the program marks with `# <-`,
and the expected words; or on the line holding a given text). The walk fails when a program does not do what it
says, or when something of the language is walked by no program (a construct
added to the docs must come with a program here).

--build DATA: each "ok" program is also compiled to an executable (`nlc
FILE -o EXE`) that trains 2 steps on DATA with finite losses.
"""
import os
import re
import shutil
import subprocess
import sys

# The template: a byte language model of width 8 whose body defines `y`
# [B, T, d]; TOP goes before the model line (definitions, imports).
TEMPLATE = """{top}
model walk(vocab = 256, d = 8, layers = 1, heads = 2, context = 8, batch = 2)

level pretrain every 1 step {{
  optimizer adamw(lr = 1e-3, beta1 = 0.9, beta2 = 0.95, eps = 1e-8, weight_decay = 0.1)
  param e [vocab, d] = normal(0.02)
  param head [d, vocab]
  param w [d, d]
  param g [d] = ones
{level}
}}

x = embed(inputs, e)
{body}
loss = cross_entropy(y @ head, targets)
"""

MEM_LEVEL = """  level mem every 4 tokens {{
    state M : {mem}
    objective {objective}
    optimizer {optimizer}
    retention {retention}
  }}"""

# name: (expected, productions walked, {top, level, body}, words an error
# must contain). Expected "ok" or "error".
PROGRAMS = {
    "basic": ("ok", "file end model named_list named level unit level_item param shape optimizer "
              "statement expr term unary power postfix args arg primary",
              {"body": "y = x; z = x\n"}),
    "arithmetic": ("ok", "expr term unary power primary",
                   {"body": "y = -x * 2 + x / 3 - (x @ w) ^ 2 + rmsnorm(x, g, eps = 1e-5) + 1e-3 * .5"}),
    "elementwise": ("ok", "postfix args", {"body": (
        "y = silu(x) + gelu(x) + sigmoid(x) + softplus(x) + tanh(x) + relu(x) + exp(x) "
        "+ log(sigmoid(x)) + sqrt(abs(x) + 1) + softmax(x) + l2norm(x) + l2norm(x, eps = 1e-5)")}),
    "sequence": ("ok", "postfix", {"level": "  param cw [3, d]", "body": (
        "h = heads(conv(x, cw), heads)\n"
        "a = attention(h, h, h, window = 4, scale = 0.5, rope = 10000)\n"
        "s = sum(x) + mean(x)\n"
        "y = merge(a) + s * slice(x, 2, 0, 8)")}),
    "memory_builtin": ("ok", "level unit level_item state mem_type objective optimizer retention", {
        "level": MEM_LEVEL.format(mem="matrix(d / heads -> d / heads, heads = heads)", objective="l2",
                                  optimizer="momentum(lr = 0.1, beta = 0.9, clamp_norm = 1.0)",
                                  retention="gate"),
        "body": ("k = l2norm(heads(x @ w, heads))\n"
                 "eta = per_head(sigmoid(x @ slice(w, 1, 0, 2)))\n"
                 "o = memorize(mem, k, heads(x, heads), read = k, lr = eta, decay = eta, "
                 "momentum = eta)\ny = merge(o)")}),
    "memory_kinds": ("ok", "objective optimizer retention mem_type", {
        "top": "memory neural = mlp(d / heads -> d / heads, hidden = 8, act = gelu, norm = rms)",
        "level": MEM_LEVEL.format(mem="neural init learned", objective="huber(delta = 1.0)",
                                  optimizer="gd(lr = 0.1)", retention="decay(alpha = 0.9)")
        + "\n" + MEM_LEVEL.replace("mem every 4 tokens", "mem2 every 2 token").format(
            mem="matrix(d / heads -> d / heads)", objective="lp(p = 3)", optimizer="dgd(lr = 0.1)",
            retention="local(lambda = 0.1)")
        + "\n" + MEM_LEVEL.replace("mem every 4 tokens", "mem3 every 4 tokens").format(
            mem="mlp(d / heads -> d / heads, act = tanh, norm = layer) init learned", objective="dot",
            optimizer="adam(lr = 0.01, beta1 = 0.9, beta2 = 0.99, eps = 1e-6)", retention="decay(alpha = 0.99)"),
        "body": ("k = l2norm(heads(x, heads))\n"
                 "y = merge(memorize(mem, k, k)) + merge(memorize(mem2, k, k)) "
                 "+ merge(memorize(mem3, k, k, self_values = true))")}),
    "objective_expr": ("ok", "objective", {
        "level": MEM_LEVEL.format(mem="matrix(d / heads -> d / heads)",
                                  objective="sqrt(sum((M(k) - v)^2) + 1)", optimizer="gd(lr = 0.1)",
                                  retention="decay(alpha = 0.9)"),
        "body": "k = l2norm(heads(x, heads))\ny = merge(memorize(mem, k, k))"}),
    "self_modify": ("ok", "statement", {
        "top": "memory neural = mlp(d / heads -> d / heads, hidden = 8)\n"
               "memory gate = mlp(d / heads -> 1, hidden = 4, act = relu)",
        "level": """  level proj every 4 tokens tail flush {
    state Mk : neural init learned
    state Mv : neural init learned
    state Meta : gate init learned
    objective l2
    optimizer dgd(lr = 0.1, beta = 0.9)
    retention decay(alpha = 0.99)
  }""",
        "body": "k, v, eta = self_modify(proj, heads(x, heads))\n"
                "y = merge(k) + merge(v) * mean(sigmoid(squeeze(eta)))"}),
    "blocks": ("ok", "block body statement primary", {
        "top": "block ffn(a) {\n  param up [d, 16]\n  param down [16, d]\n  return gelu(a @ up) @ down\n}\n"
               "block twice(a, b) { return a + b }",
        "body": "y = twice(repeat 2 ffn(x), x)"}),
    "params": ("ok", "param level", {
        "top": "level slow every 4 steps {\n  optimizer adamw(lr = 1e-3)\n  level pretrain2 every 1 steps {\n"
               "    optimizer adamw(lr = 1e-3)\n    param i [d, d] = identity\n  }\n}",
        "level": "  param u [d] = uniform(0.1)\n  param z [d] = zeros",
        "body": "param q [d] = ones in slow\ny = x * (u + z + q) + x @ i"}),
    "optimizers_outer": ("ok", "optimizer_def optimizer", {
        "top": ('optimizer mom(lr = 0.02) {\n  state m : matrix(1 -> 1)\n  objective l2\n'
                '  retention decay(alpha = 0.9)\n}\n'
                'optimizer deep(lr = 0.01, beta = 0.9) as dmgd {\n  state m : mlp(1 -> 1, hidden = 4)\n'
                '  objective dot\n}\n'
                'level a every 2 steps {\n  optimizer mom(lr = 0.01)\n  param pa [d]\n}\n'
                'level b every 3 steps {\n  optimizer deep(lr = 0.01)\n  param pb [d]\n}\n'
                'level c every 4 steps {\n  optimizer muon(lr = 0.02, beta = 0.95, ns_steps = 5)\n'
                '  param pc [d, d]\n}\n'
                'level f every 5 steps {\n  optimizer m3(lr = 0.02, beta1 = 0.9, beta2 = 0.95, beta3 = 0.9, '
                'alpha = 0.5, slow_period = 2, eps = 1e-8)\n  param pf [d, d]\n}\n'
                'level h every 6 steps {\n  optimizer delta_momentum(lr = 0.01, beta = 0.9)\n  param ph [d]\n}\n'
                'level j every 7 steps {\n  optimizer delta_momentum_matrix(lr = 0.01, beta = 0.9)\n'
                '  param pj [d, d]\n}\n'
                'level l every 8 steps {\n  optimizer momentum(lr = 0.01, beta = 0.9)\n  param pl [d]\n}\n'
                'level n every 9 steps {\n  optimizer gd(lr = 0.01)\n  param pn [d]\n}\n'
                'level o every 10 steps {\n  optimizer adam(lr = 0.01, clip_norm = 1.0)\n  param po [d]\n}'),
        "level": "  optimizer muon(lr = 0.02) for matrices",
        "body": "y = x * (pa + pb + ph + pl + pn + po) + x @ pc + x @ pf + x @ pj + x @ w"}),
    "import": ("ok", "import", {"top": 'import "walk_lib.nl"', "body": "y = lib_block(x)"}),
    "rows": ("ok", "model", {}),
    # Refused, at the construct.
    "tail_carry": ("error", "level", {
        "level": MEM_LEVEL.replace("every 4 tokens {{", "every 4 tokens tail carry {{ # <-").format(
            mem="matrix(d / heads -> d / heads)", objective="l2", optimizer="gd(lr = 0.1)",
            retention="decay(alpha = 0.9)"),
        "body": "k = l2norm(heads(x, heads))\ny = merge(memorize(mem, k, k))"}, ["tail carry"]),
    # `param NAME : TYPE` parses, but nothing could use it.
    "memory_param": ("error", "param mem_type", {"level": "  param s : matrix(d -> d) # <-"},
                     ["has no use"]),
    "read_function": ("ok", "memory_def body", {
        "top": "memory own(z: [d / heads]) -> [d / heads] {\n  param W [d / heads, d / heads]\n"
               "  param U [d / heads, d / heads]\n  h = z @ W\n"
               "  return z + h * sigmoid(z @ U)\n}",
        "level": MEM_LEVEL.format(mem="own init learned", objective="l2", optimizer="momentum(lr = 0.1, beta = 0.9)",
                                  retention="decay(alpha = 0.9)"),
        "body": "k = l2norm(heads(x, heads))\ny = merge(memorize(mem, k, k))"}),
    # dgd needs each linear map's input, which only matrix and mlp memories have.
    "read_function_dgd": ("error", "memory_def body", {
        "top": "memory own(z: [d / heads]) -> [d / heads] {\n  param W [d / heads, d / heads]\n"
               "  return z @ W\n}",
        "level": MEM_LEVEL.format(mem="own", objective="l2", optimizer="dgd(lr = 0.1) # <-",
                                  retention="decay(alpha = 0.9)"),
        "body": "k = l2norm(heads(x, heads))\ny = merge(memorize(mem, k, k))"}, ["dgd", "read function"]),
    # A product of two of the memory's matrices is not applied per token.
    "read_function_op": ("error", "memory_def body", {
        "top": "memory own(z: [d / heads]) -> [d / heads] {\n  param W [d / heads, d / heads]\n"
               "  return z @ (W @ W) # <-\n}",
        "level": MEM_LEVEL.format(mem="own init learned", objective="l2", optimizer="gd(lr = 0.1)",
                                  retention="decay(alpha = 0.9)"),
        "body": "k = l2norm(heads(x, heads))\ny = merge(memorize(mem, k, k))"}, ["read function", "vector"]),
    "inner_delta_momentum": ("error", "optimizer", {
        "level": MEM_LEVEL.format(mem="matrix(d / heads -> d / heads)", objective="l2",
                                  optimizer="delta_momentum(lr = 0.1) # <-", retention="decay(alpha = 0.9)"),
        "body": "k = l2norm(heads(x, heads))\ny = merge(memorize(mem, k, k))"}, ["delta_momentum", "plain momentum"]),
    "inner_muon": ("ok", "optimizer", {
        "level": MEM_LEVEL.format(mem="matrix(d / heads -> d / heads)", objective="l2",
                                  optimizer="muon(lr = 0.1, beta = 0.9)", retention="decay(alpha = 0.9)"),
        "body": "k = l2norm(heads(x, heads))\ny = merge(memorize(mem, k, k))"}),
    # A tuple is a value (k, v = (a, b)) but no tensor: refused where it is used.
    "tuple": ("error", "primary", {"body": "y = (x, x)"}, ["tuple"], "loss = "),
    "syntax": ("error", "file", {"body": "y = x + # <-"}, ["expected an expression"]),
}

# `rows`: a model of rows of real values (features, outputs) instead of
# token ids.
ROWS = """model rows(features = 4, outputs = 1, batch = 2)
level pretrain every 1 step {
  optimizer adamw(lr = 1e-3)
  param w [features, outputs]
}
loss = mean((inputs @ w - targets)^2)
"""

LIB = """block lib_block(a) {
  param lw [d, d]
  return a @ lw
}
"""


def rows_data(work):
    """A safetensors file of 64 rows of 5 float32 values (4 features, 1
    target) for the `rows` program (runtime/README.md, "Rows")."""
    import json
    import struct
    path = os.path.join(work, "rows.safetensors")
    n = 64 * 5
    header = json.dumps({"data": {"dtype": "F32", "shape": [64, 5], "data_offsets": [0, 4 * n]}}).encode()
    header += b" " * (-len(header) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(header)) + header)
        f.write(struct.pack(f"<{n}f", *[((i * 37) % 17) / 17.0 for i in range(n)]))
    return path


def language(doc):
    """What docs/language.md says the language has: {kind: set of words}."""
    ebnf = re.search(r"```ebnf\n(.*?)```", doc, re.S).group(1)
    ebnf = re.sub(r"\(\*.*?\*\)", "", ebnf)
    prods = set(re.findall(r"^\s*([a-z_]+)\s*=", ebnf, re.M))
    words = {w for w in re.findall(r'"([^"]+)"', ebnf)}
    table = doc[doc.index("## Expressions"):doc.index("## Grammar")]
    builtins, options = set(), set()
    for row in re.findall(r"^\| `([^|]*)`", table, re.M):
        builtins |= set(re.findall(r"([a-z_0-9]+)\s*\(", row))
        builtins |= set(re.findall(r"^([a-z_ 0-9]+) \(x\)", row)[0].split()) if " (x)" in row else set()
        options |= set(re.findall(r"([a-z_]+) = ", row))
    builtins -= {"M"}
    kinds = re.search(r"a built-in \(`([a-z_ 0-9]+)`\)", doc).group(1).split()
    inits = {"zeros", "ones", "identity", "normal", "uniform"}
    return {"production": prods, "word": words, "builtin": builtins, "builtin option": options,
            "optimizer kind": set(kinds),
            "init": inits, "retention": {"decay", "gate", "local"},
            "memory option": {"hidden", "act", "norm", "heads", "silu", "gelu", "relu", "tanh", "rms", "layer"}}


def source(name, parts):
    if name == "rows":
        return ROWS
    return TEMPLATE.format(top=parts.get("top", ""), level=parts.get("level", ""), body=parts.get("body", "y = x"))


def main():
    nlc, doc_path, work = sys.argv[1:4]
    data = sys.argv[5] if len(sys.argv) > 5 and sys.argv[4] == "--build" else None
    os.makedirs(work, exist_ok=True)
    with open(doc_path) as f:
        have = language(f.read())
    with open(os.path.join(work, "walk_lib.nl"), "w") as f:
        f.write(LIB)
    walked = {k: set() for k in have}
    failures = 0
    for name, spec in PROGRAMS.items():
        expected, prods, parts = spec[0], spec[1].split(), spec[2]
        words = spec[3] if len(spec) > 3 else []
        marker = spec[4] if len(spec) > 4 else "# <-"
        text = source(name, parts)
        path = os.path.join(work, f"{name}.nl")
        with open(path, "w") as f:
            f.write(text)
        walked["production"] |= set(prods)
        tokens = set(re.findall(r"[A-Za-z_][A-Za-z0-9_]*|->|[-+*/@^=(),:;\[\]{}.]", text))
        tokens |= set(re.findall(r'"', text))
        for kind in have:
            if kind != "production":
                walked[kind] |= have[kind] & tokens
        r = subprocess.run([nlc, path, "--check"], capture_output=True, text=True)
        out = r.stdout + r.stderr
        if expected == "ok":
            good = r.returncode == 0
            if good and data:
                exe = os.path.join(work, name)
                run_dir = os.path.join(work, f"{name}.run")
                shutil.rmtree(run_dir, ignore_errors=True)
                b = subprocess.run([nlc, path, "-o", exe], capture_output=True, text=True)
                t = b if b.returncode else subprocess.run(
                    [exe, "train", "--data", data if name != "rows" else rows_data(work), "--run-dir", run_dir,
                     "--steps", "2", "--eval-every", "0", "--threads", "1"], capture_output=True, text=True)
                out += b.stderr + t.stdout + t.stderr
                good = b.returncode == 0 and t.returncode == 0
        else:
            marked = [i + 1 for i, line in enumerate(text.split("\n")) if marker in line]
            where = re.search(rf"{re.escape(name)}\.nl:(\d+):(\d+): error: (.*)", out)
            good = (r.returncode == 1 and where is not None and int(where.group(1)) in marked
                    and all(w in where.group(3) for w in words))
        print(f"{'ok  ' if good else 'FAIL'} {name}: expected {expected}, nlc exit {r.returncode}"
              + ("" if good else f"\n{out[-1500:]}"))
        failures += not good
    for kind in have:
        missing = sorted(have[kind] - walked[kind])
        print(f"{'ok  ' if not missing else 'FAIL'} every {kind} walked ({len(have[kind])})"
              + (f": none walks {', '.join(missing)}" if missing else ""))
        failures += bool(missing)
    print(f"{'PASS' if failures == 0 else 'FAIL'}: {len(PROGRAMS)} programs, {failures} failures")
    return 0 if failures == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
