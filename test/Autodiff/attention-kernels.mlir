// The runtime's fused attention kernels (runtime/lib/Attention.cpp, here in
// float64 through nl-gradcheck's JIT, as nlc's CPU target runs them) against
// central finite differences over several of their query blocks (64 tokens)
// and key blocks (256), full and with a window that crosses query blocks.
// RUN: nl-gradcheck %s | FileCheck %s
// The VJP of nl.attention is one nl.attention_grad (the fused kernel on the CPU).
// RUN: nl-opt --nl-generate-gradients %s | FileCheck %s --check-prefix=VJP
// VJP-LABEL: func.func @attention_blocks_grad
// VJP: %[[O:.*]] = nl.attention %arg0, %arg1, %arg2
// VJP: nl.attention_grad %arg0, %arg1, %arg2, %[[O]], %{{.*}} :
// CHECK-NOT: FAIL
// CHECK: PASS: 2 function(s)

func.func @attention_blocks(%q: tensor<1x1x300x3xf64>, %k: tensor<1x1x300x3xf64>, %v: tensor<1x1x300x2xf64>, %w: tensor<1x1x300x2xf64>) -> tensor<f64> attributes {nl.differentiate = 1 : i64} {
  %0 = nl.attention %q, %k, %v : (tensor<1x1x300x3xf64>, tensor<1x1x300x3xf64>, tensor<1x1x300x2xf64>) -> tensor<1x1x300x2xf64>
  %1 = nl.mul %0, %w : (tensor<1x1x300x2xf64>, tensor<1x1x300x2xf64>) -> tensor<1x1x300x2xf64>
  %2 = nl.sum %1 : tensor<1x1x300x2xf64> -> tensor<f64>
  return %2 : tensor<f64>
}
func.func @attention_window_blocks(%q: tensor<1x1x300x3xf64>, %k: tensor<1x1x300x3xf64>, %v: tensor<1x1x300x2xf64>, %w: tensor<1x1x300x2xf64>) -> tensor<f64> attributes {nl.differentiate = 1 : i64} {
  %0 = nl.attention %q, %k, %v window = 100 scale = 1.5 : (tensor<1x1x300x3xf64>, tensor<1x1x300x3xf64>, tensor<1x1x300x2xf64>) -> tensor<1x1x300x2xf64>
  %1 = nl.mul %0, %w : (tensor<1x1x300x2xf64>, tensor<1x1x300x2xf64>) -> tensor<1x1x300x2xf64>
  %2 = nl.sum %1 : tensor<1x1x300x2xf64> -> tensor<f64>
  return %2 : tensor<f64>
}
