#!/usr/bin/env python3
"""The memory-update kernel alone: fused against unfused against a naive loop.

One Titans memory (a matrix memory per head, the L2 objective, momentum
beta = 0.9, a per-token inner learning rate and forget gate; Titans Eqs.
13-14, NESTED_LEARNING.md §9) over T tokens, batch B, H heads of width D
(keys and values), chunk size C: `nl.memorize` derived by the compiler
(derive-inner-updates, in its chunked parallel form), then lowered several
ways, in one run:

  * fused: fuse-memory-updates + schedule-levels + nl-lower-to-llvm{openmp},
    one thread and every core (OMP_NUM_THREADS);
  * unfused: the same IR lowered without fuse-memory-updates (each op of a
    chunk sweeps the whole [B, H, ...] state);
  * scan: fused, but derived as scans (derive-inner-updates{dual-form=0}:
    the n per-token D x D states of momentum and retention materialized);
  * naive: a plain C loop, token by token, with the same chunked rule
    (gradients at the chunk-start state), cc -O2 -march=native;

and, beside them, NumPy's sgemm (OpenBLAS) on 1024 x 1024 matrices at one
thread and at every core: the machine's peak as a yardstick.

Work per token and head (multiply-adds count 2): W0 k (2 D^2), the gradient
2 (W0 k - v) k^T (2 D^2), momentum S = beta S + eta g (3 D^2), retention
W = alpha W - S (2 D^2), the read W q (2 D^2): 11 D^2 flops, the work of
the recurrent form; GFLOP/s below are that work over the time (the chunked
parallel form does O(C D + D^2) per token instead). The compiled
kernels' outputs are checked against the naive loop (relative RMS error)
before they are timed.

Prints a Markdown table. Nothing here is a test.

Usage: chunk_kernel.py [--build DIR] [--chunks 16 64] [--widths 32 64]
           [--batch 16] [--heads 4] [--tokens 256] [--repeat 5]
"""
import argparse
import ctypes
import os
import subprocess
import sys
import tempfile
import time

root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

sys.path.insert(0, os.path.join(root, "test", "Numerics", "Inputs"))
import memory_kernel as mk  # noqa: E402  (shared with test/Numerics)

NAIVE_C = r"""
#include <stdint.h>
#include <string.h>
#include <stdlib.h>
/* k, q [B,H,T,D]; v, y [B,H,T,D]; eta, alpha [B,H,T]; W, S [D(out), D(in)] */
void naive(int64_t B, int64_t H, int64_t T, int64_t C, int64_t D,
           const float *k, const float *v, const float *q, const float *eta,
           const float *alpha, float *y, float lr, float beta) {
  float *W = malloc(sizeof(float) * D * D), *W0 = malloc(sizeof(float) * D * D);
  float *S = malloc(sizeof(float) * D * D), *r = malloc(sizeof(float) * D);
  for (int64_t bh = 0; bh < B * H; ++bh) {
    memset(W, 0, sizeof(float) * D * D);
    memset(S, 0, sizeof(float) * D * D);
    for (int64_t t = 0; t < T; ++t) {
      if (t % C == 0) memcpy(W0, W, sizeof(float) * D * D);
      const float *kt = k + (bh * T + t) * D, *vt = v + (bh * T + t) * D;
      const float *qt = q + (bh * T + t) * D;
      float e = lr * eta[bh * T + t], al = alpha[bh * T + t];
      for (int64_t i = 0; i < D; ++i) {
        float s = 0;
        for (int64_t j = 0; j < D; ++j) s += W0[i * D + j] * kt[j];
        r[i] = s - vt[i];
      }
      for (int64_t i = 0; i < D; ++i)
        for (int64_t j = 0; j < D; ++j) {
          float g = 2 * r[i] * kt[j];
          S[i * D + j] = beta * S[i * D + j] + e * g;
          W[i * D + j] = al * W[i * D + j] - S[i * D + j];
        }
      float *yt = y + (bh * T + t) * D;
      for (int64_t i = 0; i < D; ++i) {
        float s = 0;
        for (int64_t j = 0; j < D; ++j) s += W[i * D + j] * qt[j];
        yt[i] = s;
      }
    }
  }
  free(W); free(W0); free(S); free(r);
}
"""


def child(kind, path, B, H, T, D, C, repeat, out_path):
    """Runs one kernel (in a process of its own, for OMP_NUM_THREADS) and
    prints its best time in seconds."""
    import numpy as np
    x = mk.inputs(B, H, T, D, D)
    if kind == "naive":
        lib = ctypes.CDLL(path)
        y = np.zeros((B, H, T, D), np.float32)
        f = lib.naive
        f.argtypes = [ctypes.c_int64] * 5 + [ctypes.c_void_p] * 6 + [ctypes.c_float] * 2
        call = lambda: f(B, H, T, C, D, *(a.ctypes.data for a in x), y.ctypes.data, mk.LR, mk.BETA)
    else:
        y, call, _ = mk.kernel(path)(*x)
    call()  # warm-up (and the result that is checked)
    np.save(out_path, y)
    print(min(_timed(call) for _ in range(repeat)))


