#!/usr/bin/env python3
"""Compiled float32 memory updates against the float64 token-by-token
reference (memory_kernel.py), for every rule, T not a multiple of C, C = 1,
fused (straight line and rolled into a loop by schedule-levels), derived
as scans instead of the chunked parallel form, and unfused lowerings;
chunked against chunk size 1 where the rule's
gradient does not depend on the state (Hebbian); one thread against two;
and a control that must fail (the exact recurrence is not the chunked rule
at C > 1). Prints one line per check, then PASS or FAIL lines (exit 1).

Usage: check_memory_kernels.py BIN_DIR WORK_DIR
"""
import ctypes
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import memory_kernel as mk  # noqa: E402

bin_dir, work = sys.argv[1], sys.argv[2]
os.makedirs(work, exist_ok=True)
B, H, DK, DV = 2, 3, 4, 3
TOL = 1e-5  # float32 kernels against a float64 reference (docs/testing.md)
failures, checks = [], 0
omp = ctypes.CDLL("libomp.so.5")


def check(name, ok, detail):
    global checks
    checks += 1
    print(f"{'ok  ' if ok else 'FAIL'} {name}: {detail}")
    if not ok:
        failures.append(name)


cases = [(rule, T, C) for rule in mk.RULES for T, C in [(1, 4), (7, 4), (16, 16), (17, 4), (17, 1)]]
cases += [("titans", 17, 16), ("titans", 65, 16), ("dgd", 65, 16), ("dgd", 40, 32)]
outputs = {}
for rule, T, C in cases:
    x = mk.inputs(B, H, T, DK, DV, seed=T)
    ref = mk.reference(rule, C, *x)
    variants = ("fused",)
    if (T, C) in [(17, 4), (65, 16)]:
        variants = ("fused", "rolled", "scan", "unfused")
    for variant in variants:
        so = mk.compile_kernel(bin_dir, work, f"{rule}-{T}-{C}-{variant}",
                               mk.module(rule, B, H, T, DK, DV, C), variant)
        y, call, _ = mk.kernel(so)(*x)
        omp.omp_set_num_threads(2)
        call()
        outputs[rule, T, C, variant] = y.copy()
        err = mk.rel_rms(ref, y)
        check(f"{rule} T={T} C={C} {variant}", err < TOL,
              f"relative RMS error {err:.2e} against the float64 reference")
        if variant == "fused" and (T, C) == (17, 4):
            omp.omp_set_num_threads(1)
            call()
            check(f"{rule} T={T} C={C} one thread", (y == outputs[rule, T, C, variant]).all(),
                  "equal to two threads, bit for bit")

# Heads of width 32 (T = 40, C = 16: a ragged last chunk): the chunk's matrix
# products that the CPU tile (8 x 32 x 4) divides run as the register-tiled
# kernels of nl-vectorize-contractions (present in the LLVM IR).
x = mk.inputs(1, 2, 40, 32, 32, seed=40)
ref = mk.reference("titans", 16, *x)
so = mk.compile_kernel(bin_dir, work, "titans-40-16-d32", mk.module("titans", 1, 2, 40, 32, 32, 16), "fused")
y, call, _ = mk.kernel(so)(*x)
call()
err = mk.rel_rms(ref, y)
tiled = "nl.matmul_kernel" in open(os.path.join(work, "titans-40-16-d32.ll")).read()
check("titans T=40 C=16 D=32 register-tiled", err < TOL and tiled,
      f"relative RMS error {err:.2e} against the float64 reference; "
      f"register-tiled kernels {'present' if tiled else 'MISSING'}")

# Chunked against the exact recurrence (chunk size 1): equal for a gradient
# that does not depend on the state.
err = mk.rel_rms(outputs["hebbian", 17, 1, "fused"], outputs["hebbian", 17, 4, "fused"])
check("hebbian T=17 C=4 vs C=1", err < TOL, f"relative RMS difference {err:.2e}")
# The control: the exact recurrence differs from the chunked rule at C = 4,
# so a kernel that ignored the chunk size would fail the checks above.
x = mk.inputs(B, H, 17, DK, DV, seed=17)
err = mk.rel_rms(mk.reference("titans", 4, *x, at_current_state=True), outputs["titans", 17, 4, "fused"])
check("control: titans C=4 vs the exact recurrence", err > 100 * TOL,
      f"relative RMS difference {err:.2e} (must be large)")

if failures:
    print(f"FAIL: {len(failures)} of {checks} checks")
    sys.exit(1)
print(f"PASS: {checks} checks")
