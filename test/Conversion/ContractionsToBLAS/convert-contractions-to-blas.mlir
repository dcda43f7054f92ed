// RUN: nl-opt --convert-contractions-to-blas --canonicalize %s | FileCheck %s
// RUN: nl-opt --convert-contractions-to-blas=parallel=0 --canonicalize %s | FileCheck %s --check-prefix=SEQ

#mk = affine_map<(m, k, n) -> (m, k)>
#kn = affine_map<(m, k, n) -> (k, n)>
#mn = affine_map<(m, k, n) -> (m, n)>

// A projection [64, 32] x [32, 48] after a zero fill: one call per part of
// an scf.forall, beta = 0 (the fill is gone); strides (batch, M, K) of the
// lhs are (0, 32, 1), (0, 48, 1) for the rhs (batch, K, N) and the out.
// CHECK-LABEL: func.func @projection
// CHECK-NOT: linalg.fill
// CHECK-DAG: %[[C0:.*]] = arith.constant 0 : index
// CHECK-DAG: %[[C1:.*]] = arith.constant 1 : index
// CHECK-DAG: %[[C32:.*]] = arith.constant 32 : index
// CHECK-DAG: %[[C48:.*]] = arith.constant 48 : index
// CHECK-DAG: %[[C64:.*]] = arith.constant 64 : index
// CHECK-DAG: %[[PA:.*]] = memref.extract_aligned_pointer_as_index %arg0
// CHECK: %[[PARTS:.*]] = call @nlrt_gemm_parts(%[[C1]], %[[C64]], %[[C48]], %[[C32]])
// CHECK: scf.forall (%[[P:.*]]) in (%[[PARTS]])
// CHECK-NEXT: call @nlrt_sgemm(%[[P]], %[[PARTS]], %[[C1]], %[[C64]], %[[C48]], %[[C32]], %[[PA]], %[[C0]], %[[C0]], %[[C32]], %[[C1]], %{{.*}}, %[[C0]], %[[C0]], %[[C48]], %[[C1]], %{{.*}}, %[[C0]], %[[C0]], %[[C48]], %[[C1]], %[[C0]])
// CHECK-NOT: linalg.generic
// SEQ-LABEL: func.func @projection
// SEQ-NOT: scf.forall
// SEQ-NOT: nlrt_gemm_parts
// SEQ: call @nlrt_sgemm
func.func @projection(%a: memref<64x32xf32>, %b: memref<32x48xf32>, %c: memref<64x48xf32>) {
  %zero = arith.constant 0.0 : f32
  linalg.fill ins(%zero : f32) outs(%c : memref<64x48xf32>)
  linalg.generic {indexing_maps = [#mk, #kn, #mn],
                  iterator_types = ["parallel", "reduction", "parallel"]}
      ins(%a, %b : memref<64x32xf32>, memref<32x48xf32>) outs(%c : memref<64x48xf32>) {
  ^bb0(%x: f32, %y: f32, %acc: f32):
    %p = arith.mulf %x, %y : f32
    %s = arith.addf %acc, %p fastmath<reassoc> : f32
    linalg.yield %s : f32
  }
  return
}

// A weight gradient Σ_{b,t} x[b, t, i] g[b, t, j] (the lhs transposed, two
// K dims that collapse: stride 32 over 2 x 16 rows) accumulates (beta = 1):
// lhs strides (batch, M, K) = (0, 1, 32).
// CHECK-LABEL: func.func @weight_gradient
// CHECK-DAG: %[[C0:.*]] = arith.constant 0 : index
// CHECK-DAG: %[[C1:.*]] = arith.constant 1 : index
// CHECK-DAG: %[[C32:.*]] = arith.constant 32 : index
// CHECK: call @nlrt_gemm_parts(%[[C1]], %[[C32]], %[[C32]], %[[C32]])
// CHECK: call @nlrt_sgemm(%{{.*}}, %{{.*}}, %[[C1]], %[[C32]], %[[C32]], %[[C32]], %{{.*}}, %{{.*}}, %[[C0]], %[[C1]], %[[C32]], %{{.*}}, %{{.*}}, %[[C0]], %[[C32]], %[[C1]], %{{.*}}, %{{.*}}, %[[C0]], %[[C32]], %[[C1]], %[[C1]])
// CHECK-NOT: linalg.generic
func.func @weight_gradient(%x: memref<2x16x32xf32>, %g: memref<2x16x32xf32>, %w: memref<32x32xf32>) {
  linalg.generic {indexing_maps = [affine_map<(b, t, i, j) -> (b, t, i)>,
                                   affine_map<(b, t, i, j) -> (b, t, j)>,
                                   affine_map<(b, t, i, j) -> (i, j)>],
                  iterator_types = ["reduction", "reduction", "parallel", "parallel"]}
      ins(%x, %g : memref<2x16x32xf32>, memref<2x16x32xf32>) outs(%w : memref<32x32xf32>) {
  ^bb0(%a: f32, %b: f32, %acc: f32):
    %p = arith.mulf %a, %b : f32
    %s = arith.addf %acc, %p : f32
    linalg.yield %s : f32
  }
  return
}

// Per-head products [B, H, T, D] x [B, H, D, T]: the two batch dims
// collapse to one of 2 x 4 = 8, with batch strides 32 x 16 = 512 in q and
// k and 32 x 32 = 1024 in the scores.
// CHECK-LABEL: func.func @attention_scores
// CHECK-DAG: %[[C8:.*]] = arith.constant 8 : index
// CHECK-DAG: %[[C512:.*]] = arith.constant 512 : index
// CHECK-DAG: %[[C1024:.*]] = arith.constant 1024 : index
// CHECK: call @nlrt_sgemm(%{{.*}}, %{{.*}}, %[[C8]], %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %[[C512]], %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %[[C512]], %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %[[C1024]],
func.func @attention_scores(%q: memref<2x4x32x16xf32>, %k: memref<2x4x16x32xf32>, %s: memref<2x4x32x32xf32>) {
  linalg.generic {indexing_maps = [affine_map<(b, h, m, k, n) -> (b, h, m, k)>,
                                   affine_map<(b, h, m, k, n) -> (b, h, k, n)>,
                                   affine_map<(b, h, m, k, n) -> (b, h, m, n)>],
                  iterator_types = ["parallel", "parallel", "parallel", "reduction", "parallel"]}
      ins(%q, %k : memref<2x4x32x16xf32>, memref<2x4x16x32xf32>) outs(%s : memref<2x4x32x32xf32>) {
  ^bb0(%a: f32, %b: f32, %acc: f32):
    %p = arith.mulf %a, %b : f32
    %r = arith.addf %acc, %p : f32
    linalg.yield %r : f32
  }
  return
}

// Left alone: a product inside a fused kernel's scf.forall, one too small,
// one whose body is not a plain multiply-add, one whose M dims do not
// collapse (the lhs is [T, B, K] but the out is [B, T, N]), f16, and a batch
// of dot products (M = N = 1: a norm's weight gradient, 64 sums over 4,096
// tokens, which would be 64 BLAS calls of one element each).
// CHECK-LABEL: func.func @left_alone
// CHECK-NOT: call @nlrt
// CHECK-COUNT-6: linalg.generic {{.*}} ins(
// CHECK-NOT: call @nlrt
func.func @left_alone(%a: memref<64x32xf32>, %b: memref<32x48xf32>, %c: memref<64x48xf32>,
                      %sa: memref<4x4xf32>, %sc: memref<4x4xf32>,
                      %ta: memref<16x2x32xf32>, %tc: memref<2x16x48xf32>,
                      %ha: memref<64x32xf16>, %hb: memref<32x48xf16>, %hc: memref<64x48xf16>,
                      %dx: memref<4096x64xf32>, %dg: memref<4096x64xf32>, %dw: memref<64xf32>) {
  linalg.generic {indexing_maps = [affine_map<(t, i) -> (t, i)>,
                                   affine_map<(t, i) -> (t, i)>,
                                   affine_map<(t, i) -> (i)>],
                  iterator_types = ["reduction", "parallel"]}
      ins(%dx, %dg : memref<4096x64xf32>, memref<4096x64xf32>) outs(%dw : memref<64xf32>) {
  ^bb0(%x: f32, %y: f32, %acc: f32):
    %p = arith.mulf %x, %y : f32
    %s = arith.addf %acc, %p : f32
    linalg.yield %s : f32
  }
  scf.forall (%i) in (2) {
    linalg.generic {indexing_maps = [#mk, #kn, #mn],
                    iterator_types = ["parallel", "reduction", "parallel"]}
        ins(%a, %b : memref<64x32xf32>, memref<32x48xf32>) outs(%c : memref<64x48xf32>) {
    ^bb0(%x: f32, %y: f32, %acc: f32):
      %p = arith.mulf %x, %y : f32
      %s = arith.addf %acc, %p : f32
      linalg.yield %s : f32
    }
  }
  linalg.generic {indexing_maps = [#mk, #kn, #mn],
                  iterator_types = ["parallel", "reduction", "parallel"]}
      ins(%sa, %sa : memref<4x4xf32>, memref<4x4xf32>) outs(%sc : memref<4x4xf32>) {
  ^bb0(%x: f32, %y: f32, %acc: f32):
    %p = arith.mulf %x, %y : f32
    %s = arith.addf %acc, %p : f32
    linalg.yield %s : f32
  }
  linalg.generic {indexing_maps = [#mk, #kn, #mn],
                  iterator_types = ["parallel", "reduction", "parallel"]}
      ins(%a, %b : memref<64x32xf32>, memref<32x48xf32>) outs(%c : memref<64x48xf32>) {
  ^bb0(%x: f32, %y: f32, %acc: f32):
    %e = math.exp %x : f32
    %p = arith.mulf %e, %y : f32
    %s = arith.addf %acc, %p : f32
    linalg.yield %s : f32
  }
  linalg.generic {indexing_maps = [affine_map<(b, t, k, n) -> (t, b, k)>,
                                   affine_map<(b, t, k, n) -> (k, n)>,
                                   affine_map<(b, t, k, n) -> (b, t, n)>],
                  iterator_types = ["parallel", "parallel", "reduction", "parallel"]}
      ins(%ta, %b : memref<16x2x32xf32>, memref<32x48xf32>) outs(%tc : memref<2x16x48xf32>) {
  ^bb0(%x: f32, %y: f32, %acc: f32):
    %p = arith.mulf %x, %y : f32
    %s = arith.addf %acc, %p : f32
    linalg.yield %s : f32
  }
  linalg.generic {indexing_maps = [#mk, #kn, #mn],
                  iterator_types = ["parallel", "reduction", "parallel"]}
      ins(%ha, %hb : memref<64x32xf16>, memref<32x48xf16>) outs(%hc : memref<64x48xf16>) {
  ^bb0(%x: f16, %y: f16, %acc: f16):
    %p = arith.mulf %x, %y : f16
    %s = arith.addf %acc, %p : f16
    linalg.yield %s : f16
  }
  return
}

// Left alone too: a product in a function that a fused kernel's scf.forall
// calls (nl-outline-checkpoints makes each chunk's body such a function,
// called once per (batch, head) slice), directly or through another
// function. The same product in a function called outside any loop becomes
// BLAS calls.
// CHECK-LABEL: func.func private @chunk_inner
// CHECK-NOT: call @nlrt
// CHECK: linalg.generic
// CHECK-LABEL: func.func private @chunk_body
// CHECK-NOT: call @nlrt
// CHECK: linalg.generic
// CHECK-LABEL: func.func private @outside
// CHECK: call @nlrt_sgemm
func.func private @chunk_inner(%a: memref<64x32xf32>, %b: memref<32x48xf32>, %c: memref<64x48xf32>) {
  linalg.generic {indexing_maps = [#mk, #kn, #mn],
                  iterator_types = ["parallel", "reduction", "parallel"]}
      ins(%a, %b : memref<64x32xf32>, memref<32x48xf32>) outs(%c : memref<64x48xf32>) {
  ^bb0(%x: f32, %y: f32, %acc: f32):
    %p = arith.mulf %x, %y : f32
    %s = arith.addf %acc, %p : f32
    linalg.yield %s : f32
  }
  return
}
func.func private @chunk_body(%a: memref<64x32xf32>, %b: memref<32x48xf32>, %c: memref<64x48xf32>) {
  linalg.generic {indexing_maps = [#mk, #kn, #mn],
                  iterator_types = ["parallel", "reduction", "parallel"]}
      ins(%a, %b : memref<64x32xf32>, memref<32x48xf32>) outs(%c : memref<64x48xf32>) {
  ^bb0(%x: f32, %y: f32, %acc: f32):
    %p = arith.mulf %x, %y : f32
    %s = arith.addf %acc, %p : f32
    linalg.yield %s : f32
  }
  func.call @chunk_inner(%a, %b, %c) : (memref<64x32xf32>, memref<32x48xf32>, memref<64x48xf32>) -> ()
  return
}
func.func private @outside(%a: memref<64x32xf32>, %b: memref<32x48xf32>, %c: memref<64x48xf32>) {
  linalg.generic {indexing_maps = [#mk, #kn, #mn],
                  iterator_types = ["parallel", "reduction", "parallel"]}
      ins(%a, %b : memref<64x32xf32>, memref<32x48xf32>) outs(%c : memref<64x48xf32>) {
  ^bb0(%x: f32, %y: f32, %acc: f32):
    %p = arith.mulf %x, %y : f32
    %s = arith.addf %acc, %p : f32
    linalg.yield %s : f32
  }
  return
}
func.func @step(%a: memref<64x32xf32>, %b: memref<32x48xf32>, %c: memref<64x48xf32>) {
  scf.forall (%i, %j) in (2, 2) {
    func.call @chunk_body(%a, %b, %c) : (memref<64x32xf32>, memref<32x48xf32>, memref<64x48xf32>) -> ()
  }
  func.call @outside(%a, %b, %c) : (memref<64x32xf32>, memref<32x48xf32>, memref<64x48xf32>) -> ()
  return
}
