// RUN: nl-opt --split-input-file --fuse-memory-updates="remarks" --verify-diagnostics %s | FileCheck %s

// A chunk over [B = 2, H = 3] (a momentum scan, a read through a matmul, a
// broadcast gate, a splat constant) becomes a loop over the (b, h) slices
// around the same chunk on [1, 1, ...] tensors; it stays a checkpoint.
// CHECK-LABEL: func.func @chunk(
// CHECK: %[[R:.*]]:2 = nl.checkpoint(%arg0, %arg1, %arg2) : (tensor<2x3x4x5xf32>, tensor<2x3x6x4x5xf32>, tensor<2x3x6xf32>) -> (tensor<2x3x4x5xf32>, tensor<2x3x6x4x5xf32>)
// CHECK-NEXT: ^bb0(%[[W:.*]]: tensor<2x3x4x5xf32>, %[[X:.*]]: tensor<2x3x6x4x5xf32>, %[[A:.*]]: tensor<2x3x6xf32>):
// CHECK: %[[E0:.*]] = tensor.empty() : tensor<2x3x4x5xf32>
// CHECK: %[[E1:.*]] = tensor.empty() : tensor<2x3x6x4x5xf32>
// CHECK: %[[F:.*]]:2 = scf.forall (%[[B:.*]], %[[H:.*]]) in (2, 3) shared_outs(%[[O0:.*]] = %[[E0]], %[[O1:.*]] = %[[E1]])
// CHECK: %[[WS:.*]] = tensor.extract_slice %[[W]][%[[B]], %[[H]], 0, 0] [1, 1, 4, 5] [1, 1, 1, 1] : tensor<2x3x4x5xf32> to tensor<1x1x4x5xf32>
// CHECK: %[[XS:.*]] = tensor.extract_slice %[[X]][%[[B]], %[[H]], 0, 0, 0] [1, 1, 6, 4, 5] [1, 1, 1, 1, 1]
// CHECK: %[[AS:.*]] = tensor.extract_slice %[[A]][%[[B]], %[[H]], 0] [1, 1, 6] [1, 1, 1]
// CHECK: %[[C:.*]]:2 = nl.checkpoint(%[[WS]], %[[XS]], %[[AS]]) : (tensor<1x1x4x5xf32>, tensor<1x1x6x4x5xf32>, tensor<1x1x6xf32>) -> (tensor<1x1x4x5xf32>, tensor<1x1x6x4x5xf32>)
// CHECK: arith.constant dense<2.000000e+00> : tensor<1x1x6x4x5xf32>
// CHECK: nl.broadcast %{{.*}} : tensor<f32> -> tensor<1x1x6xf32>
// CHECK: nl.linear_scan {{.*}} : (tensor<1x1x6xf32>, tensor<1x1x6x4x5xf32>, tensor<1x1x4x5xf32>) -> tensor<1x1x6x4x5xf32>
// CHECK: tensor.expand_shape {{.*}} output_shape [1, 1, 1, 4, 5] : tensor<1x1x4x5xf32> into tensor<1x1x1x4x5xf32>
// CHECK-NOT: nl.sum
// CHECK: nl.yield
// CHECK: scf.forall.in_parallel
// CHECK-NEXT: tensor.parallel_insert_slice %[[C]]#0 into %[[O0]][%[[B]], %[[H]], 0, 0] [1, 1, 4, 5] [1, 1, 1, 1]
// CHECK-NEXT: tensor.parallel_insert_slice %[[C]]#1 into %[[O1]][%[[B]], %[[H]], 0, 0, 0] [1, 1, 6, 4, 5] [1, 1, 1, 1, 1]
// CHECK: nl.yield %[[F]]#0, %[[F]]#1
// CHECK: return %[[R]]#0, %[[R]]#1
func.func @chunk(%w: tensor<2x3x4x5xf32>, %x: tensor<2x3x6x4x5xf32>, %a: tensor<2x3x6xf32>) -> (tensor<2x3x4x5xf32>, tensor<2x3x6x4x5xf32>) {
  %r:2 = nl.checkpoint(%w, %x, %a) : (tensor<2x3x4x5xf32>, tensor<2x3x6x4x5xf32>, tensor<2x3x6xf32>) -> (tensor<2x3x4x5xf32>, tensor<2x3x6x4x5xf32>) {
  ^bb0(%w0: tensor<2x3x4x5xf32>, %x0: tensor<2x3x6x4x5xf32>, %a0: tensor<2x3x6xf32>):
    %two = arith.constant dense<2.0> : tensor<2x3x6x4x5xf32>
    %half = arith.constant dense<0.5> : tensor<f32>
    %g = nl.broadcast %half : tensor<f32> -> tensor<2x3x6xf32>
    %ga = nl.mul %g, %a0 : (tensor<2x3x6xf32>, tensor<2x3x6xf32>) -> tensor<2x3x6xf32>
    %x2 = nl.mul %two, %x0 : (tensor<2x3x6x4x5xf32>, tensor<2x3x6x4x5xf32>) -> tensor<2x3x6x4x5xf32>
    %s = nl.linear_scan %ga, %x2, %w0 : (tensor<2x3x6xf32>, tensor<2x3x6x4x5xf32>, tensor<2x3x4x5xf32>) -> tensor<2x3x6x4x5xf32>
    %w1 = tensor.expand_shape %w0 [[0], [1], [2, 3], [4]] output_shape [2, 3, 1, 4, 5] : tensor<2x3x4x5xf32> into tensor<2x3x1x4x5xf32>
    %y = nl.add %s, %w1 : (tensor<2x3x6x4x5xf32>, tensor<2x3x1x4x5xf32>) -> tensor<2x3x6x4x5xf32>
    %last = nl.slice %y dim = 2 offset = 5 size = 1 : tensor<2x3x6x4x5xf32> -> tensor<2x3x1x4x5xf32>
    %end = tensor.collapse_shape %last [[0], [1], [2, 3], [4]] : tensor<2x3x1x4x5xf32> into tensor<2x3x4x5xf32>
    // The inner objective's value, unused (here through a negation): dropped,
    // not a reason to refuse.
    %loss = nl.sum %y : tensor<2x3x6x4x5xf32> -> tensor<f32>
    %negloss = nl.neg %loss : tensor<f32>
    nl.yield %end, %y : tensor<2x3x4x5xf32>, tensor<2x3x6x4x5xf32>
  }
  return %r#0, %r#1 : tensor<2x3x4x5xf32>, tensor<2x3x6x4x5xf32>
}

