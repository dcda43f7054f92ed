// RUN: nl-opt --nl-fold-transposes --split-input-file %s | FileCheck %s

// The input gradient of a projection, dy wᵀ: the product reads w [4, 8]
// through a transposed map instead of a transposed copy (which is erased).
// CHECK-DAG: #[[W:.*]] = affine_map<(d0, d1, d2) -> (d2, d1)>
// CHECK-LABEL: func.func @input_gradient
// CHECK-SAME: (%[[DY:.*]]: tensor<16x8xf32>, %[[WT:.*]]: tensor<4x8xf32>)
// CHECK-NOT: linalg.transpose
// CHECK: linalg.generic {indexing_maps = [#{{.*}}, #[[W]], #{{.*}}]
// CHECK-SAME: ins(%[[DY]], %[[WT]] : tensor<16x8xf32>, tensor<4x8xf32>)
func.func @input_gradient(%dy: tensor<16x8xf32>, %w: tensor<4x8xf32>) -> tensor<16x4xf32> {
  %e = tensor.empty() : tensor<8x4xf32>
  %t = linalg.transpose ins(%w : tensor<4x8xf32>) outs(%e : tensor<8x4xf32>) permutation = [1, 0]
  %z = tensor.empty() : tensor<16x4xf32>
  %r = linalg.generic {indexing_maps = [affine_map<(m, k, n) -> (m, k)>,
                                        affine_map<(m, k, n) -> (k, n)>,
                                        affine_map<(m, k, n) -> (m, n)>],
                       iterator_types = ["parallel", "reduction", "parallel"]}
      ins(%dy, %t : tensor<16x8xf32>, tensor<8x4xf32>) outs(%z : tensor<16x4xf32>) {
  ^bb0(%a: f32, %b: f32, %acc: f32):
    %p = arith.mulf %a, %b : f32
    %s = arith.addf %acc, %p : f32
    linalg.yield %s : f32
  } -> tensor<16x4xf32>
  return %r : tensor<16x4xf32>
}

// -----

// The weight gradient of a projection, xᵀ dy with x [2, 16, 8]: the copy
// [8, 2, 16] is replaced by reading x with its K dims (b, t), which stay
// contiguous (a strided GEMM for convert-contractions-to-blas).
// CHECK-DAG: #[[X:.*]] = affine_map<(d0, d1, d2, d3) -> (d1, d2, d0)>
// CHECK-LABEL: func.func @weight_gradient
// CHECK-SAME: (%[[X0:.*]]: tensor<2x16x8xf32>, %[[DY:.*]]: tensor<2x16x4xf32>)
// CHECK-NOT: linalg.transpose
// CHECK: linalg.generic {indexing_maps = [#[[X]], #{{.*}}, #{{.*}}]
// CHECK-SAME: ins(%[[X0]], %[[DY]] :
func.func @weight_gradient(%x: tensor<2x16x8xf32>, %dy: tensor<2x16x4xf32>) -> tensor<8x4xf32> {
  %e = tensor.empty() : tensor<8x2x16xf32>
  %t = linalg.transpose ins(%x : tensor<2x16x8xf32>) outs(%e : tensor<8x2x16xf32>) permutation = [2, 0, 1]
  %z = tensor.empty() : tensor<8x4xf32>
  %r = linalg.generic {indexing_maps = [affine_map<(i, b, t, j) -> (i, b, t)>,
                                        affine_map<(i, b, t, j) -> (b, t, j)>,
                                        affine_map<(i, b, t, j) -> (i, j)>],
                       iterator_types = ["parallel", "reduction", "reduction", "parallel"]}
      ins(%t, %dy : tensor<8x2x16xf32>, tensor<2x16x4xf32>) outs(%z : tensor<8x4xf32>) {
  ^bb0(%a: f32, %b: f32, %acc: f32):
    %p = arith.mulf %a, %b : f32
    %s = arith.addf %acc, %p : f32
    linalg.yield %s : f32
  } -> tensor<8x4xf32>
  return %r : tensor<8x4xf32>
}

// -----

// An elementwise consumer reads the input strided, as the copy did.
// CHECK-DAG: #[[T:.*]] = affine_map<(d0, d1) -> (d1, d0)>
// CHECK-LABEL: func.func @elementwise
// CHECK-NOT: linalg.transpose
// CHECK: linalg.generic {indexing_maps = [#[[T]], #{{.*}}]
func.func @elementwise(%x: tensor<4x8xf32>) -> tensor<8x4xf32> {
  %e = tensor.empty() : tensor<8x4xf32>
  %t = linalg.transpose ins(%x : tensor<4x8xf32>) outs(%e : tensor<8x4xf32>) permutation = [1, 0]
  %z = tensor.empty() : tensor<8x4xf32>
  %r = linalg.generic {indexing_maps = [affine_map<(i, j) -> (i, j)>, affine_map<(i, j) -> (i, j)>],
                       iterator_types = ["parallel", "parallel"]}
      ins(%t : tensor<8x4xf32>) outs(%z : tensor<8x4xf32>) {
  ^bb0(%a: f32, %o: f32):
    %n = arith.negf %a : f32
    linalg.yield %n : f32
  } -> tensor<8x4xf32>
  return %r : tensor<8x4xf32>
}

// -----