def sgemm(n=1024, repeat=5):
    import numpy as np
    x = np.random.default_rng(0).standard_normal((n, n), dtype=np.float32)
    x @ x
    best = min(_timed(lambda: x @ x) for _ in range(repeat))
    print(2 * n ** 3 / best / 1e9)


def _timed(fn):
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def in_child(threads, *args):
    """Runs this script with `args` in a process with `threads` threads."""
    env = dict(os.environ, OMP_NUM_THREADS=str(threads), OPENBLAS_NUM_THREADS=str(threads))
    r = subprocess.run([sys.executable, __file__, *map(str, args)], env=env,
                       capture_output=True, text=True)
    if r.returncode:
        sys.exit(f"{args[0]} failed:\n{r.stderr[-3000:]}")
    return float(r.stdout.split()[-1])


def measure(a, kind, path, shape, threads, work):
    out = os.path.join(work, f"y-{kind}-{threads}.npy")
    secs = in_child(threads, "--child", kind, path, *shape, a.repeat, out)
    return secs, out


def main():
    import numpy as np
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--build", default=os.path.join(root, "build"))
    p.add_argument("--chunks", nargs="+", type=int, default=[16, 64])
    p.add_argument("--widths", nargs="+", type=int, default=[32, 64])
    p.add_argument("--batch", type=int, default=16)
    p.add_argument("--heads", type=int, default=4)
    p.add_argument("--tokens", type=int, default=256)
    p.add_argument("--repeat", type=int, default=5)
    a = p.parse_args()
    cpus = os.cpu_count() or 1
    work = tempfile.mkdtemp(prefix="nl-chunk-")
    peak = {t: in_child(t, "--sgemm") for t in sorted({1, cpus})}
    naive_src = os.path.join(work, "naive.c")
    open(naive_src, "w").write(NAIVE_C)
    naive_so = os.path.join(work, "naive.so")
    subprocess.run(["cc", "-O2", "-march=native", "-shared", "-fPIC", naive_src, "-o", naive_so], check=True)

    B, H, T = a.batch, a.heads, a.tokens
    rows = []
    for D in a.widths:
        for C in a.chunks:
            shape = (B, H, T, D, C)
            src = mk.module("titans", B, H, T, D, D, C)
            bin_dir = os.path.join(a.build, "bin")
            fused = mk.compile_kernel(bin_dir, work, f"fused-{D}-{C}", src, "rolled")
            unfused = mk.compile_kernel(bin_dir, work, f"unfused-{D}-{C}", src, "unfused")
            scan = mk.compile_kernel(bin_dir, work, f"scan-{D}-{C}", src, "scan")
            flops = 11 * D * D * B * H * T
            ref_secs, ref_out = measure(a, "naive", naive_so, shape, 1, work)
            ref = np.load(ref_out)
            result = [("naive", 1, ref_secs)]
            for kind, path, threads in [("unfused", unfused, 1), ("scan", scan, 1),
                                        ("fused", fused, 1), ("fused", fused, cpus)]:
                if (kind, threads) in [(r[0], r[1]) for r in result]:
                    continue  # one core: no second fused row
                secs, out = measure(a, kind, path, shape, threads, work)
                err = mk.rel_rms(ref, np.load(out))
                if not err < 1e-4:
                    sys.exit(f"{kind} D={D} C={C}: relative RMS error {err:.2e} against the naive loop")
                result.append((kind, threads, secs))
            for kind, threads, secs in result:
                gf = flops / secs / 1e9
                rows.append((D, C, kind, threads, secs * 1e3, gf, gf / peak[threads],
                             ref_secs / secs, next(s for k, _, s in result if k == "unfused") / secs))
                print(f"D={D} C={C} {kind} ({threads} thread(s)): {secs * 1e3:.2f} ms, {gf:.2f} GFLOP/s", file=sys.stderr)

    print(f"\nB {B}, {H} heads, T {T} tokens; sgemm (NumPy/OpenBLAS, 1024^3): "
          + ", ".join(f"{peak[t]:.1f} GFLOP/s at {t} thread(s)" for t in sorted(peak)) + "\n")
    print("| head width | chunk | kernel | threads | ms / call | GFLOP/s | of sgemm peak | vs naive | vs unfused |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    for D, C, kind, threads, ms, gf, frac, vn, vu in rows:
        print(f"| {D} | {C} | {kind} | {threads} | {ms:.2f} | {gf:.2f} | {100 * frac:.1f} % | {vn:.2f}x | {vu:.2f}x |")


if __name__ == "__main__":
    if sys.argv[1:2] == ["--child"]:
        kind, path, *ints, out = sys.argv[2:]
        child(kind, path, *map(int, ints), out)
    elif sys.argv[1:2] == ["--sgemm"]:
        sgemm()
    else:
        main()