// -----

// A chunk that sums over the batch mixes slices: left as it is.
// CHECK-LABEL: func.func @sum_over_batch(
// CHECK-NOT: scf.forall
// CHECK: nl.checkpoint(%arg0) : (tensor<2x3x4xf32>) -> tensor<2x3x4xf32>
func.func @sum_over_batch(%w: tensor<2x3x4xf32>) -> tensor<2x3x4xf32> {
  // expected-remark @below {{chunk left unfused: 'nl.sum_to' has a result without the leading [batch, heads] dims}}
  %r = nl.checkpoint(%w) : (tensor<2x3x4xf32>) -> tensor<2x3x4xf32> {
  ^bb0(%w0: tensor<2x3x4xf32>):
    %s = nl.sum_to %w0 : tensor<2x3x4xf32> -> tensor<1x3x4xf32>
    %y = nl.add %w0, %s : (tensor<2x3x4xf32>, tensor<1x3x4xf32>) -> tensor<2x3x4xf32>
    nl.yield %y : tensor<2x3x4xf32>
  }
  return %r : tensor<2x3x4xf32>
}

// -----

// A slice along the heads dim mixes slices.
// CHECK-LABEL: func.func @slice_of_heads(
// CHECK-NOT: scf.forall
func.func @slice_of_heads(%w: tensor<2x3x4xf32>) -> tensor<2x3x4xf32> {
  // expected-remark @below {{chunk left unfused: 'nl.slice' may mix (batch, head) slices}}
  %r = nl.checkpoint(%w) : (tensor<2x3x4xf32>) -> tensor<2x3x4xf32> {
  ^bb0(%w0: tensor<2x3x4xf32>):
    %s = nl.slice %w0 dim = 1 offset = 0 size = 1 : tensor<2x3x4xf32> -> tensor<2x1x4xf32>
    %y = nl.add %w0, %s : (tensor<2x3x4xf32>, tensor<2x1x4xf32>) -> tensor<2x3x4xf32>
    nl.yield %y : tensor<2x3x4xf32>
  }
  return %r : tensor<2x3x4xf32>
}

// -----

// A sliced operand broadcast to a higher rank would land its (b, h) dims on
// other dims.
// CHECK-LABEL: func.func @rank_broadcast(
// CHECK-NOT: scf.forall
func.func @rank_broadcast(%w: tensor<2x3xf32>, %x: tensor<2x3x2x3xf32>) -> tensor<2x3x2x3xf32> {
  // expected-remark @below {{chunk left unfused: 'nl.mul' broadcasts a sliced operand to a higher rank}}
  %r = nl.checkpoint(%w, %x) : (tensor<2x3xf32>, tensor<2x3x2x3xf32>) -> tensor<2x3x2x3xf32> {
  ^bb0(%w0: tensor<2x3xf32>, %x0: tensor<2x3x2x3xf32>):
    %y = nl.mul %x0, %w0 : (tensor<2x3x2x3xf32>, tensor<2x3xf32>) -> tensor<2x3x2x3xf32>
    nl.yield %y : tensor<2x3x2x3xf32>
  }
  return %r : tensor<2x3x2x3xf32>
}

// -----

// An operand without the leading dims of the first one.
// CHECK-LABEL: func.func @unbatched_operand(
// CHECK-NOT: scf.forall
func.func @unbatched_operand(%w: tensor<2x3x4xf32>, %lr: tensor<4xf32>) -> tensor<2x3x4xf32> {
  // expected-remark @below {{chunk left unfused: an operand or result lacks the leading dims [2, 3]}}
  %r = nl.checkpoint(%w, %lr) : (tensor<2x3x4xf32>, tensor<4xf32>) -> tensor<2x3x4xf32> {
  ^bb0(%w0: tensor<2x3x4xf32>, %l: tensor<4xf32>):
    %y = nl.mul %w0, %l : (tensor<2x3x4xf32>, tensor<4xf32>) -> tensor<2x3x4xf32>
    nl.yield %y : tensor<2x3x4xf32>
  }
  return %r : tensor<2x3x4xf32>
}

// -----

// Nothing to run in parallel.
// CHECK-LABEL: func.func @single_slice(
// CHECK-NOT: scf.forall
func.func @single_slice(%w: tensor<1x1x4xf32>) -> tensor<1x1x4xf32> {
  // expected-remark @below {{chunk left unfused: batch x heads is 1}}
  %r = nl.checkpoint(%w) : (tensor<1x1x4xf32>) -> tensor<1x1x4xf32> {
  ^bb0(%w0: tensor<1x1x4xf32>):
    %y = nl.exp %w0 : tensor<1x1x4xf32>
    nl.yield %y : tensor<1x1x4xf32>
  }
  return %r : tensor<1x1x4xf32>
}
