// RUN: nl-opt %s | nl-opt | FileCheck %s
// RUN: nl-opt %s --mlir-print-op-generic | nl-opt | FileCheck %s

// RMSNorm, L2 norm, softmax.

// CHECK-LABEL: func.func @norms
func.func @norms(%x: tensor<2x8x16xf32>, %g: tensor<16xf32>) {
  // CHECK: nl.rmsnorm %{{.*}}, %{{.*}} : tensor<2x8x16xf32>, tensor<16xf32>
  %0 = nl.rmsnorm %x, %g : tensor<2x8x16xf32>, tensor<16xf32>
  // CHECK: nl.rmsnorm %{{.*}}, %{{.*}} eps = 1.000000e-05 : tensor<2x8x16xf32>, tensor<16xf32>
  %1 = nl.rmsnorm %x, %g eps = 1.0e-5 : tensor<2x8x16xf32>, tensor<16xf32>
  // CHECK: nl.l2norm %{{.*}} : tensor<2x8x16xf32>
  %2 = nl.l2norm %x : tensor<2x8x16xf32>
  // CHECK: nl.l2norm %{{.*}} eps = 1.000000e-03 : tensor<2x8x16xf32>
  %3 = nl.l2norm %x eps = 1.0e-3 : tensor<2x8x16xf32>
  // CHECK: nl.softmax %{{.*}} : tensor<2x8x16xf32>
  %4 = nl.softmax %x : tensor<2x8x16xf32>
  return
}
