// RUN: nl-opt %s | nl-opt | FileCheck %s
// RUN: nl-opt %s --mlir-print-op-generic | nl-opt | FileCheck %s

// Embedding, linear (with and without bias), batched matmul; dynamic dims.

// CHECK-LABEL: func.func @linear
func.func @linear(%E: tensor<256x16xf32>, %ids: tensor<2x8xi32>, %W: tensor<16x32xf32>, %b: tensor<32xf32>, %a: tensor<2x4x8x16xf32>, %c: tensor<2x4x16x8xf32>, %d: tensor<?x?x16xf32>) {
  // CHECK: nl.embedding %{{.*}}[%{{.*}}] : tensor<256x16xf32>, tensor<2x8xi32> -> tensor<2x8x16xf32>
  %x = nl.embedding %E[%ids] : tensor<256x16xf32>, tensor<2x8xi32> -> tensor<2x8x16xf32>
  // CHECK: nl.linear %{{.*}}, %{{.*}} : (tensor<2x8x16xf32>, tensor<16x32xf32>) -> tensor<2x8x32xf32>
  %y = nl.linear %x, %W : (tensor<2x8x16xf32>, tensor<16x32xf32>) -> tensor<2x8x32xf32>
  // CHECK: nl.linear %{{.*}}, %{{.*}}, %{{.*}} : (tensor<2x8x16xf32>, tensor<16x32xf32>, tensor<32xf32>) -> tensor<2x8x32xf32>
  %z = nl.linear %x, %W, %b : (tensor<2x8x16xf32>, tensor<16x32xf32>, tensor<32xf32>) -> tensor<2x8x32xf32>
  // CHECK: nl.matmul %{{.*}}, %{{.*}} : (tensor<2x4x8x16xf32>, tensor<2x4x16x8xf32>) -> tensor<2x4x8x8xf32>
  %m = nl.matmul %a, %c : (tensor<2x4x8x16xf32>, tensor<2x4x16x8xf32>) -> tensor<2x4x8x8xf32>
  // CHECK: nl.linear %{{.*}}, %{{.*}} : (tensor<?x?x16xf32>, tensor<16x32xf32>) -> tensor<?x?x32xf32>
  %dy = nl.linear %d, %W : (tensor<?x?x16xf32>, tensor<16x32xf32>) -> tensor<?x?x32xf32>
  return
}
