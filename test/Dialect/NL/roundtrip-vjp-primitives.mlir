// The primitive ops that VJPs are written with round-trip.
// RUN: nl-opt %s | nl-opt | FileCheck %s

// CHECK-LABEL: func.func @primitives
func.func @primitives(%x: tensor<2x3xf32>, %ids: tensor<2x4xi32>, %dy: tensor<2x4x3xf32>, %s: tensor<2x5x5xf32>) {
  // CHECK: nl.transpose %{{.*}} : tensor<2x3xf32> -> tensor<3x2xf32>
  %0 = nl.transpose %x : tensor<2x3xf32> -> tensor<3x2xf32>
  // CHECK: nl.broadcast %{{.*}} : tensor<2x3xf32> -> tensor<4x2x3xf32>
  %1 = nl.broadcast %x : tensor<2x3xf32> -> tensor<4x2x3xf32>
  // CHECK: nl.sum_to %{{.*}} : tensor<4x2x3xf32> -> tensor<2x1xf32>
  %2 = nl.sum_to %1 : tensor<4x2x3xf32> -> tensor<2x1xf32>
  // CHECK: nl.pad %{{.*}} dim = 1 offset = 2 size = 6 : tensor<2x3xf32> -> tensor<2x6xf32>
  %3 = nl.pad %x dim = 1 offset = 2 size = 6 : tensor<2x3xf32> -> tensor<2x6xf32>
  // CHECK: nl.embedding_grad %{{.*}}[%{{.*}}] : tensor<2x4x3xf32>, tensor<2x4xi32> -> tensor<7x3xf32>
  %4 = nl.embedding_grad %dy[%ids] : tensor<2x4x3xf32>, tensor<2x4xi32> -> tensor<7x3xf32>
  // CHECK: nl.one_hot %{{.*}} : tensor<2x4xi32> -> tensor<2x4x7xf32>
  %5 = nl.one_hot %ids : tensor<2x4xi32> -> tensor<2x4x7xf32>
  // CHECK: nl.causal_mask %{{.*}} fill = 0.000000e+00 window = 2 : tensor<2x5x5xf32>
  %6 = nl.causal_mask %s fill = 0.0 window = 2 : tensor<2x5x5xf32>
  // CHECK: nl.sign
  %7 = nl.sign %x : tensor<2x3xf32>
  // CHECK: nl.step
  %8 = nl.step %x : tensor<2x3xf32>
  return
}

// CHECK-LABEL: func.func @checkpoint
// CHECK: %{{.*}}:2 = nl.checkpoint(%{{.*}}) : (tensor<2xf32>) -> (tensor<2xf32>, tensor<2xf32>) {
// CHECK: ^bb0(%{{.*}}: tensor<2xf32>):
// CHECK: nl.yield %{{.*}}, %{{.*}} : tensor<2xf32>, tensor<2xf32>
func.func @checkpoint(%x: tensor<2xf32>) -> tensor<2xf32> {
  %0:2 = nl.checkpoint(%x) : (tensor<2xf32>) -> (tensor<2xf32>, tensor<2xf32>) {
  ^bb0(%a: tensor<2xf32>):
    %e = nl.exp %a : tensor<2xf32>
    nl.yield %e, %a : tensor<2xf32>, tensor<2xf32>
  }
  return %0#0 : tensor<2xf32>
}
