//===- Passes.td - passes of the nl dialect ---------------*- tablegen -*-===//

#ifndef NL_TRANSFORMS_PASSES_TD
#define NL_TRANSFORMS_PASSES_TD

include "mlir/Pass/PassBase.td"

def NLPrintLevels : Pass<"nl-print-levels", "::mlir::ModuleOp"> {
  let summary = "Print the level tree of every nl.model: frequencies, state, optimizers";
  let description = [{
    An analysis pass that leaves the IR unchanged and prints, for every
    `nl.model`, its levels from slowest to fastest as an indented tree: each
    level's update frequency, its state (parameters and memories, with their
    scalar counts), its inner objective, its optimizer and its retention.
    Output goes to stderr, or to the file named by `output`.

    ```
    nl-opt --nl-print-levels hope.mlir -o /dev/null
    ```
  }];
  let options = [
    Option<"output", "output", "std::string", /*default=*/"\"-\"",
           "File to print to ('-' for stderr)">,
  ];
}


def NLCountFlops : Pass<"nl-count-flops", "::mlir::ModuleOp"> {
  let summary = "Print the floating-point operations of one call of each public function";
  let description = [{
    An analysis pass on linalg (on tensors or buffers) that leaves the IR
    unchanged and prints, for every public function (a model's entry points:
    `train_step`, `loss`, `loss_grad`, `logits`, ...), the floating-point
    operations of one call, in three parts:

    - `contractions`: the multiplies of two operands over the whole
      iteration space of a linalg op with a reduction dimension, and the
      adds that accumulate them: 2 per multiply-add, the convention of
      `torch.utils.flop_counter` (products and their gradients, the fused
      memory updates' chunk products);
    - `attention`: `nl.attention_kernel` and `nl.attention_grad_kernel`
      (the runtime's fused kernels) as `torch.utils.flop_counter` counts
      scaled dot-product attention: the whole T x S score matrix, causal or
      not, 2 B H T S (dk + dv) forward (Q K^T and P V) and
      2 B H T S (3 dk + 2 dv) backward (the scores recomputed, dQ, dK, dP,
      dV);
    - `elementwise`: every other float `arith` or `math` op of a linalg
      body (not casts, constants or selects), once per point of the loops
      it depends on: an elementwise producer fused into a product (a
      normalization in front of a projection) counts at its own size.

    A call counts its callee's operations; a loop (`scf.for`, `scf.forall`,
    `scf.parallel`) multiplies its body by its trip count; of an `scf.if`,
    the costlier branch counts. A loop without a static trip count, a linalg
    op with dynamic sizes or a call of a function without a body is
    counted once (or not at all) and warned about at its location; the
    line then says `(lower bound)`.

    One line per public function, to stderr or to the file named by
    `output`:

    ```
    @train_step contractions=27112013824 attention=... elementwise=... total=...
    ```

    `nlc model.nl --emit=flops` prints this for a model's entry points
    (bench/peers.py divides it by the step time: GFLOP/s).

    With `to-manifest`, nothing is printed or warned about: the counts go
    into the module's `nl.manifest` (the JSON that nl-export-entry-points
    writes) as `"flops": {"train_step": {"contractions": N, "attention": N,
    "elementwise": N, "lower_bound": false}, ...}`, from which an
    executable's `info` and `train` (metrics.jsonl's `gflop_per_s`) report
    the training step's arithmetic (a module without `nl.manifest` is left
    alone). The CPU and cuda pipelines run it so right after the nl ->
    linalg stage.
  }];
  let options = [
    Option<"output", "output", "std::string", /*default=*/"\"-\"",
           "File to print to ('-' for stderr)">,
    Option<"toManifest", "to-manifest", "bool", /*default=*/"false",
           "Record the counts in the module's nl.manifest instead of "
           "printing them">,
  ];
}

def NLGenerateGradients : Pass<"nl-generate-gradients", "::mlir::ModuleOp"> {
  let summary = "Add a gradient function for every function marked nl.differentiate";
  let description = [{
    For every `func.func @f` with the unit attribute `nl.differentiate` and
    one rank-0 float result (a loss), adds `func.func @f_grad` with the same
    arguments that returns the loss followed by its gradient with respect to
    each float tensor argument, in order (integer arguments such as token ids
    get none). The gradient is built by reverse mode (the
    `DifferentiableOpInterface` VJPs of every op on the path), so it is made
    of nl ops and can be differentiated again.

    ```mlir
    func.func @f(%x: tensor<3xf64>) -> tensor<f64> attributes {nl.differentiate}
    // becomes, beside @f:
    func.func @f_grad(%x: tensor<3xf64>) -> (tensor<f64>, tensor<3xf64>)
    ```

    With `nl.differentiate = 2` it also adds `@f_dir(x..., c...)`, the
    directional derivative Σ_i sum(∂f/∂x_i ⊙ c_i), and its gradient
    `@f_dir_grad`: differentiating reverse mode's own output checks every
    VJP of a VJP (grad of grad, which training through inner updates needs).
  }];
  let dependentDialects = ["::mlir::arith::ArithDialect",
                           "::mlir::tensor::TensorDialect"];
}


