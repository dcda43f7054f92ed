"""Independent PyTorch references of the example models (test/reference).

Written plainly from design/NESTED_LEARNING.md (§2 memory update rules, §4
CMS, §5 Hope, §9 nlc's choices) and the op semantics documented in
docs/dialect/NLDialect.md and docs/autodiff.md. Shares no code with nlc:
memories run token by token (the recurrent form, gradients at the
chunk-start state), inner gradients come from torch.autograd, and the outer
gradient is torch's own backward through all of it.

Shapes: B batch, T tokens, D width, H heads, d = D / H per-head width,
V vocabulary. Everything is float64 unless the caller says otherwise.
"""
import math

import torch

# ---------------------------------------------------------------------------
# Elementwise and normalization ops (NLDialect.md: nl.rmsnorm, nl.l2norm,
# nl.gelu is the tanh form, nl.causal_conv, nl.attention, nl.cross_entropy).


def rmsnorm(x, g, eps=1e-6):
    """x [..., D], g [D]: x / sqrt(mean(x^2) + eps) * g."""
    return x / torch.sqrt((x * x).mean(-1, keepdim=True) + eps) * g


def l2norm(x, eps=1e-6):
    """x [..., D]: x / sqrt(sum(x^2) + eps)."""
    return x / torch.sqrt((x * x).sum(-1, keepdim=True) + eps)


def gelu(x):
    """GELU, tanh approximation."""
    return 0.5 * x * (1 + torch.tanh(math.sqrt(2 / math.pi) * (x + 0.044715 * x ** 3)))


def silu(x):
    return x * torch.sigmoid(x)


def conv(x, w):
    """Causal depthwise conv: x [B, T, D], w [K, D];
    y[b, t] = sum_{j < K} w[j] * x[b, t - j] (zero before t = 0)."""
    T = x.shape[1]
    y = torch.zeros_like(x)
    for j in range(min(w.shape[0], T)):
        shifted = torch.cat([torch.zeros_like(x[:, :j]), x[:, :T - j]], dim=1)
        y = y + w[j] * shifted
    return y


