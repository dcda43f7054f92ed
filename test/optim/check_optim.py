#!/usr/bin/env python3
"""Two steps of a compiled outer optimizer against its closed form.

    check_optim.py --nlc build/bin/nlc --data FILE --optimizer muon [--workdir DIR]

Compiles examples/optimizers/<optimizer>.nl (the small Transformer; width
16, one layer, 2 heads, context 16, batch 2; `--mcpu`, default
$NL_TEST_MCPU, generates code for another CPU than the host's) and takes from the executable:
the initial weights W0 and the gradient g0 on batch 0 (`dump`), the weights
and optimizer state after one step (`train --steps 1`), the gradient g1 at
those weights on batch 1 (`dump --run-dir`), and the weights after the
second step (`train --resume --steps 2`). The gradients are then fixed
inputs: numpy computes each step from the weights and gradient before it by
the optimizer's closed form, written here from NESTED_LEARNING.md §3
(float64), and each parameter's update W_{i+1} - W_i must match within
1e-4 relative RMS error (beyond the float32 rounding of the weights
themselves: one ulp of each weight against the update's size). For Muon it also checks that the Newton-Schulz
output is near-orthogonal: every singular value of each matrix update, in
the directions where the gradient's singular value is at least 1 % of its
norm, within [0.6, 1.25] (where the quintic iteration lands in 5 steps).
For M3 (slow period 2 by default, so that the second step writes the slow
momentum) it also trains 3 periods + 1 steps one at a time and checks that
the slow momentum state changes exactly at the multiples of the period.
"""
import argparse
import os
import re
import subprocess
import sys
import tempfile

import numpy as np
from safetensors.numpy import load_file

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))


def newton_schulz(g, steps=5):
    """Muon's quintic Newton-Schulz iteration on a matrix."""
    x = g.T if g.shape[0] > g.shape[1] else g
    x = x / (np.linalg.norm(x) + 1e-7)
    for _ in range(steps):
        a = x @ x.T
        x = 3.4445 * x + (-4.7750 * a + 2.0315 * a @ a) @ x
    return x.T if g.shape[0] > g.shape[1] else x


class AdamW:
    """NL-A App. B with EMAs, bias correction, decoupled weight decay."""

    def __init__(self, lr=1e-3, b1=0.9, b2=0.95, eps=1e-8, wd=0.1):
        self.lr, self.b1, self.b2, self.eps, self.wd = lr, b1, b2, eps, wd
        self.m, self.v = {}, {}

    def step(self, name, w, g, t):
        m = self.b1 * self.m.get(name, 0) + (1 - self.b1) * g
        v = self.b2 * self.v.get(name, 0) + (1 - self.b2) * g * g
        self.m[name], self.v[name] = m, v
        mh, vh = m / (1 - self.b1 ** t), v / (1 - self.b2 ** t)
        return w - self.lr * (mh / (np.sqrt(vh) + self.eps) + self.wd * w)


class MomentumMemory:
    """Momentum as an associative memory (NL Eqs. 17-19): the inner objective
    <m, g> has gradient g, so one GD step with retention alpha is
    m <- alpha m - lr g, and W <- W + m."""

    def __init__(self, lr=0.02, alpha=0.9):
        self.lr, self.alpha, self.m = lr, alpha, {}

    def step(self, name, w, g, t):
        m = self.alpha * self.m.get(name, 0) - self.lr * g
        self.m[name] = m
        return w + m


class MuonAdamW:
    """examples/optimizers/muon_adamw.nl: Muon for the 2-D parameters without
    a dimension equal to the vocabulary (256), AdamW for the rest."""

    def __init__(self, vocab=256):
        self.vocab, self.muon, self.adamw, self._scale = vocab, Muon(), AdamW(), 1.0

    @property
    def lr(self):
        return self._scale

    @lr.setter
    def lr(self, scale):  # check_optim scales lr for its control
        self.muon.lr *= scale / self._scale
        self.adamw.lr *= scale / self._scale
        self._scale = scale

    def step(self, name, w, g, t):
        hidden = w.ndim == 2 and self.vocab not in w.shape
        return (self.muon if hidden else self.adamw).step(name, w, g, t)


class L2Momentum:
    """Momentum as an L2-regression memory (examples/optimizers/l2_momentum.nl):
    m read at the key g against -1, GD on ||m g + 1||^2 with retention alpha:
    m <- alpha m - 2 lr (m g + 1) g; W <- W + m."""

    def __init__(self, lr=0.01, alpha=0.9):
        self.lr, self.alpha, self.m = lr, alpha, {}

    def step(self, name, w, g, t):
        m = self.m.get(name, 0)
        m = self.alpha * m - self.lr * 2 * (m * g + 1) * g
        self.m[name] = m
        return w + m


