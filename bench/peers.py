#!/usr/bin/env python3
"""nlc's training throughput beside what a user would run instead, in one run.

Rows (each figure with its baseline measured in the same invocation, the
runs of all rows interleaved --repeats times; the median tokens/s is shown):

  * transformer: `nlc examples/transformer.nl --set d=... --set layers=...
    --set heads=... --set context=... --set batch=...`, `train --threads K`,
    against a plain float32 PyTorch GPT of the same architecture (byte vocab
    256, no positional embedding, pre-norm RMSNorm with a weight and eps 1e-6,
    q/k/v/o projections without bias, causal
    F.scaled_dot_product_attention(is_causal=True), a d -> 4d -> d MLP without
    bias with the tanh form of GELU (nl's `gelu`), a final RMSNorm, an untied
    d -> 256 head), cross-entropy on the next tokens, AdamW(lr 1e-3, betas
    (0.9, 0.95), eps 1e-8, weight decay 0.1 on every parameter, as nl's
    adamw), fused=True where PyTorch supports it on CPU (else foreach); run
    eager and under torch.compile (model and loss compiled together; the
    optimizer step stays eager; the compile time is the first step's wall
    time, excluded from the throughput). At the given configuration and at
    nanoGPT's CPU one (--cpu-context 64 --cpu-batch 12; 0 skips it).
  * titans: examples/titans.nl at the same sizes against titans-pytorch's
    NeuralMemory (PyPI `titans-pytorch`; its version is printed) in a small LM
    of the same width and depth: an embedding, per layer x + NeuralMemory(
    RMSNorm(x)) and x + MLP(RMSNorm(x)) (the MLP as the GPT's), a final
    RMSNorm and head; NeuralMemory(dim=d, chunk_size=16, heads=H,
    dim_head=d/H, pre_rmsnorm=False) with its default memory model (MemoryMLP,
    depth 2, expansion 4: hidden 4 d/H, as nl's `mlp(... hidden = 4 * d /
    heads)`), momentum and learned decay. Two departures from its defaults:
    dim_head (its default, d, would make every head as wide as the model, 4x
    nl's per-head width) and pre_rmsnorm=False (the layer's RMSNorm is in
    front already). Its store uses the library's chunked form (the gradients
    of a chunk's tokens taken at the weights before the sequence, the
    momentum and decay as an associative scan over chunks); nlc's titans.nl
    takes them at the weights before each chunk. AdamW as above, gradients
    clipped at norm 1 (titans.nl's clip_norm = 1.0). Its per-head initial
    memory weights are expanded views (stride 0 over the heads, one storage
    shared by the heads): they are given storage of their own before the
    optimizer is built (fused AdamW crashes on them; foreach AdamW would
    write each head's update into all of them). When titans-pytorch is not
    installed the row prints how to install it and its peer is "not run".
  * hope: examples/hope.nl at the same sizes (fewer steps: --hope-steps,
    --hope-warmup). Its PyTorch peer, kmccleary3301/nested_learning's HOPE
    (`block_variant="hope_selfmod"`), is not on PyPI: it runs only with
    --hope-peer PATH (a checkout; PATH/src is put on sys.path). Its step is
    that repository's training step without online updates: forward, the
    next-token cross-entropy, backward, gradient clip at 1, AdamW as above
    (its LM head is tied to the embedding, as it builds it), then the
    no-grad update pass with the teach signal (the gradient of the mean
    cross-entropy at the hidden state before the head) that writes its
    memories. Chunk sizes as hope.nl's (self_mod_chunk_size 64,
    self_mod_chunk_size_memory 16); CMS levels every 16, 64 and 256 tokens
    (nl's CMS levels are counted in outer steps: the closest, not the same
    schedule).

Also in the same run: NumPy's float32 sgemm (1024 x 1024 x 1024) at one
thread and at --threads (threadpoolctl when installed, else a child process
with OPENBLAS_NUM_THREADS/OMP_NUM_THREADS), measured in each repeat (the
median is shown), and the FLOPs of one training step (forward and backward)
of the PyTorch GPT counted by torch.utils.flop_counter.FlopCounterMode
(matrix products and attention; the causal attention counted whole), which
gives the PyTorch GPT's GFLOP/s and its fraction of sgemm at --threads.
nlc's GFLOP/s come from its own count of each compiled step (`nlc
--emit=flops`, the nl-count-flops pass: products and attention by the same
convention, elementwise ops left out, as FlopCounterMode leaves them out),
for every model; the header prints it beside FlopCounterMode's count of the
GPT, which it should match (the same architecture). The peers' GFLOP/s of
Titans and Hope are not given: their algorithms differ from nlc's (a
titans-pytorch chunk's gradients are taken at the weights before the
sequence), so their FLOPs per token are not nlc's.

On a GPU (--device cuda, the transformer rows only): nlc's `--target=cuda`
build against the same PyTorch GPT on the GPU (eager and torch.compile),
the GPU synchronized before each clock read; no sgemm peak. The machine
with the GPU has no nlc: build the executables here first
(`--prebuilt DIR --build-only`: DIR/<model>-T<context>-B<batch>, with the
shared libraries they load in DIR/lib), carry DIR, and run there with
`--prebuilt DIR` (docs/gpu.md).

Timing: nlc's `train --steps W+N --log-every 1`, tokens/s over the last N
steps from metrics.jsonl's wall_s (the first W are warmup); PyTorch: W
warmup steps, then N steps timed with time.perf_counter, batch sampling
included on both sides (random windows of the text as bytes). Build outputs
go to a temporary directory. Prints the nlc commands and a Markdown table;
--write-results also writes it into docs/results.md between
`<!-- peers.py -->` and `<!-- end peers.py -->` (bench/nl_examples.py's
write_section: the section is appended when absent). Nothing here is a test.

Usage: .venv/bin/python bench/peers.py [--models transformer titans hope]
           [--width 128] [--layers 4] [--heads 4] [--context 256] [--batch 16]
           [--cpu-context 64] [--cpu-batch 12] [--threads 2] [--steps 20]
           [--warmup 3] [--hope-steps 3] [--hope-warmup 1] [--repeats 2]
           [--hope-peer PATH] [--no-compile] [--write-results [--results FILE]]
           [--device cpu|cuda] [--prebuilt DIR [--build-only]]
"""
import argparse
import atexit
import json
import math
import os
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import traceback

