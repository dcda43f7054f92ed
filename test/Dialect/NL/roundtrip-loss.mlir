// RUN: nl-opt %s | nl-opt | FileCheck %s
// RUN: nl-opt %s --mlir-print-op-generic | nl-opt | FileCheck %s

// Reductions and the cross-entropy loss (nats/token).

// CHECK-LABEL: func.func @loss
func.func @loss(%x: tensor<2x8x16xf32>, %logits: tensor<2x8x256xf32>, %t: tensor<2x8xi32>) -> tensor<f32> {
  // CHECK: nl.sum %{{.*}} : tensor<2x8x16xf32> -> tensor<f32>
  %0 = nl.sum %x : tensor<2x8x16xf32> -> tensor<f32>
  // CHECK: nl.mean %{{.*}} : tensor<2x8x16xf32> -> tensor<f32>
  %1 = nl.mean %x : tensor<2x8x16xf32> -> tensor<f32>
  // CHECK: nl.cross_entropy %{{.*}}, %{{.*}} : (tensor<2x8x256xf32>, tensor<2x8xi32>) -> tensor<f32>
  %2 = nl.cross_entropy %logits, %t : (tensor<2x8x256xf32>, tensor<2x8xi32>) -> tensor<f32>
  return %2 : tensor<f32>
}