class HuberMomentum:
    """A user-written objective (examples/optimizers/huber_momentum.nl): GD on
    the pseudo-Huber sqrt(r^2 + 1) - 1 of r = m g + 1 per entry, retention
    alpha: m <- alpha m - lr r / sqrt(r^2 + 1) g; W <- W + m."""

    def __init__(self, lr=0.02, alpha=0.9):
        self.lr, self.alpha, self.m = lr, alpha, {}

    def step(self, name, w, g, t):
        m = self.m.get(name, 0)
        r = m * g + 1
        m = self.alpha * m - self.lr * r / np.sqrt(r * r + 1) * g
        self.m[name] = m
        return w + m


class Muon:
    """m <- beta m + g; a matrix moves along NS5(m) sqrt(max(1, rows/cols)),
    anything else along m; decoupled weight decay (NL Eq. 24)."""

    def __init__(self, lr=0.02, beta=0.95, wd=0.1, steps=5):
        self.lr, self.beta, self.wd, self.steps, self.m = lr, beta, wd, steps, {}

    def step(self, name, w, g, t):
        m = self.beta * self.m.get(name, 0) + g
        self.m[name] = m
        d = m
        if w.ndim == 2:
            d = np.sqrt(max(1.0, w.shape[0] / w.shape[1])) * newton_schulz(m, self.steps)
        return w - self.lr * (d + self.wd * w)


class DeltaMomentum:
    """Delta momentum, one scalar memory per entry: GD on the L2 objective
    1/2 ||m g + 1||^2 gives m <- (beta - lr g^2) m - lr g; W <- W + m - lr wd W
    (NL-N Eq. 22 with P = 1)."""

    def __init__(self, lr=0.02, beta=0.9, wd=0.1):
        self.lr, self.beta, self.wd, self.m = lr, beta, wd, {}

    def step(self, name, w, g, t):
        m = self.m.get(name, 0)
        m = self.beta * m - self.lr * (m * g + 1) * g
        self.m[name] = m
        return w + m - self.lr * self.wd * w


class DeltaMomentumMatrix:
    """Delta momentum as NL-N Eq. 22 writes it: GD on 1/2 ||m g^T + I||^2
    gives m <- m (beta I - lr g^T g) - lr g for a matrix; any other
    parameter is one row, m <- beta m - lr (<m, g> + 1) g;
    W <- W + m - lr wd W."""

    def __init__(self, lr=0.02, beta=0.9, wd=0.1):
        self.lr, self.beta, self.wd, self.m = lr, beta, wd, {}

    def step(self, name, w, g, t):
        m = self.m.get(name, np.zeros_like(g))
        if g.ndim == 2:
            m = m @ (self.beta * np.eye(g.shape[1]) - self.lr * g.T @ g) - self.lr * g
        else:
            m = self.beta * m - self.lr * (np.sum(m * g) + 1) * g
        self.m[name] = m
        return w + m - self.lr * self.wd * w


class M3:
    """M3 (NL-A Algorithm 1 with EMAs, docs/optimizers.md): fast EMA momentum
    M1 and second moment V every step; every `period` steps the slow momentum
    M2 = b3 M2 + (1 - b3) mean(g since the last slow step) and O2 = NS(M2);
    matrices move along sqrt(max(1, r/c)) (NS(M1) + alpha O2), other
    parameters along (M1^ + alpha M2) / (sqrt(V^) + eps)."""

    def __init__(self, lr=0.02, b1=0.9, b2=0.999, b3=0.9, alpha=0.5, eps=1e-8, steps=5, period=2, wd=0.0):
        self.lr, self.b1, self.b2, self.b3, self.alpha = lr, b1, b2, b3, alpha
        self.eps, self.steps, self.period, self.wd = eps, steps, period, wd
        self.s = {}

    def step(self, name, w, g, t):
        z = np.zeros_like(w)
        m1, v, m2, o2, S, n = self.s.get(name, (z, z, z, z, z, 0))
        m1 = self.b1 * m1 + (1 - self.b1) * g
        v = self.b2 * v + (1 - self.b2) * g * g
        S, n = S + g, n + 1
        if n == self.period:
            m2 = self.b3 * m2 + (1 - self.b3) * S / self.period
            o2 = newton_schulz(m2, self.steps) if w.ndim == 2 else m2
            S, n = z, 0
        self.s[name] = (m1, v, m2, o2, S, n)
        if w.ndim == 2:
            d = np.sqrt(max(1.0, w.shape[0] / w.shape[1])) * (newton_schulz(m1, self.steps) + self.alpha * o2)
        else:
            mh, vh = m1 / (1 - self.b1 ** t), v / (1 - self.b2 ** t)
            d = (mh + self.alpha * m2) / (np.sqrt(vh) + self.eps)
        return w - self.lr * (d + self.wd * w)