from nl_examples import cpu_model, write_section

root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def sgemm_gflops(n=1024, repeat=5):
    """Best of `repeat` float32 n x n x n products by NumPy, in GFLOP/s."""
    import numpy as np
    x = np.random.default_rng(0).standard_normal((n, n), dtype=np.float32)
    x @ x
    best = math.inf
    for _ in range(repeat):
        t0 = time.perf_counter()
        x @ x
        best = min(best, time.perf_counter() - t0)
    return 2 * n ** 3 / best / 1e9


if __name__ == "__main__" and sys.argv[1:2] == ["--sgemm-child"]:
    print(sgemm_gflops())
    sys.exit(0)

import torch  # noqa: E402
import torch.nn as nn  # noqa: E402
import torch.nn.functional as F  # noqa: E402

ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
ap.add_argument("--build", default=os.path.join(root, "build"))
ap.add_argument("--models", nargs="+", choices=["transformer", "titans", "hope"],
                default=["transformer", "titans", "hope"])
ap.add_argument("--width", type=int, default=128)
ap.add_argument("--layers", type=int, default=4)
ap.add_argument("--heads", type=int, default=4)
ap.add_argument("--context", type=int, default=256)
ap.add_argument("--batch", type=int, default=16)
ap.add_argument("--cpu-context", type=int, default=64,
                help="second Transformer configuration (nanoGPT's CPU one); 0 skips it")
ap.add_argument("--cpu-batch", type=int, default=12)
ap.add_argument("--threads", type=int, default=2)
ap.add_argument("--steps", type=int, default=20, help="timed steps")
ap.add_argument("--warmup", type=int, default=3, help="untimed steps before them")
ap.add_argument("--hope-steps", type=int, default=3)
ap.add_argument("--hope-warmup", type=int, default=1)
ap.add_argument("--repeats", type=int, default=2)
ap.add_argument("--hope-peer", metavar="PATH",
                help="a checkout of kmccleary3301/nested_learning (not on PyPI)")
