// RUN: nl-opt %s | nl-opt | FileCheck %s

// CHECK-LABEL: func.func @grad
// CHECK: nl.attention_grad %arg0, %arg0, %arg1, %arg1, %arg1 window = 3 scale = 2.500000e-01 : (tensor<1x2x8x4xf32>, tensor<1x2x8x4xf32>, tensor<1x2x8x3xf32>, tensor<1x2x8x3xf32>, tensor<1x2x8x3xf32>) -> (tensor<1x2x8x4xf32>, tensor<1x2x8x4xf32>, tensor<1x2x8x3xf32>)
func.func @grad(%q: tensor<1x2x8x4xf32>, %v: tensor<1x2x8x3xf32>) -> tensor<1x2x8x4xf32> {
  %a, %b, %c = nl.attention_grad %q, %q, %v, %v, %v window = 3 scale = 0.25 : (tensor<1x2x8x4xf32>, tensor<1x2x8x4xf32>, tensor<1x2x8x3xf32>, tensor<1x2x8x3xf32>, tensor<1x2x8x3xf32>) -> (tensor<1x2x8x4xf32>, tensor<1x2x8x4xf32>, tensor<1x2x8x3xf32>)
  return %a : tensor<1x2x8x4xf32>
}

// CHECK-LABEL: func.func @kernels
// CHECK: %[[O:.*]] = nl.attention_kernel ins(%arg0, %arg0, %arg1 : tensor<1x2x8x4xf32>, tensor<1x2x8x4xf32>, tensor<1x2x8x3xf32>) outs(%arg1 : tensor<1x2x8x3xf32>) scale = 5.000000e-01 -> tensor<1x2x8x3xf32>
// CHECK: nl.attention_grad_kernel ins(%arg0, %arg0, %arg1, %[[O]], %arg1 : tensor<1x2x8x4xf32>, tensor<1x2x8x4xf32>, tensor<1x2x8x3xf32>, tensor<1x2x8x3xf32>, tensor<1x2x8x3xf32>) outs(%arg0, %arg0, %arg1 : tensor<1x2x8x4xf32>, tensor<1x2x8x4xf32>, tensor<1x2x8x3xf32>) window = 2 scale = 5.000000e-01 -> tensor<1x2x8x4xf32>, tensor<1x2x8x4xf32>, tensor<1x2x8x3xf32>
// CHECK: nl.attention_kernel ins(%arg2, %arg2, %arg3 : memref<1x2x8x4xf64>, memref<1x2x8x4xf64>, memref<1x2x8x3xf64>) outs(%arg3 : memref<1x2x8x3xf64>) scale = 1.000000e+00{{$}}
func.func @kernels(%q: tensor<1x2x8x4xf32>, %v: tensor<1x2x8x3xf32>, %qm: memref<1x2x8x4xf64>, %vm: memref<1x2x8x3xf64>) -> tensor<1x2x8x4xf32> {
  %o = nl.attention_kernel ins(%q, %q, %v : tensor<1x2x8x4xf32>, tensor<1x2x8x4xf32>, tensor<1x2x8x3xf32>) outs(%v : tensor<1x2x8x3xf32>) scale = 0.5 -> tensor<1x2x8x3xf32>
  %a, %b, %c = nl.attention_grad_kernel ins(%q, %q, %v, %o, %v : tensor<1x2x8x4xf32>, tensor<1x2x8x4xf32>, tensor<1x2x8x3xf32>, tensor<1x2x8x3xf32>, tensor<1x2x8x3xf32>) outs(%q, %q, %v : tensor<1x2x8x4xf32>, tensor<1x2x8x4xf32>, tensor<1x2x8x3xf32>) window = 2 scale = 0.5 -> tensor<1x2x8x4xf32>, tensor<1x2x8x4xf32>, tensor<1x2x8x3xf32>
  nl.attention_kernel ins(%qm, %qm, %vm : memref<1x2x8x4xf64>, memref<1x2x8x4xf64>, memref<1x2x8x3xf64>) outs(%vm : memref<1x2x8x3xf64>) scale = 1.0
  return %a : tensor<1x2x8x4xf32>
}