// Kept: merge(a) @ wo reads the heads [B, H, T, d] of attention through
// [0, 2, 1, 3]; in place its K dims (h, d) would not be contiguous (h's
// stride T d), so the product would leave BLAS. Also kept: a product inside
// a fused kernel's scf.forall, and one reading a slice (not row-major once
// bufferized).
// CHECK-LABEL: func.func @kept
// CHECK-COUNT-3: linalg.transpose
func.func @kept(%a: tensor<2x4x16x8xf32>, %wo: tensor<4x8x32xf32>,
                %w: tensor<4x8xf32>, %big: tensor<8x8xf32>)
    -> (tensor<2x16x32xf32>, tensor<16x4xf32>, tensor<16x4xf32>) {
  %e = tensor.empty() : tensor<2x16x4x8xf32>
  %t = linalg.transpose ins(%a : tensor<2x4x16x8xf32>) outs(%e : tensor<2x16x4x8xf32>) permutation = [0, 2, 1, 3]
  %z = tensor.empty() : tensor<2x16x32xf32>
  %r = linalg.generic {indexing_maps = [affine_map<(b, t, h, d, n) -> (b, t, h, d)>,
                                        affine_map<(b, t, h, d, n) -> (h, d, n)>,
                                        affine_map<(b, t, h, d, n) -> (b, t, n)>],
                       iterator_types = ["parallel", "parallel", "reduction", "reduction", "parallel"]}
      ins(%t, %wo : tensor<2x16x4x8xf32>, tensor<4x8x32xf32>) outs(%z : tensor<2x16x32xf32>) {
  ^bb0(%x: f32, %y: f32, %acc: f32):
    %p = arith.mulf %x, %y : f32
    %s = arith.addf %acc, %p : f32
    linalg.yield %s : f32
  } -> tensor<2x16x32xf32>
  %dy = tensor.empty() : tensor<16x8xf32>
  %e2 = tensor.empty() : tensor<8x4xf32>
  %t2 = linalg.transpose ins(%w : tensor<4x8xf32>) outs(%e2 : tensor<8x4xf32>) permutation = [1, 0]
  %z2 = tensor.empty() : tensor<16x4xf32>
  %r2 = scf.forall (%i) in (1) shared_outs(%o = %z2) -> (tensor<16x4xf32>) {
    %g = linalg.generic {indexing_maps = [affine_map<(m, k, n) -> (m, k)>,
                                          affine_map<(m, k, n) -> (k, n)>,
                                          affine_map<(m, k, n) -> (m, n)>],
                         iterator_types = ["parallel", "reduction", "parallel"]}
        ins(%dy, %t2 : tensor<16x8xf32>, tensor<8x4xf32>) outs(%o : tensor<16x4xf32>) {
    ^bb0(%x: f32, %y: f32, %acc: f32):
      %p = arith.mulf %x, %y : f32
      %s = arith.addf %acc, %p : f32
      linalg.yield %s : f32
    } -> tensor<16x4xf32>
    scf.forall.in_parallel {
      tensor.parallel_insert_slice %g into %o[0, 0] [16, 4] [1, 1] : tensor<16x4xf32> into tensor<16x4xf32>
    }
  }
  %slice = tensor.extract_slice %big[0, 0] [4, 8] [1, 1] : tensor<8x8xf32> to tensor<4x8xf32>
  %e3 = tensor.empty() : tensor<8x4xf32>
  %t3 = linalg.transpose ins(%slice : tensor<4x8xf32>) outs(%e3 : tensor<8x4xf32>) permutation = [1, 0]
  %r3 = linalg.generic {indexing_maps = [affine_map<(m, k, n) -> (m, k)>,
                                         affine_map<(m, k, n) -> (k, n)>,
                                         affine_map<(m, k, n) -> (m, n)>],
                        iterator_types = ["parallel", "reduction", "parallel"]}
      ins(%dy, %t3 : tensor<16x8xf32>, tensor<8x4xf32>) outs(%z2 : tensor<16x4xf32>) {
  ^bb0(%x: f32, %y: f32, %acc: f32):
    %p = arith.mulf %x, %y : f32
    %s = arith.addf %acc, %p : f32
    linalg.yield %s : f32
  } -> tensor<16x4xf32>
  return %r, %r2, %r3 : tensor<2x16x32xf32>, tensor<16x4xf32>, tensor<16x4xf32>
}

// -----

// Kept: a transpose read in a function that a fused kernel's scf.forall
// calls (a chunk's body, nl-outline-checkpoints).
// CHECK-LABEL: func.func private @chunk_body
// CHECK: linalg.transpose
func.func private @chunk_body(%x: tensor<4x8xf32>) -> tensor<8x4xf32> {
  %e = tensor.empty() : tensor<8x4xf32>
  %t = linalg.transpose ins(%x : tensor<4x8xf32>) outs(%e : tensor<8x4xf32>) permutation = [1, 0]
  %z = tensor.empty() : tensor<8x4xf32>
  %r = linalg.generic {indexing_maps = [affine_map<(i, j) -> (i, j)>, affine_map<(i, j) -> (i, j)>],
                       iterator_types = ["parallel", "parallel"]}
      ins(%t : tensor<8x4xf32>) outs(%z : tensor<8x4xf32>) {
  ^bb0(%a: f32, %o: f32):
    %n = arith.negf %a : f32
    linalg.yield %n : f32
  } -> tensor<8x4xf32>
  return %r : tensor<8x4xf32>
}
func.func @step(%x: tensor<4x8xf32>) -> tensor<2x8x4xf32> {
  %z = tensor.empty() : tensor<2x8x4xf32>
  %r = scf.forall (%i) in (2) shared_outs(%o = %z) -> (tensor<2x8x4xf32>) {
    %c = func.call @chunk_body(%x) : (tensor<4x8xf32>) -> tensor<8x4xf32>
    scf.forall.in_parallel {
      tensor.parallel_insert_slice %c into %o[%i, 0, 0] [1, 8, 4] [1, 1, 1] : tensor<8x4xf32> into tensor<2x8x4xf32>
    }
  }
  return %r : tensor<2x8x4xf32>
}
