//===- Passes.td - conversions out of the nl dialect ------*- tablegen -*-===//

#ifndef NL_CONVERSION_PASSES_TD
#define NL_CONVERSION_PASSES_TD

include "mlir/Pass/PassBase.td"

def ConvertNLToLinalg : Pass<"convert-nl-to-linalg", "::mlir::ModuleOp"> {
  let summary = "Lower nl compute ops to linalg, tensor, arith and math";
  let description = [{
    Every nl compute op (the ops with `DifferentiableOpInterface`) becomes
    linalg on tensors: elementwise ops and broadcasts are `linalg.generic`
    with broadcasting indexing maps, `nl.sum_to`/`nl.sum` are reductions,
    `nl.matmul`/`nl.linear` are contractions, slices and pads are
    `tensor.extract_slice`/`insert_slice`, head split/merge are reshapes plus
    `linalg.transpose`. Softmax and cross-entropy subtract the row max.
    `nl.attention` and its gradient `nl.attention_grad` are decomposed into
    nl ops (q kᵀ, causal mask, softmax, weighted sum; and their VJPs) which
    are then lowered; with `attention-kernels` (the CPU target) they become
    `nl.attention_kernel` and `nl.attention_grad_kernel` instead (the
    runtime's fused kernels, after bufferization and
    convert-attention-to-runtime). The token recurrences
    `nl.linear_scan`/`nl.matrix_scan` become an `scf.for` over tokens that
    carries the state. `nl.checkpoint` regions are inlined (forward, a
    checkpoint is its body).

    Structure ops, flows, `nl.memorize`, `nl.self_modify` and `nl.read` are
    left alone (they are rewritten by derive-inner-updates first). The
    result is ready for bufferization (see the `nl-lower-to-llvm` pipeline).
  }];
  let options = [
    Option<"attentionKernels", "attention-kernels", "bool",
           /*default=*/"false",
           "Lower nl.attention and nl.attention_grad to the destination-"
           "passing nl.attention_kernel and nl.attention_grad_kernel (the "
           "runtime's fused flash-style kernels on the CPU) instead of "
           "decomposing them">
  ];
  let dependentDialects = ["::mlir::linalg::LinalgDialect",
                           "::mlir::tensor::TensorDialect",
                           "::mlir::arith::ArithDialect",
                           "::mlir::math::MathDialect",
                           "::mlir::scf::SCFDialect"];
}

def ConvertAttentionToRuntime
    : Pass<"convert-attention-to-runtime", "::mlir::ModuleOp"> {
  let summary = "Run causal attention and its gradient on the runtime's "
                "fused kernels";
  let description = [{
    On bufferized IR, rewrites each `nl.attention_kernel` and
    `nl.attention_grad_kernel` (memref operands, from convert-nl-to-linalg
    with `attention-kernels`) into calls of the runtime's flash-style
    kernels (runtime/lib/Attention.cpp): `nlrt_attention_f32`/`_f64` and
    `nlrt_attention_grad_f32`/`_f64`. Every operand is passed as its aligned
    pointer, element offset and four strides (any layout: the heads of a
    projection are views), with B, H, T, dk, dv, the window (0: none) and
    the scale.

    The kernels compute query blocks against the key blocks they attend to
    (never those above the diagonal or left of the window), with the online
    softmax, so no T × T matrix exists; the backward pass recomputes the
    softmax statistics. With `parallel`, the B·H (batch, head) slices are
    shared among an `scf.forall` of `nlrt_attention_parts(B, H)` parts (one
    per OpenMP thread); each slice is computed by one part in a fixed order,
    so results do not depend on the number of threads.

    ```mlir
    nl.attention_kernel ins(%q, %k, %v : memref<8x4x256x32xf32, strided<...>>, ...)
        outs(%o : memref<8x4x256x32xf32>) scale = 0.1767766952966369
    // becomes
    %parts = call @nlrt_attention_parts(%c8, %c4)
    scf.forall (%p) in (%parts) {
      call @nlrt_attention_f32(%p, %parts, %c8, %c4, %c256, %c32, %c32, %c0,
                               %scale, %q_ptr, %q_off, %q_s0, ..., %o_s3)
    }
    ```
  }];
  let options = [
    Option<"parallel", "parallel", "bool", /*default=*/"true",
           "Split the (batch, head) slices over an scf.forall of threads">
  ];
  let dependentDialects = ["::mlir::func::FuncDialect",
                           "::mlir::memref::MemRefDialect",
                           "::mlir::scf::SCFDialect",
                           "::mlir::arith::ArithDialect"];
}

