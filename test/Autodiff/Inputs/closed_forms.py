#!/usr/bin/env python3
"""Emits a module that checks derive-inner-updates against closed forms.

For each memory rule (NESTED_LEARNING.md §2, §3, §9) and chunk size, the module
holds a memory level, a function @<case> that runs it with nl.memorize (and is
derived by the compiler), and @<case>_ref: the closed-form update written out
token by token with plain nl ops, gradients taken at the chunk-start state,
independent of the compiler's derivation. nl-gradcheck compares the two
(nl.compare_with), and checks the outer gradient of a loss through the
derived rule against finite differences (nl.differentiate).

Usage: closed_forms.py [--grad-at-current-state] [T] [C ...]

--grad-at-current-state writes the exact token recurrence instead (gradients
at the state before each token): equal to the derived rule at C = 1 only, so
a test with C > 1 must fail (the check is not vacuous).
"""
import sys

B, H, DK, DV = 2, 2, 3, 2
LR, BETA, DECAY = 0.3, 0.8, 0.9
# Inner Adam's moments (a large eps keeps the first tokens' steps finite).
BETA1, BETA2, EPS = 0.8, 0.9, 1e-2
# Inner Muon's Newton-Schulz iterations and their coefficients (NL Eq. 24).
NS_STEPS, NS_ABC = 5, (3.4445, -4.7750, 2.0315)
# The soft clamp of the per-token inner gradient norm (clamp_norm): small
# enough that most tokens' gradients are clamped, not all.
CLAMP = 0.5
# name: (objective, optimizer, retention, gates[, clamp_norm])
CASES = {
    "hebbian": ("dot", "gd", None, False),
    "hebbian_gated": ("dot", "gd", "gate", True),
    "delta": ("l2", "gd", None, True),
    "gated_delta": ("l2", "gd", "gate", True),
    "titans": ("l2", "momentum", "decay", True),
    "dgd": ("l2", "dgd", "gate", True),
    "titans_clamped": ("l2", "momentum", "decay", True, CLAMP),
    # User-written objectives (`objective EXPR`), derived by reverse mode of
    # the region applied per token: |r|³ summed (= lp(p = 3)), the
    # pseudo-Huber sqrt(‖r‖² + 1) (a per-token reduction inside a nonlinear
    # function) and a normalized dot −⟨M(k), v⟩ / sqrt(‖M(k)‖² + 1) (per-token
    # vectors divided by per-token scalars), with r = M(k) − v.
    "cubic": ("cubic", "gd", None, True),
    "pseudo_huber": ("pseudo_huber", "momentum", "decay", True),
    "cosine": ("cosine", "dgd", "gate", True),
    # Inner Adam (per-token moments, no bias correction), with decay and with
    # a forget gate.
    "adam_decay": ("l2", "adam", "decay", True),
    "adam_gated": ("pseudo_huber", "adam", "gate", True),
    # Inner Muon (per-token momentum of the raw gradients, each token's
    # write orthogonalized by Newton-Schulz), with decay and with a gate.
    "muon_decay": ("l2", "muon", "decay", True),
    "muon_gated": ("cubic", "muon", "gate", True, CLAMP),
    # A memory whose read function the user wrote (`memory M(x) { param W
    # [DK, DV]; return tanh(x @ W) }`: nl.read_fn), derived by reverse mode
    # of the function applied per token with each token's state.
    "readfn_tanh": ("l2", "momentum", "decay", True),
    "readfn_tanh_gd": ("cubic", "gd", "gate", True),
}

# The read function of the readfn_* cases: y = tanh(x @ W), W [DK, DV].
READ_FN = ("nl.read_fn @tanh_mem : ({w}, {k}) -> {v} attributes {{param_names = [\"W\"]}} {{\n"
           "    ^bb0(%W: {w}, %x: {k}):\n"
           "      %z = nl.linear %x, %W : ({k}, {w}) -> {v}\n"
           "      %y = nl.tanh %z : {v}\n"
           "      nl.yield %y : {v}\n    }}\n")

