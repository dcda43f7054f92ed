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
    `nl.attention` is decomposed into nl ops (q kᵀ, causal mask, softmax,
    weighted sum) which are then lowered. The token recurrences
    `nl.linear_scan`/`nl.matrix_scan` become an `scf.for` over tokens that
    carries the state. `nl.checkpoint` regions are inlined (forward, a
    checkpoint is its body).

    Structure ops, flows, `nl.memorize`, `nl.self_modify` and `nl.read` are
    left alone (they are rewritten by derive-inner-updates first). The
    result is ready for bufferization (see the `nl-lower-to-llvm` pipeline).
  }];
  let dependentDialects = ["::mlir::linalg::LinalgDialect",
                           "::mlir::tensor::TensorDialect",
                           "::mlir::arith::ArithDialect",
                           "::mlir::math::MathDialect",
                           "::mlir::scf::SCFDialect"];
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

#endif // NL_CONVERSION_PASSES_TD