def DeriveInnerUpdates : Pass<"derive-inner-updates", "::mlir::ModuleOp"> {
  let summary = "Replace every nl.memorize and nl.self_modify by its update rule, derived from the inner objective";
  let description = [{
    For each `nl.memorize`, builds the memory level's update explicitly, chunk
    by chunk (chunk size C = the level's frequency in tokens; a ragged last
    chunk is flushed with the same rule): per-token gradients of the inner
    objective at the chunk-start state, by reverse mode; the inner learning
    rate η_t = lr · lr(...); momentum S_t = β_t S_{t-1} + η_t g_t
    (`nl.linear_scan`); retention W_t = α_t W_{t-1} − S_t, or the DGD factor
    W_{t-1}(α_t I − η_t û ûᵀ) per linear map (`nl.matrix_scan`); then the
    read y_t = W_t(q_t). Closed forms it reproduces: `dot` on a matrix
    memory with gd is the Hebbian rule W_t = α_t W_{t-1} + η_t v_t k_tᵀ;
    `l2` is the delta rule W_t = W_{t-1} − 2 η_t (W_{t-1} k_t − v_t) k_tᵀ
    (exact at C = 1; at C > 1 the gradient is taken at the chunk start);
    with a gate it is the gated delta rule; `momentum` + `decay` is Titans
    (Eqs. 13–14). `local lambda = L` retention scales η to η / (1 + 2 L η)
    (its proximal step). A `custom` objective's region, written for one
    token, is applied to every token of the chunk at once (its `sum` and
    `mean` reduce each token's values) and differentiated the same way; it
    must read the memory as M(k), and other reads or ops of M(k), k or v
    without a per-token meaning are refused at the op.

    `nl.self_modify` (Hope's self-modifying Titans): per chunk, every memory
    of the level reads the input at the chunk-start state; the first two
    reads are the keys and values of every memory's update (each memory
    generating its own values M_i(v)); the reads are the results.

    Memory-typed initial-state params are split into tensor params
    (`<name>.w`, or `<name>.w1` and `<name>.w2` for MLP memories, shape
    [H, ...]), and the memory levels are erased. See
    docs/autodiff.md for the full rule and its sources.

    The chunked parallel form (`dual-form`, on by default): for a matrix or
    MLP memory, each linear map's per-token gradient at the chunk-start
    state is an outer product u_t x_tᵀ, so the scans unroll into
    W_t = A_t W0 − a_t M0 − Σ_{s≤t} D_{ts} u_s x_sᵀ (A, a, D: products and
    sums of the gates over the chunk, from scans of n-vectors) and every
    read of the chunk is a few matmuls, O = A ⊙ (P W0ᵀ) − a ⊙ (P M0ᵀ) −
    (D ⊙ (P Xᵀ)) U, without the n per-token states of the scans. dgd adds
    − Σ_{s≤t} Pα_{ts} η_s w_s û_sᵀ with w_t = W_{t−1} û_t, the solution of
    one unit lower-triangular system per chunk (the WY / UT form of the
    chunked delta rule, inverted by recursive doubling in matmuls);
    self-generated values are the memory's reads at the chunk-start state.

    Each chunk is an `nl.checkpoint` region (unless `checkpoint=false`):
    reverse mode keeps the memory state at chunk boundaries only and
    recomputes a chunk's per-token states in the backward pass.

    In a stream function (`nl.stream` = "decode" or "prefill", built by the
    frontend; docs/streaming.md) each memory's state is an argument and a
    result instead, with `nl.stream = {name, init, ...}`: the current state
    `<level>.<memory>.<w>`, the chunk-start state `.start` (`commit_from`
    the current state, `every` C tokens) and the momentum `.mom`. `decode`
    (one token) takes the token's gradient at the chunk-start state and
    writes the current state with the scans, returning the chunk-start
    state unchanged (the runtime commits it at chunk boundaries); `prefill`
    runs whole chunks from the current state and returns the chunk-end
    state as both. Errors: a prefill that is not whole chunks of a level.
  }];
  let options = [
    Option<"checkpoint", "checkpoint", "bool", /*default=*/"true",
           "Wrap each chunk in an nl.checkpoint region (recomputed in the "
           "backward pass)">,
    Option<"dualForm", "dual-form", "bool", /*default=*/"true",
           "Derive the chunks of matrix and MLP memories in their chunked "
           "parallel form: n x n token-mixing matrices and matmuls instead "
           "of per-token states (false: the per-token scans)">,
  ];
  let dependentDialects = ["::mlir::arith::ArithDialect",
                           "::mlir::tensor::TensorDialect"];
}


def BuildTrainStep : Pass<"build-train-step", "::mlir::ModuleOp"> {
  let summary = "Build the outer loss, its gradient through the inner updates, and the training step";
  let description = [{
    For every `nl.model` whose `@step` has been through
    `derive-inner-updates`, replaces `@step` by:

    * `@loss(params..., data...) -> loss`: every trainable parameter
      (`nl.param` of a level written every step, in declaration order,
      including the memories' initial states and the weights producing keys,
      values and gates) becomes a leading argument (`nl.param = @level::@p`);
    * `@loss_grad(params..., data...) -> (loss, grads...)`: reverse mode
      through every derived inner update, across chunks;
    * `@train_step(params..., state..., t, lr_scale, fires..., data...) ->
      (loss, params'..., state'...)`: the outer optimizer of each
      parameter's level (its learning rate times `lr_scale`, argument
      `nl.lr_scale`, so that the runtime can set, warm up and schedule it),
      appended as
      the slowest level's step: gd, momentum (m = β m − lr g; p += m), adam
      or adamw (bias-corrected with the step number t ≥ 1; adamw decays
      decoupled), delta_momentum (one scalar memory per entry),
      delta_momentum_matrix (a matrix memory, NL-N Eq. 22 as written), muon
      (m = β m + g; matrices move along the
      Newton–Schulz orthogonalization of m, NL Eq. 24), m3 (docs/optimizers.md
      has every rule), or a custom optimizer whose
      momentum is a `matrix(1 -> 1)` memory, one scalar per entry read at
      the key g against the value −1 (M(k) = m g), with any objective:
      `dot` is momentum (NL Eqs. 17–19), `l2` delta momentum (NL-N Eq. 22),
      `huber`, `lp` or a written one per entry (its update derived from the
      objective by reverse mode).
      State arguments are named `nl.state = "<param>.m"`/`".v"`.

    A level written every S > 1 steps (CMS, NESTED_LEARNING.md §9.7)
    accumulates its parameters' gradients every step (state `"<p>.acc"`) and
    steps on their mean when its flag argument `nl.fire = @level` is 1 (the
    runtime counts steps); its own step count is t / S.

    The stream functions (`nl.stream`, docs/streaming.md) take every
    parameter as a leading argument too, and `@stream_init(params...) ->
    state...` is added: the stream state before the first token, in the
    order of `@decode`'s `nl.stream` arguments, each its `init` (a memory's
    learned initial state broadcast over the batch, or zeros).

    Errors: memories not yet derived, outer optimizers other than gd,
    momentum, adam and adamw.
  }];
  let dependentDialects = ["::mlir::arith::ArithDialect",
                           "::mlir::tensor::TensorDialect",
                           "::mlir::func::FuncDialect"];
}

def FuseMemoryUpdates : Pass<"fuse-memory-updates", "::mlir::ModuleOp"> {
  let summary = "Run each chunk of a memory update as one kernel per (batch, head) slice, in parallel";
  let description = [{
    A derived memory update (`derive-inner-updates`) is a chain of
    `nl.checkpoint` regions, one per chunk, each computing read + inner
    gradient + momentum + retention + write for every sequence of the batch
    and every head at once: each op of the chunk sweeps the whole
    `[B, H, ...]` state (at width 128, batch 16, the per-token states of one
    chunk are tens of MB), so the state leaves the cache between ops.

    Every memory is independent across batch rows and heads, so this pass
    rewrites the body of each chunk (a checkpoint whose operands and results
    all have the leading dims `[B, H]` and whose body only mixes values
    within one `(b, h)` slice) into an `scf.forall` over `(b, h)` around the
    same chunk on `[1, 1, ...]` slices:

    ```mlir
    %r:2 = nl.checkpoint(%w, %k) : (tensor<16x4x32x32xf32>, ...) -> ... {
    ^bb0(%w0: tensor<16x4x32x32xf32>, %k0: ...):
      %f:2 = scf.forall (%b, %h) in (16, 4) shared_outs(%o0 = %e0, %o1 = %e1) {
        %ws = tensor.extract_slice %w0[%b, %h, 0, 0] [1, 1, 32, 32] [1, 1, 1, 1]
        ...
        %c:2 = nl.checkpoint(%ws, %ks) : (tensor<1x1x32x32xf32>, ...) -> ... {
          // the old body, on one slice
        }
        scf.forall.in_parallel { tensor.parallel_insert_slice %c#0 into %o0[...] ... }
      }
      nl.yield %f#0, %f#1
    }
    ```

    One slice's state, momentum and per-token states stay in cache for the
    whole chunk (one fused kernel per chunk and slice); the `B × H`
    iterations are independent, so `nl-lower-to-llvm{openmp}` runs them on
    threads (`scf.forall` → `scf.parallel` → OpenMP). The forward and the
    backward chunks (the checkpoints that reverse mode builds) are both
    rewritten. Run it after `build-train-step` (reverse mode does not
    differentiate `scf.forall`) and before `nl-outline-checkpoints`, which
    makes each distinct chunk (loop and slice kernel) one function.

    A chunk is left as it is (counted in `chunks-left`; with `remarks`, a
    remark on the chunk says why) when an
    operand or result lacks the leading `[B, H]` dims, when `B × H = 1`, or
    when its body holds an op that could mix slices (a reduction over the
    batch or heads, a slice or pad of dims 0 or 1, an op the pass does not
    know).
  }];
  let statistics = [
    Statistic<"numFused", "chunks-fused", "Chunks rewritten into a loop over (batch, head) slices">,
    Statistic<"numLeft", "chunks-left", "Chunks left unfused">,
  ];
  let options = [
    Option<"remarks", "remarks", "bool", /*default=*/"false",
           "Emit a remark on every chunk left unfused, with the reason">,
  ];
  let dependentDialects = ["::mlir::scf::SCFDialect",
                           "::mlir::tensor::TensorDialect",
                           "::mlir::arith::ArithDialect"];
}