# The custom objectives' regions (nl.objective custom), per token: M(k) [DV]
# is %p, k [DK], v [DV].
CUSTOM = {
    "cubic": ["%r = nl.sub %p, %v : (V, V) -> V", "%a = nl.abs %r : V",
              "%c = nl.pow %a, 3.0 : V", "%l = nl.sum %c : V -> S"],
    "pseudo_huber": ["%r = nl.sub %p, %v : (V, V) -> V", "%q = nl.mul %r, %r : (V, V) -> V",
                     "%s = nl.sum %q : V -> S", "%one = arith.constant dense<1.0> : S",
                     "%a = nl.add %s, %one : (S, S) -> S", "%l = nl.sqrt %a : S"],
    "cosine": ["%q = nl.mul %p, %p : (V, V) -> V", "%s = nl.sum %q : V -> S",
               "%one = arith.constant dense<1.0> : S", "%a = nl.add %s, %one : (S, S) -> S",
               "%n = nl.sqrt %a : S", "%u = nl.div %p, %n : (V, S) -> V",
               "%w = nl.mul %u, %v : (V, V) -> V", "%d = nl.sum %w : V -> S",
               "%l = nl.neg %d : S"],
}


def custom_region(objective, mem):
    lines = [f"^bb0(%M: {mem}, %k: {t(DK)}, %v: {t(DV)}):",
             f"%p = nl.read %M(%k) : {mem}, {t(DK)} -> {t(DV)}"]
    lines += [x.replace("V", t(DV)).replace("S", t()) for x in CUSTOM[objective]]
    lines.append(f"nl.yield %l : {t()}")
    return "custom {\n" + "\n".join("        " + x for x in lines) + "\n      }"


class Fn:
    def __init__(self):
        self.lines, self.n = [], 0

    def op(self, text, ty):
        self.n += 1
        name = f"%v{self.n}"
        self.lines.append(f"  {name} = {text} : {ty}")
        return name


def t(*shape):
    return "tensor<" + "x".join(str(d) for d in shape) + ("x" if shape else "") + "f64>"


def binop(f, op, a, sa, b, sb, so):
    return f.op(f"nl.{op} {a}, {b}", f"({t(*sa)}, {t(*sb)}) -> {t(*so)}")


AT_CURRENT = False