ap.add_argument("--no-compile", action="store_true", help="skip the torch.compile rows")
ap.add_argument("--device", choices=["cpu", "cuda"], default="cpu",
                help="where both sides train (cuda: nlc --target=cuda, the transformer rows)")
ap.add_argument("--prebuilt", metavar="DIR",
                help="nlc executables built before (DIR/<model>-T<context>-B<batch>); "
                     "missing ones are built there")
ap.add_argument("--build-only", action="store_true", help="with --prebuilt: build, then stop")
ap.add_argument("--write-results", action="store_true",
                help="write the table into docs/results.md (section peers.py)")
ap.add_argument("--results", default=os.path.join(root, "docs", "results.md"))
ap.add_argument("--data", default=os.path.normpath(os.path.join(root, "..", "shared", "data", "tinyshakespeare.txt")))
a = ap.parse_args()
if a.device == "cuda" and set(a.models) - {"transformer"}:
    ap.error("--device cuda runs the transformer rows only (the peers of titans and hope "
             "are measured on the CPU)")
if a.build_only and not a.prebuilt:
    ap.error("--build-only needs --prebuilt DIR")

nlc = os.path.join(a.build, "bin", "nlc")
work = tempfile.mkdtemp(prefix="nl-peers-")
atexit.register(shutil.rmtree, work, ignore_errors=True)
torch.set_num_threads(a.threads)
dev = torch.device(a.device)


def sync():
    """Waits for the GPU's queued work (before reading a clock)."""
    if dev.type == "cuda":
        torch.cuda.synchronize()
VOCAB = 256
data = torch.frombuffer(bytearray(open(a.data, "rb").read()), dtype=torch.uint8).long()


def log(msg):
    print(msg, file=sys.stderr, flush=True)


def shown(cmd):
    """A command as run from the repository root, the temporary directory
    written $TMP."""
    text = shlex.join(cmd).replace(work, "$TMP")
    return text.replace(root + os.sep, "").replace(os.path.dirname(root) + os.sep, "../")


# ---------------------------------------------------------------- sgemm peak

try:
    import threadpoolctl
except ImportError:
    threadpoolctl = None


def sgemm_at(threads):
    if threadpoolctl is not None:
        with threadpoolctl.threadpool_limits(limits=threads, user_api="blas"):
            return sgemm_gflops()
    env = dict(os.environ, OPENBLAS_NUM_THREADS=str(threads), OMP_NUM_THREADS=str(threads),
               MKL_NUM_THREADS=str(threads))
    r = subprocess.run([sys.executable, os.path.abspath(__file__), "--sgemm-child"], env=env,
                       capture_output=True, text=True)
    if r.returncode:
        sys.exit(f"sgemm child failed:\n{r.stderr[-2000:]}")
    return float(r.stdout.split()[-1])


# ---------------------------------------------------------------- nlc

def nlc_build(model, context, batch):
    """Compiles examples/<model>.nl at these sizes (for --device); returns
    (exe, command, seconds). With --prebuilt an executable already there is
    used as it is (seconds None)."""
    exe = os.path.join(a.prebuilt or work, f"{model}-T{context}-B{batch}")
    sets = [f"d={a.width}", f"layers={a.layers}", f"heads={a.heads}",
            f"context={context}", f"batch={batch}"]
    cmd = [nlc, os.path.join(root, "examples", f"{model}.nl")]
    cmd += [x for s in sets for x in ("--set", s)] + ["-o", exe]
    if a.device == "cuda":
        cmd.insert(2, "--target=cuda")
    if a.prebuilt and os.path.exists(exe):
        return exe, cmd, None
    log(f"compiling: {shown(cmd)}")
    t0 = time.time()
    r = subprocess.run(cmd, capture_output=True, text=True, cwd=root)
    if r.returncode:
        sys.exit(f"nlc failed on {model}:\n{r.stderr[-3000:]}")
    return exe, cmd, time.time() - t0


