// RUN: nl-opt %s | nl-opt | FileCheck %s
// RUN: nl-opt %s --mlir-print-op-generic | nl-opt | FileCheck %s

// Sequence mixing: causal depthwise conv, causal attention (full, sliding
// window, explicit scale).

// CHECK-LABEL: func.func @sequence
func.func @sequence(%x: tensor<2x64x16xf32>, %w: tensor<4x16xf32>, %q: tensor<2x4x64x8xf32>, %k: tensor<2x4x64x8xf32>, %v: tensor<2x4x64x16xf32>) {
  // CHECK: nl.causal_conv %{{.*}}, %{{.*}} : tensor<2x64x16xf32>, tensor<4x16xf32>
  %0 = nl.causal_conv %x, %w : tensor<2x64x16xf32>, tensor<4x16xf32>
  // CHECK: nl.attention %{{.*}}, %{{.*}}, %{{.*}} : (tensor<2x4x64x8xf32>, tensor<2x4x64x8xf32>, tensor<2x4x64x16xf32>) -> tensor<2x4x64x16xf32>
  %1 = nl.attention %q, %k, %v : (tensor<2x4x64x8xf32>, tensor<2x4x64x8xf32>, tensor<2x4x64x16xf32>) -> tensor<2x4x64x16xf32>
  // CHECK: nl.attention %{{.*}}, %{{.*}}, %{{.*}} window = 16 :
  %2 = nl.attention %q, %k, %v window = 16 : (tensor<2x4x64x8xf32>, tensor<2x4x64x8xf32>, tensor<2x4x64x16xf32>) -> tensor<2x4x64x16xf32>
  // CHECK: nl.attention %{{.*}}, %{{.*}}, %{{.*}} window = 16 scale = 5.000000e-01 :
  %3 = nl.attention %q, %k, %v window = 16 scale = 0.5 : (tensor<2x4x64x8xf32>, tensor<2x4x64x8xf32>, tensor<2x4x64x16xf32>) -> tensor<2x4x64x16xf32>
  return
}