def reference(name, objective, optimizer, retention, gates, T, C, clamp=None):
    if name.startswith("readfn_"):
        return reference_readfn(name, objective, optimizer, retention, gates, T, C)
    f = Fn()
    args = [f"%k: {t(B, H, T, DK)}", f"%v: {t(B, H, T, DV)}", f"%q: {t(B, H, T, DK)}"]
    if gates:
        args += [f"%eta: {t(B, H, T)} {{nl.positive}}", f"%alpha: {t(B, H, T)} {{nl.positive}}"]
    W, S = (B, H, DV, DK), (B, H, DV, DK)
    w = f.op(f"arith.constant dense<0.0>", t(*W))
    s = f.op(f"arith.constant dense<0.0>", t(*S))
    s2 = f.op(f"arith.constant dense<0.0>", t(*S))
    lr = f.op(f"arith.constant dense<{LR}>", t())
    out = None
    eye = f.op("arith.constant dense<[" + ", ".join(
        "[" + ", ".join("1.0" if i == j else "0.0" for j in range(DK)) + "]" for i in range(DK)) + "]>", t(DK, DK))

    def token(x, t_, d):
        return f.op(f"nl.slice {x} dim = 2 offset = {t_} size = 1", f"{t(B, H, T, d)} -> {t(B, H, 1, d)}")

    def gate(x, t_):
        g = f.op(f"nl.slice {x} dim = 2 offset = {t_} size = 1", f"{t(B, H, T)} -> {t(B, H, 1)}")
        return f.op(f"tensor.expand_shape {g} [[0], [1], [2, 3]] output_shape [{B}, {H}, 1, 1]", f"{t(B, H, 1)} into {t(B, H, 1, 1)}")

    for c0 in range(0, T, C):
        w0 = w  # gradients at the chunk-start state
        for tk in range(c0, min(c0 + C, T)):
            k, v, q = token("%k", tk, DK), token("%v", tk, DV), token("%q", tk, DK)
            kT = f.op(f"nl.transpose {k}", f"{t(B, H, 1, DK)} -> {t(B, H, DK, 1)}")
            vT = f.op(f"nl.transpose {v}", f"{t(B, H, 1, DV)} -> {t(B, H, DV, 1)}")
            if objective == "dot":  # ∇(−⟨W k, v⟩) = −v kᵀ
                g = f.op(f"nl.neg {binop(f, 'matmul', vT, (B, H, DV, 1), k, (B, H, 1, DK), W)}", t(*W))
            else:  # ∇ℓ(W k) = e kᵀ with e = ∂ℓ/∂(W k)
                col, one = (B, H, DV, 1), (B, H, 1, 1)
                p = binop(f, "matmul", w if AT_CURRENT else w0, W, kT, (B, H, DK, 1), col)
                r = binop(f, "sub", p, col, vT, col, col)

                def const(x):
                    return f.op(f"arith.constant dense<{x}>", t())

                def colsum(x):  # Σ over the DV entries of a column: [B, H, 1, 1]
                    return f.op(f"nl.sum_to {x}", f"{t(*col)} -> {t(*one)}")

                if objective == "l2":  # ‖r‖²: e = 2 r
                    e = binop(f, "mul", const(2.0), (), r, col, col)
                elif objective == "cubic":  # Σ |r|³: e = 3 |r| r
                    a = f.op(f"nl.abs {r}", t(*col))
                    e = binop(f, "mul", const(3.0), (), binop(f, "mul", a, col, r, col, col), col, col)
                elif objective == "pseudo_huber":  # sqrt(‖r‖² + 1): e = r / sqrt(‖r‖² + 1)
                    s_ = f.op(f"nl.sqrt {binop(f, 'add', colsum(binop(f, 'mul', r, col, r, col, col)), one, const(1.0), (), one)}", t(*one))
                    e = binop(f, "div", r, col, s_, one, col)
                else:  # cosine: −⟨p, v⟩ / n, n = sqrt(‖p‖² + 1): e = −v / n + ⟨p, v⟩ p / n³
                    n_ = f.op(f"nl.sqrt {binop(f, 'add', colsum(binop(f, 'mul', p, col, p, col, col)), one, const(1.0), (), one)}", t(*one))
                    pv = colsum(binop(f, "mul", p, col, vT, col, col))
                    n3 = binop(f, "mul", n_, one, binop(f, "mul", n_, one, n_, one, one), one, one)
                    e = binop(f, "sub", binop(f, "mul", binop(f, "div", pv, one, n3, one, one), one, p, col, col), col,
                              binop(f, "div", vT, col, n_, one, col), col, col)
                g = binop(f, "matmul", e, col, k, (B, H, 1, DK), W)
            eta = binop(f, "mul", gate("%eta", tk), (B, H, 1, 1), lr, (), (B, H, 1, 1)) if gates else lr
            se = (B, H, 1, 1) if gates else ()
            if clamp:  # g c tanh(‖g‖ / c) / ‖g‖, ‖g‖ = sqrt(Σ g² + 1e-30)
                sq = f.op(f"nl.sum_to {binop(f, 'mul', g, W, g, W, W)}", f"{t(*W)} -> {t(B, H, 1, 1)}")
                tiny = f.op("arith.constant dense<1.0e-30>", t())
                nrm = f.op(f"nl.sqrt {binop(f, 'add', sq, (B, H, 1, 1), tiny, (), (B, H, 1, 1))}", t(B, H, 1, 1))
                inv_c = f.op(f"arith.constant dense<{1.0 / clamp}>", t())
                c_ = f.op(f"arith.constant dense<{clamp}>", t())
                th = f.op(f"nl.tanh {binop(f, 'mul', nrm, (B, H, 1, 1), inv_c, (), (B, H, 1, 1))}", t(B, H, 1, 1))
                fac = binop(f, "div", binop(f, "mul", th, (B, H, 1, 1), c_, (), (B, H, 1, 1)), (B, H, 1, 1), nrm, (B, H, 1, 1), (B, H, 1, 1))
                g = binop(f, "mul", fac, (B, H, 1, 1), g, W, W)
            u = binop(f, "mul", eta, se, g, W, W)
            if retention == "gate":
                alpha, sa = gate("%alpha", tk), (B, H, 1, 1)
            elif retention == "decay":
                alpha, sa = f.op(f"arith.constant dense<{DECAY}>", t()), ()
            else:
                alpha, sa = f.op("arith.constant dense<1.0>", t()), ()
            if optimizer == "adam":  # m = β1 m + (1 − β1) g, v = β2 v + (1 − β2) g², u = η m / (√v + ε)
                s = binop(f, "add", binop(f, "mul", f.op(f"arith.constant dense<{BETA1}>", t()), (), s, S, S), S,
                          binop(f, "mul", f.op(f"arith.constant dense<{1 - BETA1}>", t()), (), g, W, W), W, S)
                s2 = binop(f, "add", binop(f, "mul", f.op(f"arith.constant dense<{BETA2}>", t()), (), s2, S, S), S,
                           binop(f, "mul", f.op(f"arith.constant dense<{1 - BETA2}>", t()), (),
                                 binop(f, "mul", g, W, g, W, W), W, W), W, S)
                den = binop(f, "add", f.op(f"nl.sqrt {s2}", t(*S)), S, f.op(f"arith.constant dense<{EPS}>", t()), (), S)
                u = binop(f, "mul", eta, se, binop(f, "div", s, S, den, S, S), S, S)
            if optimizer == "muon":  # S = β S + g; u = η NS(S), NS per [DV, DK] matrix (wide: A = X Xᵀ)
                beta = f.op(f"arith.constant dense<{BETA}>", t())
                s = binop(f, "add", binop(f, "mul", beta, (), s, S, S), S, g, W, S)
                sq = f.op(f"nl.sum_to {binop(f, 'mul', s, S, s, S, S)}", f"{t(*S)} -> {t(B, H, 1, 1)}")
                nrm = binop(f, "add", f.op(f"nl.sqrt {sq}", t(B, H, 1, 1)), (B, H, 1, 1),
                            f.op("arith.constant dense<1.0e-07>", t()), (), (B, H, 1, 1))
                x = binop(f, "div", s, S, nrm, (B, H, 1, 1), S)
                a_, b_, c_ = (f.op(f"arith.constant dense<{v}>", t()) for v in NS_ABC)
                G = (B, H, DV, DV)
                for _ in range(NS_STEPS):
                    xT = f.op(f"nl.transpose {x}", f"{t(*S)} -> {t(B, H, DK, DV)}")
                    A = binop(f, "matmul", x, S, xT, (B, H, DK, DV), G)
                    poly = binop(f, "add", binop(f, "mul", b_, (), A, G, G), G,
                                 binop(f, "mul", c_, (), binop(f, "matmul", A, G, A, G, G), G, G), G, G)
                    x = binop(f, "add", binop(f, "mul", a_, (), x, S, S), S, binop(f, "matmul", poly, G, x, S, S), S, S)
                u = binop(f, "mul", eta, se, x, S, S)
            if optimizer == "momentum":  # S = β S + η g; W = α W − S
                beta = f.op(f"arith.constant dense<{BETA}>", t())
                s = binop(f, "add", binop(f, "mul", beta, (), s, S, S), S, u, W, S)
                u = s
            if optimizer == "dgd":  # W = W (α I − η k̂ k̂ᵀ) − η g
                kh = f.op(f"nl.l2norm {k}", t(B, H, 1, DK))
                khT = f.op(f"nl.transpose {kh}", f"{t(B, H, 1, DK)} -> {t(B, H, DK, 1)}")
                outer = binop(f, "matmul", khT, (B, H, DK, 1), kh, (B, H, 1, DK), (B, H, DK, DK))
                aI = binop(f, "mul", alpha, sa, eye, (DK, DK), (B, H, DK, DK) if sa else (DK, DK))
                ek = binop(f, "mul", eta, se, outer, (B, H, DK, DK), (B, H, DK, DK))
                A = binop(f, "sub", aI, (B, H, DK, DK) if sa else (DK, DK), ek, (B, H, DK, DK), (B, H, DK, DK))
                w = binop(f, "sub", binop(f, "matmul", w, W, A, (B, H, DK, DK), W), W, u, W, W)
            else:
                w = binop(f, "sub", binop(f, "mul", alpha, sa, w, W, W), W, u, W, W)
            y = binop(f, "matmul", w, W, f.op(f"nl.transpose {q}", f"{t(B, H, 1, DK)} -> {t(B, H, DK, 1)}"), (B, H, DK, 1), (B, H, DV, 1))
            y = f.op(f"nl.transpose {y}", f"{t(B, H, DV, 1)} -> {t(B, H, 1, DV)}")
            y = f.op(f"nl.pad {y} dim = 2 offset = {tk} size = {T}", f"{t(B, H, 1, DV)} -> {t(B, H, T, DV)}")
            out = y if out is None else binop(f, "add", out, (B, H, T, DV), y, (B, H, T, DV), (B, H, T, DV))
    body = "\n".join(f.lines)
    return (f"func.func @{name}_ref({', '.join(args)}) -> {t(B, H, T, DV)} {{\n{body}\n"
            f"  return {out} : {t(B, H, T, DV)}\n}}\n")


