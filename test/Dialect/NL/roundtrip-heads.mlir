// RUN: nl-opt %s | nl-opt | FileCheck %s
// RUN: nl-opt %s --mlir-print-op-generic | nl-opt | FileCheck %s

// Head split/merge and slicing (next-token targets).

// CHECK-LABEL: func.func @heads
func.func @heads(%x: tensor<2x8x16xf32>, %tok: tensor<2x9xi32>) {
  // CHECK: nl.split_heads %{{.*}} heads = 4 : tensor<2x8x16xf32> -> tensor<2x4x8x4xf32>
  %h = nl.split_heads %x heads = 4 : tensor<2x8x16xf32> -> tensor<2x4x8x4xf32>
  // CHECK: nl.merge_heads %{{.*}} : tensor<2x4x8x4xf32> -> tensor<2x8x16xf32>
  %m = nl.merge_heads %h : tensor<2x4x8x4xf32> -> tensor<2x8x16xf32>
  // CHECK: nl.slice %{{.*}} dim = 1 offset = 1 size = 8 : tensor<2x9xi32> -> tensor<2x8xi32>
  %t = nl.slice %tok dim = 1 offset = 1 size = 8 : tensor<2x9xi32> -> tensor<2x8xi32>
  return
}