def heads(x, H):
    """[B, T, H d] -> [B, H, T, d] (head h takes columns h d .. (h+1) d)."""
    B, T, D = x.shape
    return x.reshape(B, T, H, D // H).transpose(1, 2)


def merge(x):
    """[B, H, T, d] -> [B, T, H d]."""
    B, H, T, d = x.shape
    return x.transpose(1, 2).reshape(B, T, H * d)


def per_head(x):
    """[B, T, H] -> [B, H, T]."""
    return x.transpose(1, 2)


def attention(q, k, v):
    """Causal softmax attention, scores scaled by 1/sqrt(d): [B, H, T, d]."""
    T, d = q.shape[2], q.shape[3]
    s = q @ k.transpose(-1, -2) / math.sqrt(d)
    mask = torch.ones(T, T, dtype=torch.bool).tril()
    s = s.masked_fill(~mask, float("-inf"))
    return torch.softmax(s, -1) @ v


def rope(x, base):
    """Rotary position embeddings (RoFormer, Su et al. 2021, Eq. 34), the
    half-split pairing of GPT-NeoX/LLaMA: entries i and i + d/2 of the token
    at position t form a 2-vector rotated by the angle t base^(-2i/d).
    [B, H, T, d], positions 0 .. T - 1."""
    T, d = x.shape[2], x.shape[3]
    half = d // 2
    theta = base ** (-2.0 * torch.arange(half, dtype=torch.float64) / d)
    angle = torch.arange(T, dtype=torch.float64)[:, None] * theta[None, :]  # [T, d/2]
    c, s = torch.cos(angle).to(x.dtype), torch.sin(angle).to(x.dtype)
    a, b = x[..., :half], x[..., half:]
    return torch.cat([a * c - b * s, a * s + b * c], dim=-1)


def cross_entropy(logits, targets):
    """Mean next-token cross-entropy in nats/token: [B, T, V], [B, T]."""
    V = logits.shape[-1]
    return torch.nn.functional.cross_entropy(logits.reshape(-1, V), targets.reshape(-1))


def mlp_block(x, n, up, down, act):
    """Pre-norm MLP: act(rmsnorm(x, n) @ up) @ down."""
    return act(rmsnorm(x, n) @ up) @ down


# ---------------------------------------------------------------------------
# Associative memories (NESTED_LEARNING.md §2, §5, §9.1-9.3).
#
# A memory's state is a dict of per-(batch, head) weights: a matrix memory
# {"w": [B, H, dv, dk]}, M(x) = W x; an MLP memory {"w1": [B, H, dv, h],
# "w2": [B, H, h, dk]}, M(x) = x + W1 act(W2 x) (the residual only when
# dk = dv). States with an extra token axis after H hold one copy per token.


def out_norm(y, norm):
    """An mlp memory's output normalization (the memory type's `norm`) over
    the last axis, no affine parameters: 'layer' (y - mean) / sqrt(var +
    1e-5), 'rms' y / sqrt(mean(y^2) + 1e-5), None the identity."""
    if norm is None:
        return y
    if norm == "layer":
        y = y - y.mean(-1, keepdim=True)
    return y / torch.sqrt((y * y).mean(-1, keepdim=True) + 1e-5)


def read(W, x, act=silu, norm=None):
    """M(x): x [B, H, ..., dk] -> [B, H, ..., dv] with W's (B, H) broadcast
    over x's middle axes; a W with a token axis [B, H, n, ...] reads
    x [B, H, n, dk] token by token. An mlp memory is x + N(W1 act(W2 x)),
    N the output normalization `norm` (out_norm)."""
    per_token = W[next(iter(W))].dim() == 5

    def lin(w, u):
        if per_token:
            return torch.einsum("bhnij,bhnj->bhni", w, u)
        return torch.einsum("bhij,bh...j->bh...i", w, u)

    if "w" in W:
        return lin(W["w"], x)
    y = out_norm(lin(W["w1"], act(lin(W["w2"], x))), norm)
    return y + x if y.shape[-1] == x.shape[-1] else y


def map_inputs(W, k, act=silu):
    """The input of each linear map when M reads k (NESTED_LEARNING.md §9.2):
    k for W and W2, act(W2 k) for W1."""
    if "w" in W:
        return {"w": k}
    return {"w2": k, "w1": act(torch.einsum("bhij,bh...j->bh...i", W["w2"], k))}


def token_gradients(W0, k, v, act=silu, norm=None, objective="l2"):
    """Per-token gradients of the L2 objective ||M(k_t) - v_t||^2 (or the
    dot objective -<M(k_t), v_t>) at the chunk-start state W0: k [B, H, n,
    dk], v [B, H, n, dv] -> a dict of [B, H, n, ...] (create_graph: the
    outer gradient flows through them)."""
    n = k.shape[2]
    rep = {name: w.unsqueeze(2).expand(-1, -1, n, *w.shape[2:]).clone()
           for name, w in W0.items()}
    for w in rep.values():
        if not w.requires_grad:  # a constant initial state (zeros)
            w.requires_grad_(True)
    pred = read(rep, k, act, norm)
    loss = -(pred * v).sum() if objective == "dot" else ((pred - v) ** 2).sum()
    grads = torch.autograd.grad(loss, list(rep.values()), create_graph=True)
    return dict(zip(rep.keys(), grads))


def clamp_factor(g, c):
    """The soft clamp of each token's inner gradient norm (clamp_norm = c):
    g: dict of [B, H, n, ...] -> [B, H, n], c tanh(|g| / c) / |g| with |g|
    the norm over all of the memory's maps, sqrt(sum g^2 + 1e-30)."""
    sq = sum((x * x).flatten(3).sum(-1) for x in g.values())
    n = torch.sqrt(sq + 1e-30)
    return c * torch.tanh(n / c) / n


def memorize(W0, k, v, q, C, lr, *, lr_gate=None, alpha=1.0, beta=None,
             dgd=False, self_values=False, act=silu, norm=None, clamp=None,
             objective="l2"):
    """Runs one memory level over its flow and reads it.

    W0: the initial state (dict of [B, H, ...]); k [B, H, T, dk], v
    [B, H, T, dv], q [B, H, T, dk]; C the chunk size (tokens); lr the inner
    learning rate; lr_gate [B, H, T] multiplies it per token; alpha the
    retention (a float or [B, H, T]); beta the momentum (None: none);
    dgd: the delta-gradient-descent preconditioner (NL-A Eqs. 56-57, §9.2);
    self_values: the memory generates its own values v^ = M(v) (Hope
    Eq. 86); norm: the mlp memory's output normalization (out_norm); clamp:
    clamp_norm, the soft clamp of g_t's norm (clamp_factor); objective "l2"
    or "dot" (g_t = grad_W -<M_{W0}(k_t), v_t>). Per token t of
    a chunk whose start state is W0 (§2, §9.3, §9.10):

        g_t = grad_W ||M_{W0}(k_t) - v^_t||^2   (times clamp_factor)
        S_t = beta S_{t-1} + eta_t g_t                 (with momentum)
        W_t = alpha_t W_{t-1} - S_t                    (or - eta_t g_t)
        W_t = W_{t-1}(alpha_t I - eta_t u^ u^T) - S_t  (DGD, per map)
        y_t = M_{W_t}(q_t)

    Returns (reads [B, H, T, dv], the final state)."""
    B, H, T, _ = k.shape
    W = dict(W0)
    S = {name: torch.zeros_like(w) for name, w in W.items()}
    outs = []
    for c0 in range(0, T, C):
        c1 = min(c0 + C, T)
        kc, vc = k[:, :, c0:c1], v[:, :, c0:c1]
        if self_values:
            vc = read(W, vc, act, norm)
        g = token_gradients(W, kc, vc, act, norm, objective)
        if clamp is not None:
            f = clamp_factor(g, clamp)
            g = {name: x * f.reshape(*f.shape, *([1] * (x.dim() - 3))) for name, x in g.items()}
        uhat = {name: l2norm(u) for name, u in map_inputs(W, kc, act).items()} if dgd else None
        for t in range(c1 - c0):
            eta = lr if lr_gate is None else lr * lr_gate[:, :, c0 + t, None, None]
            a = alpha if isinstance(alpha, float) else alpha[:, :, c0 + t, None, None]
            for name in W:
                step = eta * g[name][:, :, t]
                if beta is not None:
                    S[name] = beta * S[name] + step
                    step = S[name]
                if dgd:
                    u = uhat[name][:, :, t]
                    Wu = torch.einsum("bhij,bhj->bhi", W[name], u)
                    W[name] = a * W[name] - eta * torch.einsum("bhi,bhj->bhij", Wu, u) - step
                else:
                    W[name] = a * W[name] - step
            outs.append(read(W, q[:, :, c0 + t], act, norm))
    return torch.stack(outs, 2), W


def self_modify(states, x, C, lr, alpha, beta, act=silu, clamp=None):
    """Self-modifying Titans (Hope, NL-A Eqs. 83-89; docs/autodiff.md): per
    chunk, every memory M_i reads x [B, H, T, d] at the chunk-start state;
    the first two reads are the keys k and values v of every memory's
    update, each with its own values v^_i = M_i(v); DGD with momentum and
    constant gates; clamp: clamp_norm on each memory's per-token gradient
    (clamp_factor). Returns the reads, one [B, H, T, out_i] per memory."""
    T = x.shape[2]
    W = [dict(s) for s in states]
    S = [{name: torch.zeros_like(w) for name, w in s.items()} for s in W]
    reads = [[] for _ in W]
    for c0 in range(0, T, C):
        c1 = min(c0 + C, T)
        ys = [read(Wi, x[:, :, c0:c1], act) for Wi in W]
        for i, y in enumerate(ys):
            reads[i].append(y)
        k, v = ys[0], ys[1]
        for i in range(len(W)):
            vhat = read(W[i], v, act)
            g = token_gradients(W[i], k, vhat, act)
            if clamp is not None:
                f = clamp_factor(g, clamp)
                g = {name: y * f.reshape(*f.shape, *([1] * (y.dim() - 3))) for name, y in g.items()}
            uhat = {name: l2norm(u) for name, u in map_inputs(W[i], k, act).items()}
            for t in range(c1 - c0):
                for name in W[i]:
                    S[i][name] = beta * S[i][name] + lr * g[name][:, :, t]
                    u = uhat[name][:, :, t]
                    Wu = torch.einsum("bhij,bhj->bhi", W[i][name], u)
                    W[i][name] = (alpha * W[i][name] - lr * torch.einsum("bhi,bhj->bhij", Wu, u)
                                  - S[i][name])
    return [torch.cat(r, 2) for r in reads]


def initial_state(P, prefix, B):
    """A memory's learned initial state (params `<prefix>.w`, or `.w1` and
    `.w2`, each [H, ...]) broadcast over the batch."""
    names = [n for n in ("w", "w1", "w2") if f"{prefix}.{n}" in P]
    assert names, f"no initial state '{prefix}.*' among the parameters"
    return {n: P[f"{prefix}.{n}"].unsqueeze(0).expand(B, *P[f"{prefix}.{n}"].shape) for n in names}


# ---------------------------------------------------------------------------
# The four example models. P: parameter name -> tensor (nlc's names);
# cfg: H (heads), L (layers), and the chunk sizes; ids [B, T] -> logits.


def transformer(P, ids, cfg):
    """examples/transformer.nl: pre-norm softmax attention + GELU MLP."""
    H = cfg["heads"]
    pre = "transformer_lm.0."
    x = P[pre + "embedding"][ids]
    for i in range(cfg["layers"]):
        p = lambda n: P[f"{pre}layer.{i}.{n}"]
        h = rmsnorm(x, p("norm1"))
        q, k = heads(h @ p("wq"), H), heads(h @ p("wk"), H)
        if cfg.get("rope"):
            q, k = rope(q, cfg["rope"]), rope(k, cfg["rope"])
        a = attention(q, k, heads(h @ p("wv"), H))
        x = x + merge(a) @ p("wo")
        x = x + mlp_block(x, p("norm2"), p("w_up"), p("w_down"), gelu)
    return rmsnorm(x, P[pre + "norm_f"]) @ P[pre + "head"]


def deltanet(P, ids, cfg):
    """examples/deltanet.nl: a matrix memory written by the delta rule as the
    dot objective with dgd(lr = 1) and a per-token rate beta_t =
    sigmoid(h w_beta): M_t = M_{t-1}(I - beta_t k^ k^T) + beta_t v_t k_t^T,
    zero initial state."""
    H = cfg["heads"]
    B = ids.shape[0]
    x = P["embedding"][ids]
    for i in range(cfg["layers"]):
        p = lambda n: P[f"layer.{i}.{n}"]
        h = rmsnorm(x, p("norm1"))
        q = l2norm(heads(silu(conv(h @ p("wq"), p("conv_qk"))), H))
        k = l2norm(heads(silu(conv(h @ p("wk"), p("conv_qk"))), H))
        v = heads(silu(h @ p("wv")), H)
        beta = per_head(torch.sigmoid(h @ p("w_beta")))
        d = k.shape[-1]
        S0 = {"w": torch.zeros(B, H, d, d, dtype=x.dtype)}
        o, _ = memorize(S0, k, v, q, cfg["chunk"]["delta"], 1.0, lr_gate=beta,
                        dgd=True, objective="dot")
        x = x + merge(o) @ p("wo")
        x = x + mlp_block(x, p("norm2"), p("w_up"), p("w_down"), gelu)
    return rmsnorm(x, P["norm_f"]) @ P["head"]


def titans(P, ids, cfg):
    """examples/titans.nl: an MLP memory (learned initial state), L2
    objective, momentum(lr = 0.1, beta = 0.9, clamp_norm = 1.0: the soft
    clamp of each token's inner gradient norm), a per-token rate and a
    per-token retention gate (Titans Eqs. 12-15); cfg["memory_norm"] gives
    the memory an output normalization (check.py --memory-norm)."""
    H = cfg["heads"]
    B = ids.shape[0]
    x = P["embedding"][ids]
    for i in range(cfg["layers"]):
        p = lambda n: P[f"layer.{i}.{n}"]
        h = rmsnorm(x, p("norm1"))
        q = l2norm(heads(silu(h @ p("wq")), H))
        k = l2norm(heads(silu(conv(h @ p("wk"), p("conv_k"))), H))
        v = heads(silu(h @ p("wv")), H)
        eta = per_head(torch.sigmoid(h @ p("w_lr")))
        alpha = per_head(torch.sigmoid(h @ p("w_alpha")))
        M0 = initial_state(P, f"layer.{i}.mem.M.init", B)
        o, _ = memorize(M0, k, v, q, cfg["chunk"]["mem"], 0.1, lr_gate=eta, alpha=alpha, beta=0.9,
                        clamp=1.0, norm=cfg.get("memory_norm"))
        x = x + merge(o) @ p("wo")
        x = x + mlp_block(x, p("norm2"), p("w_up"), p("w_down"), gelu)
    return rmsnorm(x, P["norm_f"]) @ P["head"]


def hope(P, ids, cfg):
    """examples/hope.nl: self-modifying Titans (k, v, eta, alpha from
    memories written every chunk['proj'] tokens: DGD(lr 0.1, beta 0.9),
    retention 0.99), the main memory (DGD with momentum, data-dependent
    rate and retention, self-generated values) and a three-level CMS; every
    memory's per-token gradient clamped to norm 1 (clamp_norm = 1.0)."""
    H = cfg["heads"]
    B = ids.shape[0]
    x = P["embedding"][ids]
    for i in range(cfg["layers"]):
        p = lambda n: P[f"layer.{i}.{n}"]
        h = rmsnorm(x, p("norm_in"))
        xh = heads(conv(h, p("conv_x")), H)
        proj = [initial_state(P, f"layer.{i}.proj.{m}.init", B) for m in ("Mk", "Mv", "Meta", "Malpha")]
        k, v, eta, alpha = self_modify(proj, xh, cfg["chunk"]["proj"], 0.1, 0.99, 0.9, clamp=1.0)
        q = l2norm(heads(h @ p("wq"), H))
        M0 = initial_state(P, f"layer.{i}.mem.M.init", B)
        o, _ = memorize(M0, l2norm(k), v, q, cfg["chunk"]["mem"], 0.1,
                        lr_gate=torch.sigmoid(eta.squeeze(-1)), alpha=torch.sigmoid(alpha.squeeze(-1)),
                        beta=0.9, dgd=True, self_values=True, clamp=1.0)
        x = x + merge(o) @ p("wo")
        for f in ("high", "mid", "low"):
            x = x + mlp_block(x, p(f"n_{f}"), p(f"up_{f}"), p(f"down_{f}"), silu)
    return rmsnorm(x, P["norm_f"]) @ P["head"]


MODELS = {"transformer": transformer, "deltanet": deltanet, "titans": titans, "hope": hope}


# The outer optimizers' clip_norm per example (every parameter of these
# models belongs to the one level 'pretrain').
OUTER_CLIP = {"titans": 1.0}


def level_of(model, name):
    """The outer level that trains a parameter: Hope's CMS MLPs are written
    every few steps (cms_mid, cms_low), everything else every step."""
    if model == "hope" and any(f"_{f}" in name for f in ("mid", "low")):
        return "cms_mid" if "_mid" in name else "cms_low"
    return "pretrain"


# ---------------------------------------------------------------------------
# The outer optimizer (NESTED_LEARNING.md §9.7-9.8, docs/autodiff.md).


class AdamW:
    """AdamW with bias correction and decoupled weight decay, per parameter;
    a level written every `period` steps accumulates the gradient and steps
    on its mean when the step number t is a multiple of the period, with its
    own step count t / period.

    Beside each state it carries a bound on the error that float32
    arithmetic makes in it (running error analysis, unit roundoff u = 2^-24
    per operation, on the magnitudes of the terms summed), so that `step`
    also gives (self.bound) how far a float32 implementation may land from this
    float64 one on the same inputs: Adam divides by sqrt(v), so the bound is
    large exactly where the gradient's entries are small."""

    U = 2.0 ** -24

    def __init__(self, lr=1e-3, beta1=0.9, beta2=0.95, eps=1e-8, weight_decay=0.1, period=1):
        self.lr, self.b1, self.b2, self.eps, self.wd, self.period = lr, beta1, beta2, eps, weight_decay, period
        self.m = self.v = self.acc = None

    def step(self, p, g, t):
        """p, g: tensors (no grad); t: the 1-based outer step. Returns p';
        self.bound is then the float32 rounding bound of p' - p
        (elementwise)."""
        u = self.U
        if self.m is None:
            self.m, self.v, self.acc = (torch.zeros_like(p) for _ in range(3))
            self.em, self.ev, self.eacc = (torch.zeros_like(p) for _ in range(3))
        acc = self.acc + g
        self.eacc = self.eacc + u * acc.abs()
        self.acc = acc
        if t % self.period:
            self.bound = torch.zeros_like(p)
            return p
        g, tl = self.acc / self.period, t // self.period
        eg = self.eacc / self.period + u * g.abs()
        self.acc, self.eacc = torch.zeros_like(p), torch.zeros_like(p)
        b1, b2 = self.b1, self.b2
        m = b1 * self.m + (1 - b1) * g
        v = b2 * self.v + (1 - b2) * g * g
        # Each product and the sum rounded (the constants too: 0.1 and 0.05
        # are not float32 numbers).
        self.em = b1 * self.em + (1 - b1) * eg + 2 * u * (b1 * self.m.abs() + (1 - b1) * g.abs()) + u * m.abs()
        self.ev = (b2 * self.ev + (1 - b2) * (2 * g.abs() * eg + u * g * g)
                   + 2 * u * (b2 * self.v + (1 - b2) * g * g) + u * v)
        self.m, self.v = m, v
        c1, c2 = 1 - b1 ** tl, 1 - b2 ** tl
        mh, vh = m / c1, v / c2
        emh = self.em / c1 + 4 * u * mh.abs()  # the bias corrections: a pow, a subtraction, a division
        evh = self.ev / c2 + 4 * u * vh
        sq = torch.sqrt(vh)
        esq = torch.where(sq > 0, evh / (2 * sq), evh.sqrt()) + u * sq
        den = sq + self.eps
        r = mh / den
        er = emh / den + mh.abs() * (esq + u * den) / den ** 2 + u * r.abs()
        d = self.lr * (r + self.wd * p)
        ed = self.lr * (er + 2 * u * self.wd * p.abs()) + 2 * u * d.abs()
        new = p - d
        # p' is rounded to float32: half an ulp of it.
        self.bound = ed + u * new.abs()
        return new


def clip_grads(grads, clip):
    """clip_norm (NESTED_LEARNING.md §9.8): grads (name -> tensor) of one
    level scaled by min(1, clip / (|g| + 1e-6)), |g| their global L2 norm
    (torch.nn.utils.clip_grad_norm_); clip None leaves them as they are."""
    if clip is None:
        return dict(grads)
    norm = torch.sqrt(sum((g * g).sum() for g in grads.values()))
    scale = torch.clamp(clip / (norm + 1e-6), max=1.0)
    return {n: g * scale for n, g in grads.items()}


def rel_rms(a, ref):
    """Relative RMS error of a against ref: rms(a - ref) / rms(ref) (absolute
    when rms(ref) < 1e-12)."""
    a, ref = a.double(), ref.double()
    num = torch.sqrt(((a - ref) ** 2).mean()).item()
    den = torch.sqrt((ref ** 2).mean()).item()
    return num / den if den > 1e-12 else num
