#!/usr/bin/env python3
"""Compiles one derived memory update (`nl.memorize`) to a shared library and
runs it from NumPy; and an independent float64 reference of the same rule.

The module: a matrix memory per head ([B, H] memories of shape [DV, DK],
zero initial state) written every C tokens by `rule` (RULES), reading q after
each token's write:

    y = memorize(k, v, read = q, lr = eta, decay = alpha)   # k, q [B,H,T,DK]

`compile_kernel` runs derive-inner-updates, then one of the lowerings of
`PIPELINES` (fused, fused and rolled into a loop, derived as scans, unfused),
and LLVM's
opt/llc; the
library exports `_mlir_ciface_chunk(k, v, q, eta, alpha, y)` (memref
descriptors). `reference` is the rule written token by token from
NESTED_LEARNING.md §2-3, §9 (gradients at the chunk-start state), in float64,
sharing nothing with the compiler.

Used by test/Numerics (correctness) and bench/chunk_kernel.py (speed).
"""
import ctypes
import os
import subprocess

import numpy as np

LLVM = "/usr/lib/llvm-22"
LR, BETA = 0.1, 0.9
# rule: (objective, optimizer, retention)
RULES = {
    "hebbian": ("dot", "gd", None),        # W += eta v k^T
    "delta": ("l2", "gd", None),           # W -= 2 eta (W0 k - v) k^T
    "titans": ("l2", "momentum", "gate"),  # S = beta S + eta g; W = alpha W - S
    # S = beta S + eta g; W = W (alpha I - eta k^ k^T) - S (DGD, NL-A Eqs. 56-57)
    "dgd": ("l2", "dgd", "gate"),
}


def module(rule, B, H, T, DK, DV, C):
    """The nl module (float32) of one memory written by `rule`."""
    objective, optimizer, retention = RULES[rule]
    t = lambda *s: "tensor<" + "x".join(map(str, s)) + "xf32>"
    opt = {"gd": f"gd attributes {{lr = {LR} : f64}}",
           "momentum": f"momentum attributes {{lr = {LR} : f64, beta = {BETA} : f64}}",
           "dgd": f"dgd attributes {{lr = {LR} : f64, beta = {BETA} : f64}}"}[optimizer]

    ret = "\n      nl.retention gate" if retention == "gate" else ""
    decay, decay_ty = (" decay(%alpha)", f", {t(B, H, T)}") if retention == "gate" else ("", "")
    flow = f"!nl.flow<keys_values, {t(B, H, T, DK)}, {t(B, H, T, DV)}>"
    return f"""nl.model @kernel {{
  nl.level @outer every <1 steps> {{
    nl.level @mem every <{C} tokens> {{
      nl.memory @M : !nl.memory<matrix, heads = {H}, in = {DK}, out = {DV}>
      nl.objective {objective}
      nl.optimizer @opt {opt}{ret}
    }}
    nl.optimizer @outer_opt gd attributes {{lr = 1.0e-03 : f64}}
  }}
  func.func @chunk(%k: {t(B, H, T, DK)}, %v: {t(B, H, T, DV)}, %q: {t(B, H, T, DK)}, %eta: {t(B, H, T)}, %alpha: {t(B, H, T)}) -> {t(B, H, T, DV)} attributes {{llvm.emit_c_interface}} {{
    %f = nl.flow keys_values(%k, %v : {t(B, H, T, DK)}, {t(B, H, T, DV)}) -> {flow[8:]}
    %y = nl.memorize @outer::@mem(%f) read(%q) lr(%eta){decay} : ({flow}, {t(B, H, T, DK)}, {t(B, H, T)}{decay_ty}) -> {t(B, H, T, DV)}
    return %y : {t(B, H, T, DV)}
  }}
}}
"""


def _run(cmd, **kw):
    r = subprocess.run(cmd, capture_output=True, text=True, **kw)
    if r.returncode:
        raise RuntimeError(f"{' '.join(cmd[:2])} ... failed:\n{r.stderr[-3000:]}")
    return r.stdout


def _hoist_functions(text):
    """The functions of the derived nl.model in a module of their own (the
    model keeps only the emptied levels)."""
    lines, funcs, i = text.rstrip().splitlines(), [], 0
    while i < len(lines):
        line = lines[i]
        indent = len(line) - len(line.lstrip())
        if line.lstrip().startswith("func.func"):
            j = i + 1
            while not (lines[j].startswith(" " * indent + "}") and
                       len(lines[j]) - len(lines[j].lstrip()) == indent):
                j += 1
            funcs += lines[i:j + 1]
            i = j
        i += 1
    return "module {\n" + "\n".join(funcs) + "\n}\n"


# The lowerings compared: the fused chunks in straight line, the fused chunks
# outlined and rolled into a loop (schedule-levels), the fused chunks derived
# as scans (per-token states) instead of the chunked parallel form, and the
# unfused chunks in straight line (the benchmarks' baseline).
PIPELINES = {
    "scan": "nl-lower-to-llvm{results-to-out-params openmp roll-chunks=0}",
    "fused": "nl-lower-to-llvm{results-to-out-params openmp roll-chunks=0}",
    "rolled": "fuse-memory-updates,nl-outline-checkpoints,"
              "nl-lower-to-llvm{results-to-out-params openmp}",
    # nl-lower-to-llvm starts with fuse-memory-updates; outlining the chunks
    # first leaves nothing for it to fuse.
    "unfused": "nl-outline-checkpoints,"
               "nl-lower-to-llvm{results-to-out-params roll-chunks=0}",
}