def nlc_step_flops(cmd):
    """FLOPs of one nlc training step, as `nlc --emit=flops` counts them
    (nl-count-flops): the products and attention of @train_step, the
    convention of FlopCounterMode (its elementwise ops are left out, as
    FlopCounterMode leaves them out); None where the count fails or is a
    lower bound. `cmd` is the build command (its -o is dropped)."""
    i = cmd.index("-o")
    r = subprocess.run(cmd[:i] + cmd[i + 2:] + ["--emit=flops"], capture_output=True, text=True,
                       cwd=root)
    for line in r.stdout.splitlines():
        if line.startswith("@train_step ") and "lower bound" not in line:
            f = dict(kv.split("=") for kv in line.split()[1:5])
            return int(f["contractions"]) + int(f["attention"])
    log(f"nlc --emit=flops gave no count of @train_step: {r.stderr[-500:]}")
    return None


def nlc_train_cmd(exe, run_dir, warmup, steps):
    return [exe, "train", "--data", a.data, "--run-dir", run_dir, "--steps", str(warmup + steps),
            "--threads", str(a.threads), "--eval-every", "0", "--eval-batches", "1",
            "--log-every", "1"]


def nlc_tokens_per_s(exe, context, batch, warmup, steps, tag):
    """Trains warmup + steps steps in a fresh run directory; tokens/s over
    the last `steps` (from metrics.jsonl's wall_s)."""
    run_dir = tempfile.mkdtemp(prefix=f"run-{tag}-", dir=work)
    r = subprocess.run(nlc_train_cmd(exe, run_dir, warmup, steps), capture_output=True, text=True,
                       cwd=root)
    if r.returncode:
        sys.exit(f"training {exe} failed:\n{r.stderr[-3000:]}")
    with open(os.path.join(run_dir, "metrics.jsonl")) as f:
        wall = {j["step"]: j["wall_s"] for j in map(json.loads, f) if j["split"] == "train"}
    t0 = wall[warmup] if warmup else 0.0
    return steps * batch * context / (wall[warmup + steps] - t0)


# ---------------------------------------------------------------- PyTorch

def make_adamw(params):
    """AdamW as nl's adamw; fused on CPU where this PyTorch has it."""
    params = list(params)
    kw = dict(lr=1e-3, betas=(0.9, 0.95), eps=1e-8, weight_decay=0.1)
    try:
        probe = nn.Parameter(torch.zeros(2, device=dev))
        probe.grad = torch.ones(2)
        torch.optim.AdamW([probe], fused=True, **kw).step()
        return torch.optim.AdamW(params, fused=True, **kw), "fused"
    except (RuntimeError, TypeError, ValueError):
        return torch.optim.AdamW(params, foreach=True, **kw), "foreach"


class MLP(nn.Module):
    def __init__(self, d):
        super().__init__()
        self.up = nn.Linear(d, 4 * d, bias=False)
        self.down = nn.Linear(4 * d, d, bias=False)

    def forward(self, x):
        return self.down(F.gelu(self.up(x), approximate="tanh"))