def ConvertMemRefCopyToLinalg
    : Pass<"convert-memref-copy-to-linalg", "::mlir::ModuleOp"> {
  let summary = "Rewrite memref.copy between static shapes as linalg.copy";
  let description = [{
    Bufferization writes a chunk's results into strided views of the whole
    sequence (`tensor.insert_slice`) and copies buffers it clones with
    `memref.copy`, which the LLVM lowering turns into a call of the C runner
    utilities' `memrefCopy`: an element-by-element loop over a generic
    descriptor, slow on strided views. With static shapes, `linalg.copy`
    says the same, becomes loops with `convert-linalg-to-loops`, and LLVM
    vectorizes them. Copies of dynamic shapes are left alone.

    ```mlir
    memref.copy %a, %v : memref<2x4xf32> to memref<2x4xf32, strided<[8, 1]>>
    // becomes
    linalg.copy ins(%a : memref<2x4xf32>) outs(%v : memref<2x4xf32, strided<[8, 1]>>)
    ```
  }];
  let dependentDialects = ["::mlir::linalg::LinalgDialect"];
}

def ConvertCopiesToMemcpy
    : Pass<"convert-copies-to-memcpy", "::mlir::func::FuncOp"> {
  let summary = "Copies and zero fills of contiguous rows as memcpy/memset";
  let description = [{
    On bufferized IR, rewrites each `linalg.copy` whose source and target
    share a contiguous row-major block of innermost dimensions into
    `llvm.intr.memcpy` of that block, and each `linalg.fill` with +0.0 (or
    integer 0) of such a block into `llvm.intr.memset`, inside `scf.for`
    loops over the remaining outer dimensions (none when the whole buffer is
    contiguous). A block is the innermost dimensions whose static strides
    are the products of the static sizes inside them (dimensions of size 1
    fit any stride); its outermost dimension may have a dynamic size. The
    outer dimensions may have any strides and sizes.

    Why: `convert-linalg-to-loops` makes each copy and fill a loop nest,
    which LLVM vectorizes with runtime alias checks and scalar remainders.
    Bufferization and the chunked memory updates make thousands of them
    (Hope: about 2,300 copies and 1,600 fills), and LLVM's code generation
    time grows with that code; one call per block is less code and runs at
    the C library's memcpy speed.

    Copies and fills whose block is smaller than `min-bytes`, of another
    fill value, of element types without a byte size, or on tensors are
    left alone. Source and target of a copy must not overlap partially
    (they never do after bufferization; `llvm.memcpy` allows equal ones).

    ```mlir
    linalg.copy ins(%a : memref<?x4x32xf32, strided<[128, 32, 1], offset: ?>>)
                outs(%b : memref<?x4x32xf32, strided<[256, 32, 1], offset: ?>>)
    // becomes, the block being the inner 4x32 (512 bytes)
    scf.for %i = %c0 to %n step %c1 {
      // pointers of %a[%i, 0, 0] and %b[%i, 0, 0]
      "llvm.intr.memcpy"(%pb, %pa, %c512) <{isVolatile = false}>
    }
    ```
  }];
  let options = [
    Option<"minBytes", "min-bytes", "int64_t", /*default=*/"64",
           "Smallest contiguous block (bytes) made one call">
  ];
  let dependentDialects = ["::mlir::LLVM::LLVMDialect",
                           "::mlir::scf::SCFDialect",
                           "::mlir::arith::ArithDialect",
                           "::mlir::memref::MemRefDialect"];
}