def ScheduleLevels : Pass<"schedule-levels", "::mlir::ModuleOp"> {
  let summary = "Run each level's chunks as a loop: state carried across chunks, outputs written in place";
  let description = [{
    `derive-inner-updates` writes a memory level's update frequency as
    ⌈T/C⌉ chunks in straight line (NESTED_LEARNING.md §9), and reverse mode
    adds as many backward chunks; after `nl-outline-checkpoints` each chunk
    is a call. This pass turns that schedule into loops:

    1. A chunked output assembled as a sum of zero paddings (the forward
       reads, `y = pad(y_0, 0) + pad(y_1, C) + ...`, and the adjoints of
       the per-chunk slices of keys, values and gates) becomes a chain of
       `tensor.insert_slice` into one zero tensor. The windows are
       disjoint, so the result is bit for bit the same; the cost falls
       from a `[B, H, T, ...]` temporary and add per chunk (O(T²/C)) to one
       buffer written in place (O(T)).
    2. A chain of calls to one chunk function, where each call reads the
       state (memory, momentum, or their adjoints) that the previous call
       returns, becomes an `scf.for` over the chunks:

       ```mlir
       %r:3 = scf.for %i = %c0 to %c15 step %c1
           iter_args(%w = %w0, %y = %zeros, %s = %empty) -> (...) {
         %off = arith.addi %c0, (%i * 16)
         %k = tensor.extract_slice %keys[0, 0, %off, 0] [8, 4, 16, 32] [1, 1, 1, 1]
         %c:2 = func.call @loss.chunk1(%w, %k) : ...
         %y2 = tensor.insert_slice %c#1 into %y[0, 0, %off, 0] [8, 4, 16, 32] [1, 1, 1, 1]
         %s2 = tensor.insert_slice %c#0 into %s[%i, 0, 0, 0] [1, 8, 4, 32, 32] [1, 1, 1, 1, 1]
         scf.yield %c#0, %y2, %s2 : ...
       }
       ```

       The iterations are matched op for op: a value read by every chunk
       is loop-invariant; a value that differs only by an offset in
       arithmetic progression (a slice at `i * C`, or at `(n - 1 - i) * C`
       in the backward pass) is sliced at a computed offset; the previous
       chunk's result is an `iter_args` value; accumulations of the
       chunks' outputs (insertions or sums) are carried. Chunk results
       read after the loop (the chunk-start states that the backward pass
       recomputes from) are stacked into one `[n, ...]` tensor. When the
       whole chain does not match (the first and last chunks are often
       special: a zero initial adjoint, a ragged tail), the longest run
       that does is rolled.

    The arithmetic is unchanged (the same ops in the same order), so a
    rolled and an unrolled executable train to the same weights. The code
    to compile shrinks by about the number of chunks per level.

    Run it after `nl-outline-checkpoints` (rolling looks for calls); part
    1 alone applies anywhere (it is the first step of `nl-lower-to-llvm`
    after `fuse-memory-updates`).
  }];
  let options = [
    Option<"rollChunks", "roll-chunks", "bool", /*default=*/"true",
           "Roll chains of chunk calls into scf.for loops (part 2)">,
    Option<"remarks", "remarks", "bool", /*default=*/"false",
           "Emit a remark on every chain of chunk calls left unrolled, with "
           "the reason">,
  ];
  let statistics = [
    Statistic<"numLoops", "loops", "Chains of chunk calls rolled into loops">,
    Statistic<"numChunksRolled", "chunks-rolled", "Chunk calls moved into loops">,
  ];
  let dependentDialects = ["::mlir::scf::SCFDialect",
                           "::mlir::tensor::TensorDialect",
                           "::mlir::arith::ArithDialect",
                           "::mlir::func::FuncDialect"];
}