class Block(nn.Module):
    """examples/transformer.nl's `layer`."""

    def __init__(self, d, heads):
        super().__init__()
        self.heads = heads
        self.norm1 = nn.RMSNorm(d, eps=1e-6)
        self.wq = nn.Linear(d, d, bias=False)
        self.wk = nn.Linear(d, d, bias=False)
        self.wv = nn.Linear(d, d, bias=False)
        self.wo = nn.Linear(d, d, bias=False)
        self.norm2 = nn.RMSNorm(d, eps=1e-6)
        self.mlp = MLP(d)

    def forward(self, x):
        B, T, D = x.shape
        h = self.norm1(x)
        split = lambda y: y.view(B, T, self.heads, D // self.heads).transpose(1, 2)  # noqa: E731
        o = F.scaled_dot_product_attention(split(self.wq(h)), split(self.wk(h)), split(self.wv(h)),
                                           is_causal=True)
        x = x + self.wo(o.transpose(1, 2).reshape(B, T, D))
        return x + self.mlp(self.norm2(x))


class LM(nn.Module):
    """Embedding, `layers` blocks made by `block()`, final RMSNorm, untied head."""

    def __init__(self, d, layers, block):
        super().__init__()
        self.embedding = nn.Embedding(VOCAB, d)
        nn.init.normal_(self.embedding.weight, std=0.02)
        self.blocks = nn.ModuleList(block() for _ in range(layers))
        self.norm_f = nn.RMSNorm(d, eps=1e-6)
        self.head = nn.Linear(d, VOCAB, bias=False)

    def forward(self, ids):
        x = self.embedding(ids)
        for b in self.blocks:
            x = b(x)
        return self.head(self.norm_f(x))


class TitansBlock(nn.Module):
    def __init__(self, NeuralMemory, d, heads):
        super().__init__()
        self.norm1 = nn.RMSNorm(d, eps=1e-6)
        self.mem = NeuralMemory(dim=d, chunk_size=16, heads=heads, dim_head=d // heads,
                                pre_rmsnorm=False)
        self.norm2 = nn.RMSNorm(d, eps=1e-6)
        self.mlp = MLP(d)

    def forward(self, x):
        retrieved, _state = self.mem(self.norm1(x))
        x = x + retrieved
        return x + self.mlp(self.norm2(x))


def batch_of(batch, context, g):
    pos = torch.randint(0, len(data) - context - 1, (batch,), generator=g)
    tokens = torch.stack([data[p:p + context + 1] for p in pos]).to(dev)
    return tokens[:, :-1], tokens[:, 1:]


class TorchRunner:
    """One PyTorch training setup; each call runs warmup + timed steps and
    returns tokens/s. `loss_fn(x, y)` -> (loss, aux); `after(x, aux)`, when
    given, runs after the optimizer step (Hope's update pass)."""

    def __init__(self, model, loss_fn, context, batch, clip=None, after=None):
        self.model, self.loss_fn, self.context, self.batch = model, loss_fn, context, batch
        self.opt, self.adamw = make_adamw(model.parameters())
        self.clip, self.after = clip, after
        self.g = torch.Generator().manual_seed(0)
        self.first_step_s = None  # the first step ever (with torch.compile: the compile)

    def step(self):
        x, y = batch_of(self.batch, self.context, self.g)
        loss, aux = self.loss_fn(x, y)
        self.opt.zero_grad(set_to_none=True)
        loss.backward()
        if self.clip:
            torch.nn.utils.clip_grad_norm_(self.model.parameters(), self.clip)
        self.opt.step()
        if self.after:
            self.after(x, aux)
        return loss

    def __call__(self, warmup, steps):
        for i in range(warmup):
            t0 = time.perf_counter()
            self.step()
            if self.first_step_s is None:
                sync()
                self.first_step_s = time.perf_counter() - t0
        sync()
        t0 = time.perf_counter()
        for _ in range(steps):
            loss = self.step()
        sync()
        dt = time.perf_counter() - t0
        if not math.isfinite(loss.item()):
            raise RuntimeError(f"non-finite loss {loss.item()}")
        return steps * self.batch * self.context / dt


def ce(logits, y):
    return F.cross_entropy(logits.reshape(-1, VOCAB), y.reshape(-1))


def gpt(context, batch, compiled):
    torch.manual_seed(0)
    model = LM(a.width, a.layers, lambda: Block(a.width, a.heads)).to(dev)
    fn = lambda x, y: ce(model(x), y)  # noqa: E731
    if compiled:
        fn = torch.compile(fn, dynamic=False)  # each configuration its own static graph
    return TorchRunner(model, lambda x, y: (fn(x, y), None), context, batch)


def gpt_step_flops(context, batch):
    """FLOPs of one forward + backward of the GPT (FlopCounterMode)."""
    from torch.utils.flop_counter import FlopCounterMode
    torch.manual_seed(0)
    model = LM(a.width, a.layers, lambda: Block(a.width, a.heads)).to(dev)
    x, y = batch_of(batch, context, torch.Generator().manual_seed(0))
    with FlopCounterMode(display=False) as fc:
        ce(model(x), y).backward()
    return fc.get_total_flops()


def own_storage(model):
    """Gives every parameter that is a view with overlapping elements (stride
    0) a contiguous copy of its own. titans-pytorch's per-head initial memory
    weights are `repeat(p, '... -> h ...')`, an expanded view in which the
    heads share one storage: fused AdamW writes it out of bounds (a
    segmentation fault) and foreach AdamW would apply each head's update to
    all of them."""
    for module in model.modules():
        for name, p in list(module._parameters.items()):
            if p is not None and not p.is_contiguous():
                module._parameters[name] = nn.Parameter(p.detach().clone(), requires_grad=p.requires_grad)
    return model


def titans_peer():
    from titans_pytorch import NeuralMemory
    torch.manual_seed(0)
    model = own_storage(LM(a.width, a.layers, lambda: TitansBlock(NeuralMemory, a.width, a.heads)))
    return TorchRunner(model, lambda x, y: (ce(model(x), y), None), a.context, a.batch, clip=1.0)


def hope_peer(path):
    """kmccleary3301/nested_learning's hope_selfmod, trained as its loop does."""
    for p in (os.path.join(path, "src"), path):
        if os.path.isdir(os.path.join(p, "nested_learning")):
            sys.path.insert(0, p)
            break
    from nested_learning.levels import LevelSpec
    from nested_learning.model import HOPEModel, ModelConfig
    torch.manual_seed(0)
    model = HOPEModel(ModelConfig(
        vocab_size=VOCAB, dim=a.width, num_layers=a.layers, heads=a.heads,
        titan_level=LevelSpec(name="titan", update_period=16),
        cms_levels=[LevelSpec(name="cms_fast", update_period=16),
                    LevelSpec(name="cms_mid", update_period=64),
                    LevelSpec(name="cms_slow", update_period=256)],
        block_variant="hope_selfmod", self_mod_chunk_size=64, self_mod_chunk_size_memory=16))

    def loss_fn(x, y):
        # Its loss: the window's logits against its own next tokens.
        logits = model(x)
        return ce(logits[:, :-1], x[:, 1:]), logits.detach()

    def update_pass(x, logits):
        # The teach signal: the gradient of that mean cross-entropy at the
        # hidden state before the (tied) head; then the pass that writes.
        with torch.no_grad():
            r = torch.softmax(logits, -1)
            r[:, -1] = 0
            r[:, :-1].scatter_add_(-1, x[:, 1:, None], torch.full_like(r[:, :-1, :1], -1.0))
            teach = r / (x.shape[0] * (x.shape[1] - 1)) @ model.lm_head.weight
            model(x, teach_signal=teach)

    return TorchRunner(model, loss_fn, a.context, a.batch, clip=1.0, after=update_pass)


# ---------------------------------------------------------------- the run

models = a.models
configs = [(a.context, a.batch)]
if "transformer" in models and a.cpu_context > 0 and (a.cpu_context, a.cpu_batch) not in configs:
    configs.append((a.cpu_context, a.cpu_batch))


def describe(context, batch):
    return (f"d {a.width}, layers {a.layers}, heads {a.heads}, context {context}, "
            f"batch {batch}, threads {a.threads}")


rows = []    # dicts: model, config, context, batch, nlc (job), peer, peer_job, note, flops
jobs = {}    # name -> (callable(), list of tokens/s)
commands = []
notes = []


def job(name, fn):
    jobs[name] = (fn, [])
    return name


for model in models:
    cfgs = configs if model == "transformer" else [(a.context, a.batch)]
    warm, steps = (a.hope_warmup, a.hope_steps) if model == "hope" else (a.warmup, a.steps)
    for context, batch in cfgs:
        exe, cmd, secs = nlc_build(model, context, batch)
        if a.build_only:
            continue
        train = nlc_train_cmd(exe, "RUN_DIR", warm, steps)
        built = f"{secs:.1f} s" if secs is not None else "built beforehand"
        commands.append(f"`{shown(cmd)}` ({built}), then `{shown(train)}`")
        nj = job(f"nlc {model} {context}x{batch}",
                 lambda exe=exe, c=context, b=batch, w=warm, s=steps, t=model:
                 nlc_tokens_per_s(exe, c, b, w, s, t))
        base = dict(model=model, config=describe(context, batch), context=context, batch=batch,
                    nlc=nj, flops=None, nlc_flops=nlc_step_flops(cmd))
        if model == "transformer":
            try:
                base["flops"] = gpt_step_flops(context, batch)
            except Exception as e:  # noqa: BLE001
                log(f"FlopCounterMode failed: {e!r}")
            for compiled in ([False] if a.no_compile else [False, True]):
                label = "PyTorch GPT, float32, " + ("torch.compile" if compiled else "eager")
                r = gpt(context, batch, compiled)
                rows.append(dict(base, peer=label, runner=r,
                                 peer_job=job(f"{label} {context}x{batch}",
                                              lambda r=r, w=warm, s=steps: r(w, s))))
        elif model == "titans":
            try:
                import importlib.metadata
                import titans_pytorch  # noqa: F401
                version = importlib.metadata.version("titans-pytorch")
                label = f"titans-pytorch {version} (NeuralMemory, chunk 16, MLP memory)"
                r = titans_peer()
                rows.append(dict(base, peer=label, runner=r,
                                 peer_job=job(label, lambda r=r, w=warm, s=steps: r(w, s))))
            except ImportError:
                msg = ("titans-pytorch is not installed: `.venv/bin/pip install titans-pytorch` "
                       "to run its row")
                log(msg)
                notes.append(msg)
                rows.append(dict(base, peer="titans-pytorch (NeuralMemory)", peer_job=None,
                                 note="not run (not installed)"))
            except Exception as e:  # noqa: BLE001 (another version's API)
                traceback.print_exc()
                rows.append(dict(base, peer="titans-pytorch (NeuralMemory)", peer_job=None,
                                 note=f"failed to build: {type(e).__name__}"))
        else:
            label = "nested_learning hope_selfmod (kmccleary3301)"
            if a.hope_peer:
                try:
                    r = hope_peer(a.hope_peer)
                    rows.append(dict(base, peer=label, runner=r,
                                     peer_job=job(label, lambda r=r, w=warm, s=steps: r(w, s))))
                except Exception as e:  # noqa: BLE001
                    traceback.print_exc()
                    rows.append(dict(base, peer=label, peer_job=None,
                                     note=f"failed to build: {type(e).__name__}"))
            else:
                rows.append(dict(base, peer=label, peer_job=None,
                                 note="not run (--hope-peer PATH)"))

if a.build_only:
    # The shared libraries the executables load beside them (the GPU
    # machine has no LLVM): scripts/bundle-libs.sh, as device-check.sh.
    exes = [os.path.join(a.prebuilt, f) for f in os.listdir(a.prebuilt)]
    exes = [f for f in exes if os.path.isfile(f) and os.access(f, os.X_OK)]
    subprocess.run(["bash", os.path.join(root, "scripts", "bundle-libs.sh"),
                    os.path.join(a.prebuilt, "lib")] + exes, check=True)
    log(f"peers.py: built into {a.prebuilt}")
    sys.exit(0)

failed = {}
sgemm = {1: [], a.threads: []} if dev.type == "cpu" else {}
for rep in range(a.repeats):
    for t in sgemm:
        sgemm[t].append(sgemm_at(t))
    if sgemm:
        log(f"repeat {rep + 1}/{a.repeats}: sgemm " +
            ", ".join(f"{v[-1]:.1f} GFLOP/s at {t} thread(s)" for t, v in sgemm.items()))
    for name, (fn, out) in jobs.items():
        if name in failed:
            continue
        try:
            out.append(fn())
            log(f"repeat {rep + 1}/{a.repeats}: {name}: {out[-1]:,.1f} tokens/s")
        except Exception as e:  # noqa: BLE001 (a peer that breaks leaves its row empty)
            traceback.print_exc()
            failed[name] = f"failed: {type(e).__name__}"

peak = {t: statistics.median(v) for t, v in sgemm.items()}
unit = f"of sgemm at {a.threads}" if peak else "no sgemm peak on the GPU"


def tps(name):
    return statistics.median(jobs[name][1]) if name and jobs[name][1] else None


def flops_text(row, value, key="flops"):
    """GFLOP/s of `value` tokens/s at the row's FLOPs per step (`key`: the
    peer's, counted by FlopCounterMode, or nlc's own count)."""
    if value is None or not row.get(key):
        return "-"
    g = row[key] * value / (row["batch"] * row["context"]) / 1e9
    return f"{g:.1f} ({100 * g / peak[a.threads]:.1f} %)" if peak else f"{g:.1f}"


table = ["| model | configuration | nlc tok/s | peer | peer tok/s | nlc / peer "
         f"| nlc GFLOP/s ({unit}) | peer GFLOP/s ({unit}) |",
         "| --- | --- | --- | --- | --- | --- | --- | --- |"]
extra = []
for row in rows:
    n, p = tps(row["nlc"]), tps(row["peer_job"])
    nt = f"{n:,.1f}" if n else failed.get(row["nlc"], "-")
    if p:
        pt = f"{p:,.1f}"
    else:
        pt = failed.get(row["peer_job"], row.get("note", "-"))
    ratio = f"{n / p:.2f}x" if n and p else "-"
    table.append(f"| {row['model']} | {row['config']} | {nt} | {row['peer']} | {pt} | {ratio} "
                 f"| {flops_text(row, n, 'nlc_flops')} | {flops_text(row, p)} |")
    r = row.get("runner")
    if r is not None and "torch.compile" in row["peer"] and r.first_step_s is not None:
        extra.append(f"torch.compile at context {row['context']}, batch {row['batch']}: "
                     f"first step {r.first_step_s:.1f} s (the compile, with inductor's on-disk "
                     "cache of earlier runs; not in the tokens/s)")

adamw = sorted({row["runner"].adamw for row in rows if row.get("runner") is not None})
flops = sorted({(row["context"], row["batch"], row["flops"]) for row in rows if row["flops"]})
header = [
    f"{a.repeats} interleaved repeat(s), median tokens/s; {a.warmup} warmup + {a.steps} timed steps"
    + (f" (Hope: {a.hope_warmup} + {a.hope_steps})" if "hope" in models else "")
    + f"; {a.threads} thread(s) on {os.cpu_count()} CPU(s) ({cpu_model()}); "
    + (f"on the GPU ({torch.cuda.get_device_name()}): nlc --target=cuda, PyTorch on cuda; "
       if dev.type == "cuda" else "")
    + f"torch {torch.__version__}"
    + (f", AdamW {'/'.join(adamw)}" if adamw else "") + ".",
]
if peak:
    header.append("NumPy sgemm (1024^3, float32): " + ", ".join(
        f"{peak[t]:.1f} GFLOP/s at {t} thread(s)" for t in sorted(peak)) + ".")
for context, batch, f in flops:
    header.append(f"FLOPs of one GPT training step (forward + backward, FlopCounterMode) at context "
                  f"{context}, batch {batch}: {f / 1e9:.3g} GFLOP ({f / (context * batch) / 1e6:.3g} "
                  "MFLOP/token).")
counted = {}
for row in rows:
    if row.get("nlc_flops"):
        counted[(row["model"], row["context"], row["batch"])] = row
for (model, context, batch), row in sorted(counted.items()):
    f = row["nlc_flops"]
    line = (f"FLOPs of one nlc training step of {model} at context {context}, batch {batch} "
            f"(`nlc --emit=flops`: products and attention): {f / 1e9:.4g} GFLOP "
            f"({f / (context * batch) / 1e6:.3g} MFLOP/token)")
    if row["flops"]:
        line += (f"; FlopCounterMode on the PyTorch GPT: {row['flops'] / 1e9:.4g} GFLOP "
                 f"(nlc's count / it: {f / row['flops']:.4f})")
    header.append(line + ".")
header += [e + "." for e in extra] + notes

text = "\n".join(header) + "\n\nnlc commands (from the repository root; $TMP a temporary directory):\n\n" + "\n".join(f"- {c}" for c in commands) \
    + "\n\n" + "\n".join(table) + "\n"
print("\n" + text)

if a.write_results:
    argv = " ".join(shlex.quote(x) for x in sys.argv[1:] if x != "--write-results")
    body = ("<!-- peers.py -->\n## nlc against what a user would run instead\n\n"
            f"Generated by `.venv/bin/python bench/peers.py {argv}` (do not edit by hand).\n\n"
            + text + "<!-- end peers.py -->\n")
    write_section(a.results, "peers.py", body)
    log(f"peers.py: wrote its section of {a.results}")
else:
    log(f"peers.py: {a.results} not written (pass --write-results to write its section)")