def ConvertContractionsToBLAS
    : Pass<"convert-contractions-to-blas", "::mlir::ModuleOp"> {
  let summary = "Run the dense matrix products on a tuned BLAS (BLIS)";
  let description = [{
    On bufferized IR (memrefs), rewrites each plain dense contraction, a
    `linalg.generic` whose body is `out + lhs * rhs` and whose loops split
    into batch, M, N and K dims (`linalg::inferContractionDims`), into calls
    of the runtime's `nlrt_sgemm` (f32) or `nlrt_dgemm` (f64), which call
    BLIS's strided `bli_?gemm`. Each group of dims must collapse to one
    (size, stride) pair in every operand (static strides; the offset may be
    dynamic), so that the product is C[b] (+)= A[b] B[b] with arbitrary row
    and column strides: projections, their weight and input gradients and
    the per-head attention products all qualify, transposed or not.

    With `parallel`, the product is shared among an `scf.forall` of
    `nlrt_gemm_parts(batch, M, N, K)` parts (one per OpenMP thread, 1 for a
    small product), each making a range of its BLIS calls: whole batch
    entries, or panels of at most 256 rows (or columns) of one product, a
    multiple of 4 of them (64 columns for a weight gradient), each on
    single-threaded BLIS, so the OpenMP runtime of the fused kernels is the
    only thread pool. The calls depend on the shape only and never divide
    K, so every element is computed by the same call at any thread count:
    results do not depend on the number of threads.

    Left alone (they stay generated code): products inside an `scf.forall`
    or `scf.parallel` (the fused memory-update kernels, whose chunk products
    are small and stay resident), products smaller than `min-flops`, element
    types other than f32/f64, and layouts that do not collapse. A zero
    `linalg.fill` of the output right before the product becomes beta = 0.

    ```mlir
    linalg.generic {indexing_maps = [(m, k, n) -> (m, k), (m, k, n) -> (k, n),
                                     (m, k, n) -> (m, n)], ...}
        ins(%a, %b : memref<4096x128xf32>, memref<128x512xf32>)
        outs(%c : memref<4096x512xf32>) { mulf, addf }
    // becomes
    %parts = call @nlrt_gemm_parts(%c1, %c4096, %c512, %c128)
    scf.forall (%p) in (%parts) {
      call @nlrt_sgemm(%p, %parts, %c1, %c4096, %c512, %c128,
                       %a_ptr, %a_off, %c0, %c128, %c1, ...)
    }
    ```
  }];
  let options = [
    Option<"parallel", "parallel", "bool", /*default=*/"true",
           "Split each product over an scf.forall of threads">,
    Option<"minFlops", "min-flops", "int64_t", /*default=*/"65536",
           "Products of fewer floating-point operations (2 B M N K) stay "
           "generated code">
  ];
  let dependentDialects = ["::mlir::func::FuncDialect",
                           "::mlir::memref::MemRefDialect",
                           "::mlir::scf::SCFDialect",
                           "::mlir::arith::ArithDialect"];
}

def ConvertLoopsToGPU : Pass<"convert-loops-to-gpu", "::mlir::ModuleOp"> {
  let summary = "Run bufferized linalg and scf.forall on the GPU: one "
                "gpu.launch per op, every buffer a kernel touches in GPU "
                "memory";
  let description = [{
    The first stage of the cuda target (lib/Target/CUDA), on bufferized IR
    (memrefs) after `convert-memref-copy-to-linalg`:

    - each `linalg` op of a host function (outside any `scf.forall`) becomes
      a `gpu.launch` with one thread per point of its parallel loops
      (flattened, blocks of `block-size` threads, the last dim fastest so
      neighbouring threads touch neighbouring elements); its reduction loops
      run in order inside the thread, so a reduction sums in the same order
      as on the CPU's generated loops. A generic whose reduction dims come
      before parallel ones is interchanged first. An op with no parallel
      loop (a full reduction) runs on one thread;
    - each `scf.forall` (the fused memory-update kernels, one iteration per
      (batch, head) slice) becomes a `gpu.launch` with one thread per
      iteration, its body (and the functions it calls) in order inside the
      thread; the body's buffers of static shape and at most 4 KiB become
      thread-private `memref.alloca`, larger ones stay `memref.alloc` (the
      device heap: `malloc` in the kernel);
    - every `memref.alloc` of the host is allocated with `gpu.alloc
      host_shared` (CUDA managed memory: the host code's scalar loads and
      stores, e.g. the deallocation bookkeeping and the level schedule, read
      it too) and every `memref.dealloc` of the host becomes a call of the
      runtime's `nlrt_gpu_free` (ownership-based deallocation frees the base
      buffers of views, loop arguments and call results, which cannot be
      told apart); a constant `memref.get_global` or a host `memref.alloca`
      that a kernel reads is copied to managed memory once per call.

    A launch is synchronous (no async token): host code after it sees its
    results. The kernels are outlined by `gpu-kernel-outlining` next.

    Errors: a `memref.dealloc` inside a kernel of a buffer allocated
    outside it, and an `scf.parallel` with reductions, are refused with
    their location.
  }];
  let options = [
    Option<"blockSize", "block-size", "int64_t", /*default=*/"128",
           "Threads per block">
  ];
  let dependentDialects = ["::mlir::gpu::GPUDialect",
                           "::mlir::memref::MemRefDialect",
                           "::mlir::scf::SCFDialect",
                           "::mlir::arith::ArithDialect"];
}

def MergeGPUModules : Pass<"nl-merge-gpu-modules", "::mlir::ModuleOp"> {
  let summary = "Put every outlined GPU kernel into one gpu.module";
  let description = [{
    `gpu-kernel-outlining` makes one `gpu.module` per kernel, and
    `gpu-module-to-binary` then runs `ptxas` once per module: thousands of
    times for a model. This pass moves every kernel into the first
    `gpu.module`, each renamed after the module it came from (those names
    are unique), and points each `gpu.launch_func` at its new place, so a
    model is one PTX module and one `ptxas` run.
  }];
  let dependentDialects = ["::mlir::gpu::GPUDialect"];
}

#endif // NL_CONVERSION_PASSES_TD