def VectorizeContractions : Pass<"nl-vectorize-contractions", "::mlir::ModuleOp"> {
  let summary = "Register-tiled, vectorized matrix products for the CPU, through the transform dialect";
  let description = [{
    The CPU code-generation strategy of nlc's matrix products, on linalg on
    tensors (after `convert-nl-to-linalg` and elementwise fusion, before
    bufferization). Every 2-D product `out[m, n] += lhs[m, k] rhs[k, n]`
    (a `linalg.generic` contraction on static f32 shapes: the per-slice
    matmuls of the fused chunk kernels, the projections and their
    gradients) whose M, N and K the tile sizes divide becomes a
    `linalg.matmul`. Products of the same shape share one private function
    `nl.matmul_kernel*` (lhs, rhs, init) -> result holding one
    `linalg.matmul` marked `nl.vectorize`, called in their places (Hope has
    825 products of a few dozen shapes), so that the strategy runs, and
    LLVM compiles, each shape once. A product whose init is a
    `linalg.fill` of +0 (most of them: every product that starts from zero)
    passes the fill's destination unfilled to a kernel of its own,
    `nl.matmul_kernel_zero*`, which holds the fill: each accumulator block
    then starts as a zero vector in registers instead of a fill of the
    whole result in memory and a read of it. Then a transform-dialect
    script (applied with the transform interpreter) to each kernel's
    product:

    1. `transform.structured.fuse` with tile sizes [`tile-m`, `tile-n`, 0]
       (the kernel's fill, if any, fused into the block loops), then
       `transform.structured.tile_using_for` with [0, 0, `tile-k`];
    2. `transform.structured.vectorize_children_and_apply_patterns` on the
       kernel function (the block product becomes `vector.contract`);
    3. `transform.loop.hoist_loop_invariant_subsets`: the `tile-m x tile-n`
       accumulator block is read once before the K loop (or is the fill's
       zero vector) and written once after it, living in vector registers
       in between;
    4. `vector.contract` lowered to outer products, and those to FMAs of a
       broadcast lhs element with a row of rhs.

    With the defaults (8 x 32 x 4, f32) the accumulators are 16 AVX-512
    registers. A product whose N the wide tile does not divide but
    `tile-n-narrow` does (Hope's and Titans' products over a chunk of 16
    tokens: N = 16) gets the narrow tile, 8 x 16 x 4, in kernels of its
    own (marked `nl.vectorize_narrow`). Products the tiles do not divide
    keep their loops (the innermost along contiguous rows, vectorized by
    LLVM, one multiply and one add per element and step). The arithmetic is
    reordered only within each sum over k (each output element is still
    accumulated in k order).
  }];
  let options = [
    Option<"tileM", "tile-m", "int64_t", /*default=*/"8",
           "Rows of the result per register block">,
    Option<"tileN", "tile-n", "int64_t", /*default=*/"32",
           "Columns of the result per register block (a multiple of the "
           "vector width)">,
    Option<"tileK", "tile-k", "int64_t", /*default=*/"4",
           "Steps of the reduction per vector.contract">,
    Option<"tileNNarrow", "tile-n-narrow", "int64_t", /*default=*/"16",
           "Columns of the result per register block for the products "
           "whose N tile-n does not divide (0: none)">,
  ];
  let statistics = [
    Statistic<"numVectorized", "products-vectorized",
              "Matrix products given the register-tiled strategy">,
    Statistic<"numNarrow", "products-vectorized-narrow",
              "Matrix products given the narrow tile (tile-n-narrow)">,
    Statistic<"numKernels", "kernels",
              "Kernel functions kept (one per distinct body)">,
  ];
}

def FuseElementwise : Pass<"nl-fuse-elementwise", "::mlir::ModuleOp"> {
  let summary = "Elementwise fusion of linalg ops (upstream's patterns) that keeps matrix products plain";
  let description = [{
    The patterns of upstream's `linalg-fuse-elementwise-ops` (elementwise
    producer-consumer fusion, reshapes folded by expansion, the linalg
    canonicalizations, constant folding), with one more condition on what
    fuses. Upstream fuses an elementwise producer with one use into any
    consumer, reductions included. When the consumer is a matrix product
    that reads the producer's result through a broadcast (the product's
    input is `silu(h)` or `rmsnorm(x)`: the producer's map misses the
    product's output column), the fused body evaluates the producer once
    per column, and the product is no longer a plain multiply-add: neither
    `nl-vectorize-contractions` (register tiles) nor
    `convert-contractions-to-blas` (BLIS) takes it, and it runs as a
    row-by-row loop. In Hope this kept a quarter of the arithmetic of the
    self-modifying level's forward chunk (the second product of each MLP
    memory) and every CMS down projection off both.

    A producer is therefore kept apart (its result one more tensor) when its
    consumer has a reduction loop and reads it through a map that is not a
    permutation of the consumer's loops. Fusing into a reduction through a
    permutation (a sum of squares, a dot product) computes nothing twice
    and still fuses. Everything else is upstream's rule: a producer with one
    use.
  }];
  let statistics = [
    Statistic<"numKeptApart", "kept-apart",
              "Refusals of a fusion into a reduction through a broadcast "
              "(the greedy driver may ask more than once per pair)">,
  ];
  let dependentDialects = ["::mlir::linalg::LinalgDialect",
                           "::mlir::tensor::TensorDialect",
                           "::mlir::affine::AffineDialect"];
}