class DeepMomentum:
    """DMGD (NL-N Eq. 23, docs/optimizers.md): the momentum is the memory
    m(u)_j = b_j + sum_k wo_k silu(wi_k x_j) over the normalized gradient
    x = u / rms(u), with wi = wi0 + (state), wi0_k = 4 (k + 1/2) / H - 2.
    Inner objective <m(u), u>; its gradients, written by hand here (the
    compiler takes them by reverse mode): d/db = u, d/dwo_k = sum_j
    silu(wi_k x_j) u_j, d/dwi_k = sum_j wo_k silu'(wi_k x_j) x_j u_j. One GD
    step with retention beta, the shared weights at lr / N; then
    W <- W + m_{i+1}(u)."""

    def __init__(self, lr=0.01, beta=0.9, hidden=16, wd=0.0):
        self.lr, self.beta, self.hidden, self.wd, self.s = lr, beta, hidden, wd, {}

    def step(self, name, w, g, t):
        h = self.hidden
        shape = (h,) + (1,) * w.ndim
        wi0 = (4.0 * (np.arange(h) + 0.5) / h - 2.0).reshape(shape)
        b, wi, wo = self.s.get(name, (np.zeros_like(w), np.zeros(shape), np.zeros(shape)))
        x = g / (np.sqrt(np.mean(g * g)) + 1e-12)
        sig = lambda z: 1.0 / (1.0 + np.exp(-z))

        def read(b, wi, wo):
            z = (wi0 + wi) * x
            return b + np.sum(wo * z * sig(z), axis=0)

        z = (wi0 + wi) * x
        dsilu = sig(z) * (1 + z * (1 - sig(z)))
        dwo = np.sum(z * sig(z) * g, axis=tuple(range(1, w.ndim + 1)), keepdims=True)
        dwi = np.sum(wo * dsilu * x * g, axis=tuple(range(1, w.ndim + 1)), keepdims=True)
        n = w.size
        b = self.beta * b - self.lr * g
        wi = self.beta * wi - self.lr / n * dwi
        wo = self.beta * wo - self.lr / n * dwo
        self.s[name] = (b, wi, wo)
        return w + read(b, wi, wo) - self.lr * self.wd * w


OPTIMIZERS = {"adamw": AdamW, "momentum": MomentumMemory, "muon": Muon,
              "l2_momentum": L2Momentum, "huber_momentum": HuberMomentum, "muon_adamw": MuonAdamW,
              "delta_momentum": DeltaMomentum, "delta_momentum_matrix": DeltaMomentumMatrix,
              "m3": M3, "dmgd": DeepMomentum}