def reference_readfn(name, objective, optimizer, retention, gates, T, C):
    """The readfn_* cases token by token: state W [B, H, DK, DV], read
    y = tanh(x W); the gradient of the objective at the chunk-start state
    W0 is kᵀ (e ⊙ (1 − p²)) with p = tanh(k W0) and e = ∂ℓ/∂p (l2: 2 (p − v);
    cubic: 3 |p − v| (p − v)); gd or momentum, decay or gate retention."""
    f = Fn()
    args = [f"%k: {t(B, H, T, DK)}", f"%v: {t(B, H, T, DV)}", f"%q: {t(B, H, T, DK)}"]
    if gates:
        args += [f"%eta: {t(B, H, T)} {{nl.positive}}", f"%alpha: {t(B, H, T)} {{nl.positive}}"]
    W, row, one = (B, H, DK, DV), (B, H, 1, DV), (B, H, 1, 1)
    w = f.op("arith.constant dense<0.0>", t(*W))
    s = f.op("arith.constant dense<0.0>", t(*W))
    lr = f.op(f"arith.constant dense<{LR}>", t())

    def const(x):
        return f.op(f"arith.constant dense<{x}>", t())

    def token(x, t_, d):
        return f.op(f"nl.slice {x} dim = 2 offset = {t_} size = 1", f"{t(B, H, T, d)} -> {t(B, H, 1, d)}")

    def gate(x, t_):
        g = f.op(f"nl.slice {x} dim = 2 offset = {t_} size = 1", f"{t(B, H, T)} -> {t(B, H, 1)}")
        return f.op(f"tensor.expand_shape {g} [[0], [1], [2, 3]] output_shape [{B}, {H}, 1, 1]",
                    f"{t(B, H, 1)} into {t(B, H, 1, 1)}")

    def read(state, x):  # tanh(x W): [B, H, 1, DK] @ [B, H, DK, DV]
        return f.op(f"nl.tanh {binop(f, 'matmul', x, (B, H, 1, DK), state, W, row)}", t(*row))

    out = None
    for c0 in range(0, T, C):
        w0 = w
        for tk in range(c0, min(c0 + C, T)):
            k, v, q = token("%k", tk, DK), token("%v", tk, DV), token("%q", tk, DK)
            p = read(w if AT_CURRENT else w0, k)
            r = binop(f, "sub", p, row, v, row, row)
            if objective == "l2":
                e = binop(f, "mul", const(2.0), (), r, row, row)
            else:  # cubic
                e = binop(f, "mul", const(3.0), (), binop(f, "mul", f.op(f"nl.abs {r}", t(*row)), row, r, row, row),
                          row, row)
            dz = binop(f, "mul", e, row, binop(f, "sub", const(1.0), (), binop(f, "mul", p, row, p, row, row), row, row),
                       row, row)
            kT = f.op(f"nl.transpose {k}", f"{t(B, H, 1, DK)} -> {t(B, H, DK, 1)}")
            g = binop(f, "matmul", kT, (B, H, DK, 1), dz, row, W)
            eta = binop(f, "mul", gate("%eta", tk), one, lr, (), one) if gates else lr
            se = one if gates else ()
            u = binop(f, "mul", eta, se, g, W, W)
            if optimizer == "momentum":  # S = β S + η g; W = α W − S
                s = binop(f, "add", binop(f, "mul", const(BETA), (), s, W, W), W, u, W, W)
                u = s
            if retention == "gate":
                alpha, sa = gate("%alpha", tk), one
            else:
                alpha, sa = const(DECAY), ()
            w = binop(f, "sub", binop(f, "mul", alpha, sa, w, W, W), W, u, W, W)
            y = f.op(f"nl.pad {read(w, q)} dim = 2 offset = {tk} size = {T}", f"{t(*row)} -> {t(B, H, T, DV)}")
            out = y if out is None else binop(f, "add", out, (B, H, T, DV), y, (B, H, T, DV), (B, H, T, DV))
    body = "\n".join(f.lines)
    return (f"func.func @{name}_ref({', '.join(args)}) -> {t(B, H, T, DV)} {{\n{body}\n"
            f"  return {out} : {t(B, H, T, DV)}\n}}\n")