def FuseMultiUseElementwise : Pass<"nl-fuse-multi-use-elementwise", "::mlir::ModuleOp"> {
  let summary = "Fuse elementwise linalg.generic producers that have several uses into their elementwise consumers";
  let description = [{
    `linalg-fuse-elementwise-ops` fuses a producer into its consumer only
    when the consumer is the producer's one use. An optimizer's step
    (`build-train-step`) writes its new state (momentum m, second moment v)
    as results *and* reads it to move the parameter, so upstream fusion
    leaves one loop per state tensor plus one for the parameter: AdamW
    reads the gradient twice and the new m and v back again, 10 N floats
    moved per parameter of N entries instead of 7 N.

    This pass applies the same upstream patterns
    (`linalg::populateElementwiseOpsFusionPatterns`) to producers with
    several uses, where the fused op computes the producer's payload once
    and also yields its result for the other uses, so that nothing is
    computed twice. A producer is fused when:

    - producer and consumer are `linalg.generic`s with only parallel loops
      in the same block;
    - the consumer reads the producer's result through a permutation map
      (never a broadcast: that would recompute the producer per broadcast
      element);
    - every other use of the producer comes after the consumer in the block
      (so the fused op's result dominates it);
    - the consumer reads no other result of the producer (which would become
      a use of the fused op's own result).

    After it, each parameter's optimizer update is one loop reading the
    parameter, its gradient and its state once and writing the new
    parameter and state once (test/Transforms/fuse-multi-use-elementwise.mlir;
    bench/optimizer_bandwidth.py measures it).
  }];
  let statistics = [
    Statistic<"numFused", "producers-fused",
              "Elementwise producers with several uses fused into a consumer">,
  ];
  let dependentDialects = ["::mlir::linalg::LinalgDialect"];
}

def DistinctResults : Pass<"nl-distinct-results", "::mlir::ModuleOp"> {
  let summary = "Give every result of a function its own tensor before bufferization";
  let description = [{
    Two parameters can have the same gradient (`y = x * (u + z)`: the
    gradients of `u` and `z` are one value after CSE), so the training step
    may return one tensor in two result positions. Bufferized with results
    as out-parameters (`buffer-results-to-out-params{hoist-static-allocs}`),
    such a function has one allocation for two out-parameters, which that
    upstream pass does not handle (it crashed in MLIR 22).

    This pass replaces every `func.return` operand that an earlier operand
    of the same return already holds by a `linalg.copy` of it into a fresh
    `tensor.empty`, so that each result bufferizes to its own buffer. It
    runs just before `one-shot-bufferize` (after the last canonicalization,
    which would fold the copy). Numbers are unchanged.

    ```mlir
    return %g, %g : tensor<8xf32>, tensor<8xf32>
    // becomes
    %e = tensor.empty() : tensor<8xf32>
    %c = linalg.copy ins(%g : tensor<8xf32>) outs(%e : tensor<8xf32>) -> tensor<8xf32>
    return %g, %c : tensor<8xf32>, tensor<8xf32>
    ```
  }];
  let dependentDialects = ["::mlir::linalg::LinalgDialect",
                           "::mlir::tensor::TensorDialect"];
}

def UpdateInPlace : Pass<"nl-update-in-place"> {
  let summary = "Let an elementwise update of a loop-carried tensor write into the tensor it reads";
  let description = [{
    A scan over the tokens of a chunk (`acc = a_t * acc + x_t`, a
    momentum or a normalizer carried from token to token) is an `scf.for`
    whose iteration argument the body reads once, through reshapes, into
    an elementwise `linalg.generic` whose result, through reshapes, is
    yielded back in the same position. The generic writes into a fresh
    `tensor.empty`, so one-shot bufferization allocated a new buffer on
    every iteration (and freed the previous one): 16 allocations per scan
    and chunk.

    This pass makes such a generic's init the input it reads the
    iteration argument through, when the generic is all parallel, its
    payload does not read its init, that input has the init's type and
    indexing map, the iteration argument reaches the generic through
    reshapes that have no other use, the generic's result reaches the
    yield through reshapes (other uses of it read the new value in the
    same iteration), and the loop's initial value is computed in the
    function, not a function argument (an entry point's arguments are the
    runtime's buffers, which bufferization must not write). The results
    are the same (the payload never read the init); bufferization then
    updates the carried buffer in place, element by element, copying it
    first where the analysis finds another reader, and the loop allocates
    nothing. Titans at the issue's size: 0.92 million allocations per
    training step down to 0.19 million, the checkpoint the same byte for
    byte. Runs just before `one-shot-bufferize`.

    ```mlir
    scf.for ... iter_args(%acc = %init) -> (tensor<1x16xf32>) {
      %a = tensor.collapse_shape %acc [[0, 1]] : tensor<1x16xf32> into tensor<16xf32>
      %e = tensor.empty() : tensor<16xf32>
      %n = linalg.generic ... ins(%x, %a : ...) outs(%e : tensor<16xf32>)
      %r = tensor.expand_shape %n [[0, 1]] ...
      scf.yield %r
    // becomes ... outs(%a : tensor<16xf32>)
    ```
  }];
  let statistics = [
    Statistic<"numUpdated", "updates-in-place", "Generics given their carried input as init">
  ];
  let dependentDialects = ["::mlir::linalg::LinalgDialect"];
}

def FoldTransposes : Pass<"nl-fold-transposes", "::mlir::ModuleOp"> {
  let summary = "Read the operands of linalg.generic ops through transposes instead of materializing them";
  let description = [{
    The gradients of matrix products read their operands transposed: the
    weight gradient of `y = x @ w` is `xᵀ dy`, the input gradient `dy wᵀ`,
    and `heads`/`merge` permute [B, T, H, d] to [B, H, T, d]. Lowered as
    written, each `linalg.transpose` becomes a strided copy of the whole
    tensor before the product reads it (the Transformer's step made 74 of
    them, up to 8 MiB each).

    This pass rewrites every `linalg.generic` on tensors that reads a
    `linalg.transpose`'s result to read the transpose's input instead, with
    its indexing map composed with the permutation (result[i] =
    input[perm[i]], so the input's dim perm[i] is read where the result's
    dim i was). A transpose left without uses is erased. The products then
    reach `convert-contractions-to-blas` with a transposed operand, which
    BLIS reads through its strides; elementwise consumers read it strided,
    as the copy did, without writing and reading the copy.

    Generics inside `scf.forall` or `scf.parallel` (the fused memory-update
    kernels) are left alone: their products keep the plain layouts that
    `nl-vectorize-contractions` register-tiles. Numbers are unchanged: only
    where an operand is read from changes, never the arithmetic.

    ```mlir
    %t = linalg.transpose ins(%x : tensor<4x8xf32>) outs(%e : tensor<8x4xf32>)
           permutation = [1, 0]
    %y = linalg.generic {indexing_maps = [(i, j) -> (i, j), ...]} ins(%t ...)
    // becomes
    %y = linalg.generic {indexing_maps = [(i, j) -> (j, i), ...]} ins(%x ...)
    ```
  }];
  let dependentDialects = ["::mlir::linalg::LinalgDialect"];
}

def FoldSliceCopies : Pass<"nl-fold-slice-copies", "::mlir::ModuleOp"> {
  let summary = "Drop the copy of a slice whose every use copies it again";
  let description = [{
    `convert-nl-to-linalg` lowers `nl.slice` to a `tensor.extract_slice`
    and a `linalg.copy` into a fresh tensor, so that a slice kept for long
    (a chunk-boundary state kept for the backward pass) does not keep its
    whole source buffer alive. A slice that is sliced again, or inserted
    into another tensor, is copied more than once: Hope's per-head blocks
    (a 16 x 16 block of a 64 x 64 matrix, taken as a row block, then a
    column block, then inserted into a `[4, 16, 16]` stack) were copied
    three times.

    This pass replaces the result of every `linalg.copy` on tensors whose
    init is a `tensor.empty` by its input where every use of the result
    copies it again: the source of a `tensor.insert_slice`, the input of a
    `linalg.copy`, or a `tensor.extract_slice`, `tensor.expand_shape` or
    `tensor.collapse_shape` whose own uses all do. The value is the same
    (a copy into a fresh tensor is its input), and no view of the source
    outlives the copy that follows. Runs on linalg on tensors, after
    elementwise fusion.

    ```mlir
    %r = tensor.extract_slice %m[0, 0] [16, 64] [1, 1] : tensor<64x64xf32> to tensor<16x64xf32>
    %e = tensor.empty() : tensor<16x64xf32>
    %c = linalg.copy ins(%r : tensor<16x64xf32>) outs(%e : tensor<16x64xf32>) -> tensor<16x64xf32>
    %b = tensor.extract_slice %c[0, 0] [16, 16] [1, 1] : tensor<16x64xf32> to tensor<16x16xf32>
    %e2 = tensor.empty() : tensor<16x16xf32>
    %c2 = linalg.copy ins(%b : tensor<16x16xf32>) outs(%e2 : tensor<16x16xf32>) -> tensor<16x16xf32>
    // %c is dropped (its one use is sliced, then copied): %b slices %r;
    // %c2, used by a product, stays.
    ```
  }];
  let statistics = [
    Statistic<"numFolded", "copies-folded", "Copies of slices dropped">,
  ];
  let dependentDialects = ["::mlir::tensor::TensorDialect"];
}

def InlineAllocaScopes : Pass<"nl-inline-alloca-scopes"> {
  let summary = "Inline memref.alloca_scope regions that allocate nothing on the stack";
  let description = [{
    `convert-scf-to-openmp` wraps the body of every parallel loop in a
    `memref.alloca_scope`, whose region must stay a single block; once
    `convert-scf-to-cf` turns the loops inside into blocks it no longer
    verifies. A scope holding no `memref.alloca` (nlc's buffers are heap
    allocations) bounds nothing, so this pass moves its body into the
    enclosing block. Scopes with stack allocations, or with results, are
    kept. Part of `nl-lower-to-llvm{openmp}`, between
    `convert-scf-to-openmp` and `convert-scf-to-cf`.
  }];
  let dependentDialects = ["::mlir::memref::MemRefDialect"];
}

def OutlineParallelRegions : Pass<"nl-outline-parallel-regions", "::mlir::ModuleOp"> {
  let summary = "Move each omp.parallel of a function into a function of its own";
  let description = [{
    MLIR's translation to LLVM IR outlines every `omp.parallel` region
    with LLVM's `CodeExtractor`, which scans the whole enclosing function
    once per region: a training step with hundreds of parallel regions in
    one function of tens of thousands of instructions took most of its
    translation time there (Hope at its defaults: 19 of 116 s of
    compilation; Titans: 4.4 s, against 0.24 s without OpenMP). This pass
    moves each top-level `omp.parallel` of a function that holds more
    than one into a private function `<function>.parallel<N>` of its own,
    called in its place: its arguments are the values the region uses from
    outside (constants are cloned instead), so the extraction then scans
    only that small function. The arithmetic is unchanged (one call more
    per parallel region). Part of `nl-lower-to-llvm{openmp}`, after
    `convert-scf-to-openmp` and `nl-inline-alloca-scopes`.
  }];
  let statistics = [
    Statistic<"numOutlined", "outlined-regions",
              "omp.parallel regions moved into functions of their own">,
  ];
  let dependentDialects = ["::mlir::func::FuncDialect"];
}

def NumberConstantGlobals : Pass<"nl-number-constant-globals", "::mlir::ModuleOp"> {
  let summary = "Name and order the constant globals of bufferization by their first use";
  let description = [{
    `one-shot-bufferize` turns every tensor constant into a private
    `memref.global` named `__constant_<shape>` (then `_0`, `_1`, ... for
    more of one shape) and puts it at the top of the module, in the order
    it happens to bufferize the functions, which varies from run to run
    (it orders them through a map keyed by pointers). The names reach the
    functions that `nl-merge-functions` compares and the LLVM IR, so two
    builds of one model differed. This pass renames those globals
    `__constant_<shape>`, `__constant_<shape>_1`, ... in the order of
    their first use in the module (ops in order, regions included) and
    moves them to the top of the module in that order; a global of that
    kind that nothing uses is erased. Other globals are left alone. The
    code is the same; only names and order change, so a build of one
    model is the same byte for byte. Part of the bufferization stage of
    `nl-lower-to-llvm` and of the CUDA pipeline, right after
    `one-shot-bufferize`.
  }];
  let statistics = [
    Statistic<"numRenamed", "renamed", "Constant globals whose name changed">,
    Statistic<"numErased", "erased", "Unused constant globals erased">,
  ];
  let dependentDialects = ["::mlir::memref::MemRefDialect"];
}

def DropEquivalentResults : Pass<"nl-drop-equivalent-results", "::mlir::ModuleOp"> {
  let summary = "Drop the memref results of private functions that are one of their arguments";
  let description = [{
    After `one-shot-bufferize`, a function that writes a tensor argument in
    place returns that argument's buffer: `nl.matmul_kernel*` (lhs, rhs,
    init) accumulates into `init` and returns it. Returned as an
    out-parameter (`buffer-results-to-out-params`), such a result became a
    copy of the whole buffer at the end of every call, into an
    out-parameter the caller had to allocate: in Hope at batch 16, 18 GB
    of the 31 GB that `memcpy` moved per training step (2.2 million of its
    3.9 million calls).

    This pass drops, from every private function with a body and one
    `func.return`, each memref result that is one of the function's
    arguments: the argument itself, through `memref.cast`, or through
    `scf.for` loops that carry it unchanged (the loop yields the value of
    its iteration argument, in the same position, through casts and
    nested loops). Every call uses the argument's buffer in place of the
    result (through a `memref.cast` where the types differ). A function
    whose symbol is used by anything but `func.call` is left alone, and so
    are public functions (the entry points' calling convention is the
    runtime's). Numbers are unchanged: the caller reads the same buffer
    the callee wrote. It is upstream's `drop-equivalent-buffer-results`
    restricted to private functions and extended through loops; it runs
    right after `one-shot-bufferize`.

    ```mlir
    func.func private @k(%a: memref<4xf32>) -> memref<4xf32> {
      %r = scf.for ... iter_args(%x = %a) -> (memref<4xf32>) { ... scf.yield %x }
      return %r : memref<4xf32>
    }
    %r = call @k(%buf) : (memref<4xf32>) -> memref<4xf32>
    // becomes
    func.func private @k(%a: memref<4xf32>) { ... return }
    call @k(%buf) : (memref<4xf32>) -> ()   // and %r is %buf
    ```
  }];
  let statistics = [
    Statistic<"numDropped", "results-dropped", "Function results dropped">,
  ];
  let dependentDialects = ["::mlir::memref::MemRefDialect"];
}

def Bufferize : Pass<"nl-bufferize", "::mlir::ModuleOp"> {
  let summary = "One-shot bufferization of the module, identity layouts at function boundaries, strided argument layouts honoured";
  let description = [{
    Upstream's `one-shot-bufferize` as both targets configure it
    (`bufferize-function-boundaries`,
    `function-boundary-type-conversion=identity-layout-map`,
    `allow-return-allocs-from-loops`, unknown types fully dynamic,
    alignment 64), with one difference: a buffer that it must allocate
    with a layout that is not the identity is allocated with the identity
    layout and cast to it. That happens only for a function argument that
    `nl-slice-argument-layouts` gave a strided layout: a call that passes a
    value whose buffer cannot be cast to that layout (a slice with other
    strides) copies it into a new buffer, and upstream allocated that
    buffer with the argument's layout, which `memref.alloc` refuses when
    the offset is dynamic. The layouts that `nl-slice-argument-layouts`
    gives are row-major strides (dynamic for unit dimensions) and a
    dynamic offset, to which an identity buffer always casts. Without such
    arguments the result is upstream's, op for op.
  }];
  let dependentDialects = [
    "::mlir::bufferization::BufferizationDialect",
    "::mlir::memref::MemRefDialect",
  ];
}

def SliceArgumentLayouts : Pass<"nl-slice-argument-layouts", "::mlir::ModuleOp"> {
  let summary = "Give the read-only tensor arguments that private functions receive as slices a strided buffer layout";
  let description = [{
    With identity layouts at function boundaries, `one-shot-bufferize`
    copies every slice that a call passes (`tensor.extract_slice`, seen
    through reshapes) into a fresh buffer, because a subview's layout
    cannot be cast to the identity. The fused memory updates call their
    per-slice chunk function once per (batch, head) slice with slices of
    the `[B, H, ...]` states, and those functions pass slices on to the
    register-tiled kernels: in Hope at batch 16 these copies were about
    half of the memory that `memcpy` moved in a training step.

    This pass, run right before `one-shot-bufferize`, sets
    `bufferization.buffer_layout` on an argument of a private function
    (all of whose symbol uses are `func.call`s) when

    - the argument is a ranked tensor of static shape that the function
      only reads: its uses are the inputs of linalg ops, `tensor.extract`,
      `vector.transfer_read`, reshapes and slices with uses of that kind,
      and call operands whose callee's argument is read-only in turn;
    - and some call passes a slice: a `tensor.extract_slice`, or a value
      of this kind seen through `tensor.expand_shape`,
      `tensor.collapse_shape` and `tensor.cast`, or an argument of the
      caller that this pass gave a layout (found to a fixed point, so a
      chunk function's slice reaches the kernels it calls).

    The layout is `strided<[s...], offset: ?>`: the row-major strides of
    the argument's shape, dynamic for its unit dimensions, and a dynamic
    offset. A slice that is contiguous in its trailing dimensions (a
    (batch, head) slice of a state, rows of a matrix) has these strides,
    so its buffer is cast, not copied; any other operand is still copied
    (bufferization's `castOrRealloc`), as before. Inside the function the
    argument is read through its offset. The numbers are the same: the
    function reads the same values from the caller's buffer. CPU pipeline
    only (`nl-lower-to-llvm`).

    ```mlir
    func.func private @chunk(%s: tensor<1x1x32x128xf32>) -> tensor<32x128xf32>
    // becomes
    func.func private @chunk(%s: tensor<1x1x32x128xf32>
        {bufferization.buffer_layout = strided<[?, ?, 128, 1], offset: ?>})
        -> tensor<32x128xf32>
    ```
  }];
  let statistics = [
    Statistic<"numAnnotated", "arguments", "Function arguments given a strided layout">,
  ];
  let dependentDialects = ["::mlir::bufferization::BufferizationDialect"];
}

def SplitFunctions : Pass<"nl-split-functions", "::mlir::ModuleOp"> {
  let summary = "Split functions larger than a budget into calls of parts of bounded size";
  let description = [{
    LLVM's register allocator (its global live-range splitting), loop
    strength reduction and live-interval analysis take time that grows
    faster than linearly with a function's size, and one function is
    compiled on one thread. Hope's backward chunk kernel at width 128 was a
    single function of 124,000 lines of LLVM IR, about 2,000 loop nests in
    a row: 21 s of code generation alone, against 4.5 s for a function a
    third its size. This pass cuts the body of every function whose ops
    (counted over their regions) exceed `max-ops` into consecutive runs of
    at most `max-ops` ops, and moves each run into a private function
    `<function>.part<N>`, called in its place; its arguments are the
    values the run reads from before it (constants are cloned instead).
    A value that a run defines and a later op uses is computed again by
    the caller, after the call, when it can be (no memory effects, no
    regions: views, casts, index arithmetic); otherwise it is a result of
    the part (a heap allocation used later, a loop with results). A run is
    cut before a stack allocation (`memref.alloca`) used after it, which
    the part's return would free; it stays in the caller. Runs under
    `min-ops` stay inline. So an entry point keeps little more than its
    calls: its allocations, loops and parallel regions move into parts
    too (Hope's `loss_grad` kept 1,300 loops and 750 parallel regions
    inline, between its allocations, while parts could not return them).
    The ops are the same and run in the same order (one call more per
    part); LLVM may vectorize the sums that nlc marks reassociable a little
    differently in a smaller function, so results can differ in rounding. Part of `nl-lower-to-llvm`, after the
    loops are made and before OpenMP; `nl-merge-functions` later keeps one
    copy of equal parts.

    ```mlir
    func.func @f(%a: memref<64xf32>, %b: memref<64xf32>) {
      linalg.copy ins(%a : memref<64xf32>) outs(%b : memref<64xf32>)
      ...  // thousands of ops
      return
    }
    // becomes
    func.func @f(%a: memref<64xf32>, %b: memref<64xf32>) {
      call @f.part0(%a, %b) : (memref<64xf32>, memref<64xf32>) -> ()
      call @f.part1(%b) : (memref<64xf32>) -> ()
      return
    }
    ```
  }];
  let options = [
    Option<"maxOps", "max-ops", "uint64_t", /*default=*/"600",
           "The most ops (counted over regions) in one part">,
    Option<"minOps", "min-ops", "uint64_t", /*default=*/"200",
           "The fewest ops worth a part of their own">,
  ];
  let statistics = [
    Statistic<"numParts", "parts", "Runs of ops moved into functions of their own">,
  ];
  let dependentDialects = ["::mlir::func::FuncDialect"];
}

def MergeFunctions : Pass<"nl-merge-functions", "::mlir::ModuleOp"> {
  let summary = "Keep one copy of private functions that differ only in their names";
  let description = [{
    Replaces every private function whose signature, attributes and body
    equal those of an earlier private function in the module (ops,
    attributes, types and the values they use; locations are ignored) by
    that function: its calls and other symbol uses are renamed, and the
    copy is erased. Merging two functions can make their callers equal,
    so the pass repeats until nothing merges. Public functions (the entry
    points) are never merged.

    `nl-outline-parallel-regions` makes one function per parallel region,
    and a model repeats its regions: the same norm, activation or optimizer
    update on each layer's tensors of the same shape, in the forward pass
    of `loss`, `logits`, `prefill` and `decode` alike. Titans at width 128,
    4 layers, context 256 had 1,925 functions in its LLVM IR, of which 202
    were distinct; LLVM's optimization and code generation, which take
    most of an executable's build, then ran on each copy. The arithmetic
    is unchanged: every call runs the same ops as before. The kept copy
    keeps its name, so a profile of training may show a region named
    `logits.parallel5` running inside `loss_grad`. Part of
    `nl-lower-to-llvm`, after `nl-outline-parallel-regions`.

    ```mlir
    func.func private @f.parallel0(%a: memref<4xf32>) { ... }
    func.func private @f.parallel1(%a: memref<4xf32>) { ... }  // the same ops
    // becomes
    func.func private @f.parallel0(%a: memref<4xf32>) { ... }
    // and every call of @f.parallel1 calls @f.parallel0
    ```
  }];
  let statistics = [
    Statistic<"numMerged", "merged-functions",
              "private functions replaced by an equal earlier one">,
  ];
  let dependentDialects = ["::mlir::func::FuncDialect"];
}

def ParallelizeLinalg : Pass<"nl-parallelize-linalg", "::mlir::ModuleOp"> {
  let summary = "Split the outermost parallel dim of each large linalg op over threads";
  let description = [{
    On bufferized IR, wraps every linalg op outside the fused kernels (not
    inside an `scf.forall` or `scf.parallel`, and not in a function that
    only ever runs inside one, such as a fused kernel's chunk function:
    there the region would be nested in the slices' and serialized, its
    fork paid on every call for no thread) whose first loop is parallel
    and which has at least `min-elements` iterations into an `scf.forall`
    of `omp_get_max_threads()` tiles along that loop (TilingInterface,
    `scf::tileUsingSCF`): norms, softmax, activations, their gradients,
    the optimizer updates, the loss. With `nl-lower-to-llvm{openmp}` the
    forall runs on the OpenMP threads of the fused kernels.

    Only the outermost dim is split and ops of rank 1 are left alone, so the
    innermost loop (the one LLVM vectorizes, with libmvec's vector `exp`
    and a scalar remainder) is the same at any thread count: every element
    is computed by the same instructions, and results do not depend on the
    number of threads.

    ```mlir
    linalg.generic ... ins(%x : memref<4096x128xf32>) outs(%y : memref<4096x128xf32>)
    // becomes
    %n = call @omp_get_max_threads() : () -> i32
    scf.forall (%i) in (%n) {
      %xs = memref.subview %x[%lo, 0] [%size, 128] [1, 1]
      ...
      linalg.generic ... ins(%xs : ...) outs(%ys : ...)
    }
    ```
  }];
  let options = [
    Option<"minElements", "min-elements", "int64_t", /*default=*/"16384",
           "Ops of fewer iterations stay sequential (a fork costs more)">
  ];
  let dependentDialects = ["::mlir::scf::SCFDialect",
                           "::mlir::func::FuncDialect",
                           "::mlir::memref::MemRefDialect",
                           "::mlir::affine::AffineDialect",
                           "::mlir::arith::ArithDialect"];
}

def PlanBuffers : Pass<"nl-plan-buffers", "::mlir::func::FuncOp"> {
  let summary = "Give a block's temporary buffers slots planned at compile time, on the stack where they fit";
  let description = [{
    On bufferized IR (after the deallocation pipeline), finds in each block
    the `memref.alloc`s of static shape and identity layout, of at most
    `max-buffer` bytes, that the block itself frees with one unconditional
    `memref.dealloc`, and whose aliases (views, reshapes, metadata) are all
    used between the two and never leave the block (no yield, return or
    branch operand). Each such buffer lives over an interval of the
    block's ops. The pass assigns the buffers, in order of allocation, to
    slots: the smallest free slot that holds it, else the largest free slot
    grown to hold it, else a new one; a slot is free once the buffer it
    last held is deallocated. Every buffer becomes a `memref.view` of its
    slot; the slots are allocated at the start of the block. A chunk
    function of Titans' backward pass, called once per (batch, head) slice
    and chunk, allocated about 80 buffers per call on the heap; Hope's
    about 1,600.

    In a function's entry block the smallest slots, as many as
    `stack-limit` bytes hold, are `memref.alloca`s, on the stack of the
    thread that runs the function: they cost nothing to allocate (the
    default, 256 KiB, is a sixteenth of an OpenMP thread's 4 MiB stack;
    the runtime raises an `OMP_STACKSIZE` below 1 MiB to 1 MiB). The other
    slots, and every slot of a nested block (a loop body runs many times,
    and a stack allocation there would grow the stack on each iteration),
    are heap allocations freed before the block's terminator; a block
    whose buffers would each need a slot of their own on the heap is left
    as it is.

    Each slot is its own allocation, not an offset into one arena: LLVM's
    alias analysis then still tells buffers of different slots apart
    (views of one arena all may alias, which cost Titans' chunk functions
    their vectorization: 27 % slower steps). Larger buffers (a training
    step's activations) keep their own allocations: their allocation costs
    little against their use.

    ```mlir
    %a = memref.alloc() : memref<16x32xf32>   // freed before %c
    %b = memref.alloc() : memref<16x32xf32>
    %c = memref.alloc() : memref<16x32xf32>
    // becomes
    %s0 = memref.alloca() {alignment = 64 : i64} : memref<2048xi8>
    %s1 = memref.alloca() {alignment = 64 : i64} : memref<2048xi8>
    %a = memref.view %s0[%c0][] : memref<2048xi8> to memref<16x32xf32>
    %b = memref.view %s1[%c0][] : memref<2048xi8> to memref<16x32xf32>
    %c = memref.view %s0[%c0][] : memref<2048xi8> to memref<16x32xf32>
    ```

    The arithmetic is unchanged; only where the buffers live changes. Part
    of `nl-lower-to-llvm` after bufferization (the CPU target).
  }];
  let options = [
    Option<"stackLimit", "stack-limit", "int64_t", /*default=*/"262144",
           "Bytes of a function's entry-block slots placed on the stack">,
    Option<"maxBuffer", "max-buffer", "int64_t", /*default=*/"131072",
           "Largest buffer (bytes) given a slot; larger ones keep their own allocation">
  ];
  let statistics = [
    Statistic<"numPlanned", "buffers-planned", "Buffers given a slot">,
    Statistic<"numHeapSlots", "heap-slots", "Slots allocated on the heap">,
    Statistic<"numStackSlots", "stack-slots", "Slots allocated on the stack">
  ];
  let dependentDialects = ["::mlir::memref::MemRefDialect",
                           "::mlir::arith::ArithDialect"];
}

def ApproximateMath : Pass<"nl-approximate-math"> {
  let summary = "Replace f32 math.tanh and math.exp by MLIR's polynomial approximations";
  let description = [{
    glibc's scalar `tanhf` (which calls `expm1f`) has no vector variant in
    LLVM's libmvec mapping, so every loop that calls it (GELU, the soft
    clamp of `clamp_norm`, user `tanh`) runs one element at a time; and a
    loop too short for the vector width (the gates of 4 heads, a chunk of
    16 tokens at width 16) calls scalar `expf` for every element. MLIR's
    approximations (`populateMathPolynomialApproximationPatterns`: tanh as
    x for |x| < 0.0004, a rational polynomial on [-7.99, 7.99] and ±1
    beyond; exp by range reduction and a polynomial) are plain arithmetic
    that LLVM inlines and vectorizes, accurate to a few float32 ulp, and
    give the same result on every CPU (glibc picks its exp routines by CPU).
    f64 ops (the gradient checks) keep libm. Part of `nl-lower-to-llvm`,
    before the math conversions.
  }];
  let dependentDialects = ["::mlir::arith::ArithDialect",
                           "::mlir::math::MathDialect",
                           "::mlir::vector::VectorDialect"];
}

def OutlineCheckpoints : Pass<"nl-outline-checkpoints", "::mlir::ModuleOp"> {
  let summary = "Outline every nl.checkpoint into a private function, one per distinct body";
  let description = [{
    Each `nl.checkpoint` region (a chunk of a derived memory update, or the
    backward region that reverse mode builds for it: recompute + VJP) becomes
    a `func.call` to a private `func.func` next to the function holding it.
    Regions that are equal op for op (same ops, types and attributes, as for
    every full chunk of one level in every layer) share one function, so the
    code of a model whose memories run ⌈T/C⌉ chunks per layer holds one
    forward and one backward kernel per chunk shape, not one per chunk: the
    compiled module stays small and each chunk's update (read, inner
    gradient, momentum, retention, write) is one function, called once per
    chunk.

    ```mlir
    %r:2 = nl.checkpoint(%w, %k) : (...) -> (...) { ... }
    // becomes
    %r:2 = func.call @loss.chunk0(%w, %k) : (...) -> (...)
    ```

    Run it after `build-train-step` (reverse mode differentiates
    `nl.checkpoint` regions, not calls). The functions are named
    `<function>.chunk<N>`.
  }];
  let dependentDialects = ["::mlir::func::FuncDialect"];
}

def ExportEntryPoints : Pass<"nl-export-entry-points", "::mlir::ModuleOp"> {
  let summary = "Move a trained model's functions out of its nl.model and describe their ABI";
  let description = [{
    The last nl-level pass before code generation, after `build-train-step`
    (and `nl-outline-checkpoints`). For the module's one `nl.model`:

    * adds `@logits(params..., tokens) -> logits [B, T, vocab]` when `@loss`
      returns an `nl.cross_entropy`: `@loss` returning its logits (the
      generation entry point; the targets column of `tokens` is ignored);
      `@loss` becomes the cross-entropy of a call of `@logits` (one forward
      pass to compile). A model with another loss (e.g. a regression's mean
      squared error) has no `@logits`;
    * moves every function out of the `nl.model` into the module and erases
      the model;
    * sets the module attribute `nl.manifest`: a JSON string describing the
      model for the runtime (`runtime/README.md`): `model`, `batch`,
      `input` (`tokens`: i32 ids [batch, context + 1], with `vocab` and
      `context`; or `rows`: f32 rows [batch, width] of features then
      targets, with `width`), `params` (name, level, shape, init, std),
      and for each entry point (`train_step`, `loss`, `loss_grad`, and
      `logits` if there is one) its `args` and `results` in ABI order, each
      with `name`, `role` (param, state, step, lr_scale, fire, tokens, rows,
      loss, grad, logits, stream),
      `shape` and `dtype`; and `stream_init`, `decode` and `prefill` where
      the model has them, with role `stream` (and `commit_from`, `every`)
      for their state, which each must take and return in the order
      `@stream_init` makes it (`no_stream`: why a model has none, from the
      module attribute `nl.no_stream`). After
      `nl-lower-to-llvm{results-to-out-params}`
      every entry point takes its arguments and then its results, each as a
      pointer to a dense row-major buffer.

    Errors: no `nl.model`, more than one, or no `@train_step` (run
    `derive-inner-updates` and `build-train-step` first).
  }];
  let dependentDialects = ["::mlir::func::FuncDialect"];
}

#endif // NL_TRANSFORMS_PASSES_TD
