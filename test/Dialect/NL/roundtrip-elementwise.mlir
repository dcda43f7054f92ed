// RUN: nl-opt %s | nl-opt | FileCheck %s
// RUN: nl-opt %s --mlir-print-op-generic | nl-opt | FileCheck %s

// Elementwise arithmetic (with broadcasting) and activations.

// CHECK-LABEL: func.func @binary
func.func @binary(%x: tensor<2x8x16xf32>, %y: tensor<2x8x16xf32>, %s: tensor<f32>, %r: tensor<16xf32>) {
  // CHECK: nl.add %{{.*}}, %{{.*}} : (tensor<2x8x16xf32>, tensor<2x8x16xf32>) -> tensor<2x8x16xf32>
  %0 = nl.add %x, %y : (tensor<2x8x16xf32>, tensor<2x8x16xf32>) -> tensor<2x8x16xf32>
  // CHECK: nl.sub
  %1 = nl.sub %x, %y : (tensor<2x8x16xf32>, tensor<2x8x16xf32>) -> tensor<2x8x16xf32>
  // A scalar broadcasts: 0.1 * sigmoid(...).
  // CHECK: nl.mul %{{.*}}, %{{.*}} : (tensor<f32>, tensor<2x8x16xf32>) -> tensor<2x8x16xf32>
  %2 = nl.mul %s, %x : (tensor<f32>, tensor<2x8x16xf32>) -> tensor<2x8x16xf32>
  // A row broadcasts over leading dims.
  // CHECK: nl.div %{{.*}}, %{{.*}} : (tensor<2x8x16xf32>, tensor<16xf32>) -> tensor<2x8x16xf32>
  %3 = nl.div %x, %r : (tensor<2x8x16xf32>, tensor<16xf32>) -> tensor<2x8x16xf32>
  return
}

// CHECK-LABEL: func.func @unary
func.func @unary(%x: tensor<4x8xf32>) {
  // CHECK: nl.neg %{{.*}} : tensor<4x8xf32>
  %0 = nl.neg %x : tensor<4x8xf32>
  // CHECK: nl.abs
  %1 = nl.abs %x : tensor<4x8xf32>
  // CHECK: nl.exp
  %2 = nl.exp %x : tensor<4x8xf32>
  // CHECK: nl.log
  %3 = nl.log %x : tensor<4x8xf32>
  // CHECK: nl.sqrt
  %4 = nl.sqrt %x : tensor<4x8xf32>
  // CHECK: nl.silu
  %5 = nl.silu %x : tensor<4x8xf32>
  // CHECK: nl.gelu
  %6 = nl.gelu %x : tensor<4x8xf32>
  // CHECK: nl.sigmoid
  %7 = nl.sigmoid %x : tensor<4x8xf32>
  // CHECK: nl.softplus
  %8 = nl.softplus %x : tensor<4x8xf32>
  // CHECK: nl.tanh
  %9 = nl.tanh %x : tensor<4x8xf32>
  // CHECK: nl.relu
  %10 = nl.relu %x : tensor<4x8xf32>
  // CHECK: nl.pow %{{.*}}, 2.000000e+00 : tensor<4x8xf32>
  %11 = nl.pow %x, 2.0 : tensor<4x8xf32>
  return
}
