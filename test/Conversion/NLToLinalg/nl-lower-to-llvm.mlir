// The registered CPU pipeline reaches the LLVM dialect for every compute op.
// RUN: nl-opt --nl-generate-gradients --nl-lower-to-llvm %S/../../Autodiff/vjp-tensor.mlir | FileCheck %s
// RUN: nl-opt --nl-generate-gradients --nl-lower-to-llvm %S/../../Autodiff/vjp-elementwise.mlir | FileCheck %s
// CHECK-NOT: nl.
// CHECK-NOT: linalg.
// CHECK-NOT: memref.
// CHECK: llvm.func

// The pipeline starts with fuse-memory-updates; with `openmp`, the fused
// chunk of fuse-memory-updates.mlir runs its (batch, head) loop as an OpenMP
// parallel loop; without, in order.
// RUN: nl-opt --split-input-file --pass-pipeline='builtin.module(nl-lower-to-llvm{openmp})' %S/../../Dialect/NL/Transforms/fuse-memory-updates.mlir | FileCheck %s --check-prefix=OMP
// OMP-LABEL: llvm.func @chunk(
// OMP: omp.parallel
// OMP: omp.wsloop
// OMP-NOT: memref.alloca_scope
// OMP-NOT: scf.
// RUN: nl-opt --split-input-file --nl-lower-to-llvm %S/../../Dialect/NL/Transforms/fuse-memory-updates.mlir | FileCheck %s --check-prefix=SEQ
// SEQ-LABEL: llvm.func @chunk(
// SEQ-NOT: omp.
// SEQ: llvm.return

// The register-tiled matrix products (nl-vectorize-contractions) keep their
// vectors in registers: no stack buffer is allocated inside their loops
// (each would grow the stack once per tile, and a 256 x 65536 product
// overflowed it). convert-vector-to-scf runs with full-unroll.
// RUN: nl-opt --nl-lower-to-llvm %s | FileCheck %s --check-prefix=NOSTACK
// NOSTACK-LABEL: llvm.func @nl.matmul_kernel
// NOSTACK-NOT: llvm.alloca
// NOSTACK-LABEL: llvm.func @products
func.func @products(%a: tensor<16x64xf32>, %b: tensor<64x32xf32>) -> tensor<16x32xf32> {
  %c = nl.matmul %a, %b : (tensor<16x64xf32>, tensor<64x32xf32>) -> tensor<16x32xf32>
  return %c : tensor<16x32xf32>
}