def derived(name, objective, optimizer, retention, gates, T, C, clamp=None):
    extra = f", clamp_norm = {clamp} : f64" if clamp else ""
    opt = {"gd": f"gd attributes {{lr = {LR} : f64{extra}}}",
           "momentum": f"momentum attributes {{lr = {LR} : f64, beta = {BETA} : f64{extra}}}",
           "dgd": f"dgd attributes {{lr = {LR} : f64{extra}}}",
           "adam": f"adam attributes {{lr = {LR} : f64, beta1 = {BETA1} : f64, beta2 = {BETA2} : f64, eps = {EPS} : f64{extra}}}",
           "muon": f"muon attributes {{lr = {LR} : f64, beta = {BETA} : f64, ns_steps = {NS_STEPS}{extra}}}"}[optimizer]
    ret = {None: "", "gate": "\n      nl.retention gate", "decay": f"\n      nl.retention decay alpha = {DECAY}"}[retention]
    mem = f"!nl.memory<matrix, heads = {H}, in = {DK}, out = {DV}>"
    read_fn = ""
    if name.startswith("readfn_"):
        mem = f"!nl.memory<custom, heads = {H}, in = {DK}, out = {DV}, fn = @tanh_mem>"
        read_fn = "  " + READ_FN.format(w=t(DK, DV), k=t(DK), v=t(DV))
    if objective in CUSTOM:
        objective = custom_region(objective, mem)
    level = (f"nl.model @{name}_model {{\n{read_fn}  nl.level @outer every <1 steps> {{\n"
             f"    nl.level @mem every <{C} tokens> {{\n      nl.memory @M : {mem}\n"
             f"      nl.objective {objective}\n      nl.optimizer @opt {opt}{ret}\n    }}\n"
             f"    nl.optimizer @outer_opt gd attributes {{lr = 1.0e-03 : f64}}\n  }}\n}}\n")
    args = [f"%k: {t(B, H, T, DK)}", f"%v: {t(B, H, T, DV)}", f"%q: {t(B, H, T, DK)}"]
    gate_ops, gate_tys = "", ""
    if gates:
        args += [f"%eta: {t(B, H, T)} {{nl.positive}}", f"%alpha: {t(B, H, T)} {{nl.positive}}"]
        gate_ops = " lr(%eta)" + (" decay(%alpha)" if retention == "gate" else "")
        gate_tys = f", {t(B, H, T)}" + (f", {t(B, H, T)}" if retention == "gate" else "")
    flow = f"!nl.flow<keys_values, {t(B, H, T, DK)}, {t(B, H, T, DV)}>"
    body = (f"  %f = nl.flow keys_values(%k, %v : {t(B, H, T, DK)}, {t(B, H, T, DV)}) -> {flow[8:]}\n"
            f"  %y = nl.memorize @outer::@mem(%f) read(%q){gate_ops} : "
            f"({flow}, {t(B, H, T, DK)}{gate_tys}) -> {t(B, H, T, DV)}\n")
    fn = (f"func.func @{name}({', '.join(args)}) -> {t(B, H, T, DV)} attributes {{nl.compare_with = @{name}_ref}} {{\n"
          f"{body}  return %y : {t(B, H, T, DV)}\n}}\n")
    # The outer loss through the derived rule: sum(y ⊙ w), checked by finite differences.
    largs = args + [f"%w: {t(B, H, T, DV)}"]
    loss = (f"func.func @{name}_loss({', '.join(largs)}) -> tensor<f64> attributes {{nl.differentiate}} {{\n"
            f"{body}  %p = nl.mul %y, %w : ({t(B, H, T, DV)}, {t(B, H, T, DV)}) -> {t(B, H, T, DV)}\n"
            f"  %l = nl.sum %p : {t(B, H, T, DV)} -> tensor<f64>\n  return %l : tensor<f64>\n}}\n")
    return level, fn, loss