def compile_kernel(bin_dir, work, name, src, variant):
    """nl -> LLVM dialect (the lowering `PIPELINES[variant]`) -> LLVM IR ->
    `work/name.so`."""
    nl_opt = os.path.join(bin_dir, "nl-opt")
    derive = "--derive-inner-updates=dual-form=" + ("0" if variant == "scan" else "1")
    derived = _run([nl_opt, derive], input=src)
    mlir = os.path.join(work, f"{name}.mlir")
    open(mlir, "w").write(_hoist_functions(derived))
    lowered = _run([nl_opt, mlir,
                    f"--pass-pipeline=builtin.module({PIPELINES[variant]})"])
    ll = os.path.join(work, f"{name}.ll")
    open(ll, "w").write(_run([f"{LLVM}/bin/mlir-translate", "--mlir-to-llvmir"], input=lowered))
    obj, so = os.path.join(work, f"{name}.o"), os.path.join(work, f"{name}.so")
    # The host's triple and CPU: without them opt's cost model sees no vector
    # registers and vectorizes nothing (nlc sets both itself).
    triple = _run([f"{LLVM}/bin/llvm-config", "--host-target"]).strip()
    # NL_TEST_MCPU (x86-64-v3, x86-64, ...) replaces the host's CPU, as it
    # does for nlc in the lit suite (docs/testing.md).
    target = [f"-mtriple={triple}", f"-mcpu={os.environ.get('NL_TEST_MCPU') or 'native'}"]
    _run([f"{LLVM}/bin/opt", "-O2", *target, ll, "-o", ll + ".bc"])
    _run([f"{LLVM}/bin/llc", "-O2", *target, "-relocation-model=pic",
          "-filetype=obj", ll + ".bc", "-o", obj])
    _run(["cc", "-shared", obj, "-o", so, f"-L{LLVM}/lib", f"-Wl,-rpath,{LLVM}/lib",
          "-lmlir_c_runner_utils", "-lomp", "-lmvec", "-lm"])
    return so


def _descriptor(arr):
    """A ranked memref descriptor: allocated, aligned, offset, sizes, strides."""
    rank = arr.ndim

    class Desc(ctypes.Structure):
        _fields_ = [("allocated", ctypes.c_void_p), ("aligned", ctypes.c_void_p),
                    ("offset", ctypes.c_int64), ("sizes", ctypes.c_int64 * rank),
                    ("strides", ctypes.c_int64 * rank)]
    d = Desc()
    d.allocated = d.aligned = arr.ctypes.data
    d.offset = 0
    d.sizes[:] = arr.shape
    d.strides[:] = [s // arr.itemsize for s in arr.strides]
    return d


def kernel(so):
    """The compiled kernel as a function of (k, v, q, eta, alpha) -> y, and
    the bare call on fixed buffers (for timing): `call(k, ...)` returns a
    function that reruns the kernel into the same y."""
    lib = ctypes.CDLL(so)
    f = lib._mlir_ciface_chunk

    def bind(k, v, q, eta, alpha):
        y = np.zeros(k.shape[:3] + (v.shape[3],), np.float32)
        arrays = [np.ascontiguousarray(x, np.float32) for x in (k, v, q, eta, alpha)] + [y]
        descs = [_descriptor(x) for x in arrays]
        refs = [ctypes.byref(d) for d in descs]
        return y, lambda: f(*refs), arrays
    return bind


def inputs(B, H, T, DK, DV, seed=0):
    """Unit-norm keys and queries, Gaussian values, eta in [0.1, 1], alpha in
    [0.9, 1]: a stable regime for every rule."""
    rng = np.random.default_rng(seed)
    k = rng.standard_normal((B, H, T, DK))
    k /= np.linalg.norm(k, axis=-1, keepdims=True)
    q = rng.standard_normal((B, H, T, DK))
    q /= np.linalg.norm(q, axis=-1, keepdims=True)
    v = rng.standard_normal((B, H, T, DV))
    eta = rng.uniform(0.1, 1.0, (B, H, T))
    alpha = rng.uniform(0.9, 1.0, (B, H, T))
    return [x.astype(np.float32) for x in (k, v, q, eta, alpha)]


def reference(rule, C, k, v, q, eta, alpha, at_current_state=False):
    """The rule token by token in float64: per chunk of C tokens, gradients
    of the inner objective at the chunk-start state W0 (or, with
    `at_current_state`, at the state before each token: the exact recurrence,
    equal to the chunked rule at C = 1 only)."""
    objective, optimizer, retention = RULES[rule]
    k, v, q, eta, alpha = (x.astype(np.float64) for x in (k, v, q, eta, alpha))
    B, H, T, DK = k.shape
    DV = v.shape[3]
    y = np.zeros((B, H, T, DV))
    for b in range(B):
        for h in range(H):
            W, S = np.zeros((DV, DK)), np.zeros((DV, DK))
            for t in range(T):
                if t % C == 0:
                    W0 = W.copy()
                at = W if at_current_state else W0
                kt, vt = k[b, h, t], v[b, h, t]
                g = (-np.outer(vt, kt) if objective == "dot"
                     else 2 * np.outer(at @ kt - vt, kt))
                u = LR * eta[b, h, t] * g
                if optimizer in ("momentum", "dgd"):
                    S = BETA * S + u
                    u = S
                a = alpha[b, h, t] if retention == "gate" else 1.0
                if optimizer == "dgd":
                    kh = kt / np.sqrt(kt @ kt + 1e-6)
                    W = W @ (a * np.eye(DK) - LR * eta[b, h, t] * np.outer(kh, kh)) - u
                else:
                    W = a * W - u
                y[b, h, t] = W @ q[b, h, t]
    return y


def rel_rms(ref, got):
    ref, got = np.asarray(ref, np.float64), np.asarray(got, np.float64)
    if not np.isfinite(got).all():
        return float("inf")
    return float(np.sqrt(np.mean((ref - got) ** 2)) / np.sqrt(np.mean(ref ** 2)))
