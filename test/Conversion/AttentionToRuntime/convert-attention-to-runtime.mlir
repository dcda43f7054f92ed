// RUN: nl-opt --convert-attention-to-runtime --canonicalize %s | FileCheck %s
// RUN: nl-opt --convert-attention-to-runtime=parallel=0 --canonicalize %s | FileCheck %s --check-prefix=SEQ

// The runtime's entry points, declared once each.
// CHECK: func.func private @nlrt_attention_grad_f64(index, index, index, index, index, index, index, index, f64, index, index, index, index, index, index, index, index, index, index, index, index, index, index, index, index, index, index, index, index, index, index, index, index, index, index, index, index, index, index, index, index, index, index, index, index, index, index, index, index, index, index, index, index, index, index, index, index)
// CHECK: func.func private @nlrt_attention_parts(index, index) -> index
// CHECK: func.func private @nlrt_attention_f32(index, index, index, index, index, index, index, index, f64, index, index, index, index, index, index, index, index, index, index, index, index, index, index, index, index, index, index, index, index, index, index, index, index)

// The forward kernel on the heads of a [2, 16, 8] projection (a strided
// view: strides 128, 4, 8, 1 of [B, H, T, dk]) into a dense output: B, H,
// T, dk, dv, the window (0: none) and the scale, then each operand's
// pointer, offset and four strides; the (batch, head) slices shared over an
// scf.forall of nlrt_attention_parts(B, H) parts.
// CHECK-LABEL: func.func @forward
// CHECK-DAG: %[[C0:.*]] = arith.constant 0 : index
// CHECK-DAG: %[[C1:.*]] = arith.constant 1 : index
// CHECK-DAG: %[[C2:.*]] = arith.constant 2 : index
// CHECK-DAG: %[[C4:.*]] = arith.constant 4 : index
// CHECK-DAG: %[[C8:.*]] = arith.constant 8 : index
// CHECK-DAG: %[[C16:.*]] = arith.constant 16 : index
// CHECK-DAG: %[[C64:.*]] = arith.constant 64 : index
// CHECK-DAG: %[[C128:.*]] = arith.constant 128 : index
// CHECK-DAG: %[[S:.*]] = arith.constant 5.000000e-01 : f64
// CHECK-DAG: %[[PQ:.*]] = memref.extract_aligned_pointer_as_index %arg0
// CHECK-DAG: %[[PO:.*]] = memref.extract_aligned_pointer_as_index %arg3
// CHECK: %[[PARTS:.*]] = call @nlrt_attention_parts(%[[C2]], %[[C2]])
// CHECK: scf.forall (%[[P:.*]]) in (%[[PARTS]])
// CHECK-NEXT: call @nlrt_attention_f32(%[[P]], %[[PARTS]], %[[C2]], %[[C2]], %[[C16]], %[[C4]], %[[C4]], %[[C0]], %[[S]], %[[PQ]], %[[C0]], %[[C128]], %[[C4]], %[[C8]], %[[C1]], {{.*}}, %[[PO]], %[[C0]], %[[C128]], %[[C64]], %[[C4]], %[[C1]])
// CHECK-NOT: nl.attention_kernel
// SEQ-LABEL: func.func @forward
// SEQ-NOT: scf.forall
// SEQ-NOT: nlrt_attention_parts
// SEQ: call @nlrt_attention_f32
func.func @forward(%q: memref<2x2x16x4xf32, strided<[128, 4, 8, 1]>>, %k: memref<2x2x16x4xf32, strided<[128, 4, 8, 1]>>, %v: memref<2x2x16x4xf32, strided<[128, 4, 8, 1]>>, %o: memref<2x2x16x4xf32>) {
  nl.attention_kernel ins(%q, %k, %v : memref<2x2x16x4xf32, strided<[128, 4, 8, 1]>>, memref<2x2x16x4xf32, strided<[128, 4, 8, 1]>>, memref<2x2x16x4xf32, strided<[128, 4, 8, 1]>>) outs(%o : memref<2x2x16x4xf32>) scale = 5.000000e-01
  return
}

// The gradient in float64 with a window of 5 tokens: the f64 kernel, eight
// operands (q, k, v, o, dy, then dq, dk, dv) of six arguments each.
// CHECK-LABEL: func.func @gradient
// CHECK-DAG: %[[G1:.*]] = arith.constant 1 : index
// CHECK-DAG: %[[G2:.*]] = arith.constant 2 : index
// CHECK-DAG: %[[G3:.*]] = arith.constant 3 : index
// CHECK-DAG: %[[G4:.*]] = arith.constant 4 : index
// CHECK-DAG: %[[G5:.*]] = arith.constant 5 : index
// CHECK-DAG: %[[G8:.*]] = arith.constant 8 : index
// CHECK: call @nlrt_attention_grad_f64(%{{.*}}, %{{.*}}, %[[G1]], %[[G2]], %[[G8]], %[[G4]], %[[G3]], %[[G5]], %{{.*}}, %intptr,
func.func @gradient(%q: memref<1x2x8x4xf64>, %k: memref<1x2x8x4xf64>, %v: memref<1x2x8x3xf64>, %o: memref<1x2x8x3xf64>, %dy: memref<1x2x8x3xf64>, %dq: memref<1x2x8x4xf64>, %dk: memref<1x2x8x4xf64>, %dv: memref<1x2x8x3xf64>) {
  nl.attention_grad_kernel ins(%q, %k, %v, %o, %dy : memref<1x2x8x4xf64>, memref<1x2x8x4xf64>, memref<1x2x8x3xf64>, memref<1x2x8x3xf64>, memref<1x2x8x3xf64>) outs(%dq, %dk, %dv : memref<1x2x8x4xf64>, memref<1x2x8x4xf64>, memref<1x2x8x3xf64>) window = 5 scale = 2.500000e-01
  return
}