def main():
    global AT_CURRENT
    argv = sys.argv[1:]
    only = None
    while argv and argv[0].startswith("--"):
        if argv[0] == "--grad-at-current-state":
            AT_CURRENT, argv = True, argv[1:]
        elif argv[0] == "--cases":
            if len(argv) < 2:
                sys.exit("closed_forms.py: --cases needs a list of cases, e.g. --cases delta,titans")
            only, argv = argv[1].split(","), argv[2:]
            unknown = [c for c in only if c not in CASES]
            if unknown:
                sys.exit(f"closed_forms.py: unknown case(s) {', '.join(unknown)} (known: {', '.join(CASES)})")
        else:
            sys.exit(f"closed_forms.py: unknown option {argv[0]}")
    T = int(argv[0]) if argv else 7
    chunks = [int(c) for c in argv[1:]] or [1, 4]
    for C in chunks:
        for case, spec in CASES.items():
            if only is not None and case not in only:
                continue
            name = f"{case}_c{C}"
            level, fn, loss = derived(name, *spec[:4], T, C, *spec[4:])
            # The functions live in the model, beside the levels they name.
            print(level.rstrip()[:-1] + fn + loss + reference(name, *spec[:4], T, C, *spec[4:]) + "}\n")


if __name__ == "__main__":
    main()