def rel_rms(a, ref):
    den = np.sqrt(np.mean(ref ** 2))
    return np.sqrt(np.mean((a - ref) ** 2)) / den if den > 1e-30 else np.sqrt(np.mean(a ** 2))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--nlc", required=True)
    ap.add_argument("--data", required=True)
    ap.add_argument("--optimizer", required=True, choices=sorted(OPTIMIZERS))
    ap.add_argument("--tol", type=float, default=1e-4)
    ap.add_argument("--slow-period", type=int, default=2,
                    help="M3's slow_period (the firing check trains 3 periods + 1 steps)")
    ap.add_argument("--lr-scale", type=float, default=1.0,
                    help="scale the closed form's learning rate (a control: 1.001 must fail)")
    ap.add_argument("--mcpu", default=os.environ.get("NL_TEST_MCPU", ""),
                    help="nlc --mcpu (default: $NL_TEST_MCPU, else the host's CPU)")
    ap.add_argument("--workdir")
    a = ap.parse_args()
    work = a.workdir or tempfile.mkdtemp(prefix=f"nl-optim-{a.optimizer}-")
    os.makedirs(work, exist_ok=True)

    def run(cmd):
        r = subprocess.run(cmd, capture_output=True, text=True)
        if r.returncode:
            sys.exit(f"check_optim.py: {' '.join(cmd)} failed (exit {r.returncode}):\n{r.stderr}")

    # The example, with M3's slow period set to 2 (so that the slow momentum
    # is written at the second step) and its import made absolute.
    with open(os.path.join(ROOT, "examples", "optimizers", f"{a.optimizer}.nl")) as f:
        text = f.read()
    text = text.replace('import "../transformer.nl"', f'import "{ROOT}/examples/transformer.nl"')
    text = re.sub(r"slow_period = \d+", f"slow_period = {a.slow_period}", text)
    src = os.path.join(work, f"{a.optimizer}.nl")
    with open(src, "w") as f:
        f.write(text)
    exe = os.path.join(work, a.optimizer)
    run([a.nlc, src, "-o", exe,
         "--set", "d=16", "--set", "layers=1", "--set", "heads=2", "--set", "context=16", "--set", "batch=2"] + ([f"--mcpu={a.mcpu}"] if a.mcpu else []))
    run_dir = os.path.join(work, "run")
    ckpt = os.path.join(run_dir, "checkpoint.safetensors")
    if os.path.exists(ckpt):
        os.remove(ckpt)
    common = ["--data", a.data, "--seed", "0", "--threads", "1"]
    train = ["--lr", "1", "--warmup", "0", "--schedule", "constant", "--eval-every", "0", "--eval-batches", "1"]
    run([exe, "dump", "--out", os.path.join(work, "d0.safetensors")] + common)
    run([exe, "train", "--run-dir", run_dir, "--steps", "1"] + train + common)
    run([exe, "dump", "--run-dir", run_dir, "--batch-step", "1", "--out", os.path.join(work, "d1.safetensors")] + common)
    run([exe, "train", "--run-dir", run_dir, "--resume", "--steps", "2"] + train + common)
    d0, d1, w2 = (load_file(os.path.join(work, f)) for f in ("d0.safetensors", "d1.safetensors", ckpt))
    names = sorted(k[len("param."):] for k in d0 if k.startswith("param."))

    opt = OPTIMIZERS[a.optimizer](period=a.slow_period) if a.optimizer == "m3" else OPTIMIZERS[a.optimizer]()
    opt.lr *= a.lr_scale
    worst, failed, sv = 0.0, [], []
    for name in names:
        w0 = d0[f"param.{name}"].astype(np.float64)
        w1 = d1[f"param.{name}"].astype(np.float64)
        w2n = w2[name].astype(np.float64)
        g0 = d0[f"grad.{name}"].astype(np.float64)
        g1 = d1[f"grad.{name}"].astype(np.float64)
        for t, (before, after, g) in enumerate([(w0, w1, g0), (w1, w2n, g1)], 1):
            hand = opt.step(name, before, g, t)
            e = rel_rms(after - before, hand - before)
            # float32 weights resolve an update only to their own rounding:
            # one ulp of each weight against the update's size.
            noise = 2.0 ** -23 * np.sqrt(np.mean(after ** 2)) / max(np.sqrt(np.mean((hand - before) ** 2)), 1e-30)
            worst = max(worst, e)
            if not e < a.tol + 2 * noise:
                failed.append(f"{name} step {t}: relative RMS error of the update {e:.2e} "
                              f"(float32 rounding {noise:.1e})")
        if a.optimizer == "muon" and w0.ndim == 2 and min(w0.shape) > 1:
            o = ((w0 - w1) / opt.lr - opt.wd * w0) / np.sqrt(max(1.0, w0.shape[0] / w0.shape[1]))
            s = np.linalg.svd(o, compute_uv=False)
            # The directions the iteration saturates: a singular value of at
            # least 1 % of ||g||_F (5 steps multiply a small one by ~480).
            sg = np.linalg.svd(g0, compute_uv=False)
            s = s[: int(np.sum(sg >= 0.01 * np.linalg.norm(g0)))]
            sv.append((name, s.min(), s.max()))
            if not (0.6 <= s.min() and s.max() <= 1.25):
                failed.append(f"{name}: Newton-Schulz singular values in [{s.min():.3f}, {s.max():.3f}]")
    if a.optimizer == "m3":
        # The slow momentum is written exactly at the steps that are
        # multiples of its period: train one step at a time (resuming) and
        # see at which steps the M2 state changes.
        period, total = a.slow_period, 3 * a.slow_period + 1
        fire_dir = os.path.join(work, "fire")
        if os.path.exists(os.path.join(fire_dir, "checkpoint.safetensors")):
            os.remove(os.path.join(fire_dir, "checkpoint.safetensors"))
        prev, changed = None, []
        for k in range(1, total + 1):
            run([exe, "train", "--run-dir", fire_dir, "--steps", str(k)] + (["--resume"] if k > 1 else [])
                + train + common)
            m2 = load_file(os.path.join(fire_dir, "checkpoint.safetensors"))[f"{names[0]}.m2"]
            if (prev is None and np.any(m2 != 0)) or (prev is not None and np.any(m2 != prev)):
                changed.append(k)
            prev = m2
        want = [k for k in range(1, total + 1) if k % period == 0]
        print(f"{'ok  ' if changed == want else 'FAIL'} slow momentum written at steps {changed} "
              f"(period {period}: expected {want})")
        if changed != want:
            failed.append("slow momentum firing")
    for f in failed:
        print("FAIL", f)
    for name, lo, hi in sv:
        print(f"ok   {name}: Newton-Schulz output singular values in [{lo:.3f}, {hi:.3f}]")
    print(f"{'FAIL' if failed else 'PASS'}: {a.optimizer}: {len(names)} parameters x 2 steps, worst relative "
          f"RMS error of an update {worst:.2e} (tolerance {a.tol:g} + twice the float32 rounding)")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
