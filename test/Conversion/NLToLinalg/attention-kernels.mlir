// RUN: nl-opt --convert-nl-to-linalg=attention-kernels=1 %s | FileCheck %s
// RUN: nl-opt --convert-nl-to-linalg %s | FileCheck %s --check-prefix=DECOMPOSED
// RUN: nl-opt --convert-nl-to-linalg=attention-kernels=1 --one-shot-bufferize=bufferize-function-boundaries %s | FileCheck %s --check-prefix=BUFFERS

// With attention-kernels (the CPU target), nl.attention and nl.attention_grad
// become the destination-passing kernel ops on empty inits, the default
// scale (1 / sqrt(dk) = 0.5) made explicit; without it, both are
// decomposed (matmuls, the causal mask, softmax). Bufferized, the kernel ops
// write into allocated buffers and return nothing.
// CHECK-LABEL: func.func @attention
// CHECK: %[[E:.*]] = tensor.empty() : tensor<2x2x8x3xf32>
// CHECK: %[[O:.*]] = nl.attention_kernel ins(%arg0, %arg1, %arg2 : tensor<2x2x8x4xf32>, tensor<2x2x8x4xf32>, tensor<2x2x8x3xf32>) outs(%[[E]] : tensor<2x2x8x3xf32>) window = 5 scale = 5.000000e-01 -> tensor<2x2x8x3xf32>
// CHECK: nl.attention_grad_kernel ins(%arg0, %arg1, %arg2, %[[O]], %arg3 : {{.*}}) outs(%{{.*}}, %{{.*}}, %{{.*}} : tensor<2x2x8x4xf32>, tensor<2x2x8x4xf32>, tensor<2x2x8x3xf32>) window = 5 scale = 5.000000e-01 -> tensor<2x2x8x4xf32>, tensor<2x2x8x4xf32>, tensor<2x2x8x3xf32>
// DECOMPOSED-LABEL: func.func @attention
// DECOMPOSED-NOT: nl.attention
// DECOMPOSED: linalg.generic
// DECOMPOSED-NOT: nl.attention
// BUFFERS-LABEL: func.func @attention
// BUFFERS: %[[A:.*]] = memref.alloc() {{.*}} : memref<2x2x8x3xf32>
// BUFFERS: nl.attention_kernel ins({{.*}} : memref<2x2x8x4xf32, strided<{{.*}}>>, memref<2x2x8x4xf32, strided<{{.*}}>>, memref<2x2x8x3xf32, strided<{{.*}}>>) outs(%[[A]] : memref<2x2x8x3xf32>) window = 5 scale = 5.000000e-01
// BUFFERS-NOT: ->
// BUFFERS: nl.attention_grad_kernel ins(
func.func @attention(%q: tensor<2x2x8x4xf32>, %k: tensor<2x2x8x4xf32>, %v: tensor<2x2x8x3xf32>, %dy: tensor<2x2x8x3xf32>) -> (tensor<2x2x8x3xf32>, tensor<2x2x8x4xf32>, tensor<2x2x8x4xf32>, tensor<2x2x8x3xf32>) {
  %o = nl.attention %q, %k, %v window = 5 : (tensor<2x2x8x4xf32>, tensor<2x2x8x4xf32>, tensor<2x2x8x3xf32>) -> tensor<2x2x8x3xf32>
  %dq, %dk, %dv = nl.attention_grad %q, %k, %v, %o, %dy window = 5 : (tensor<2x2x8x4xf32>, tensor<2x2x8x4xf32>, tensor<2x2x8x3xf32>, tensor<2x2x8x3xf32>, tensor<2x2x8x3xf32>) -> (tensor<2x2x8x4xf32>, tensor<2x2x8x4xf32>, tensor<2x2x8x3xf32>)
  return %o, %dq, %dk, %dv : tensor<2x2x8x3xf32>, tensor<2x2x8x4xf32>, tensor<2x2x8x4xf32>, tensor<2x2x8x3xf32>
}
