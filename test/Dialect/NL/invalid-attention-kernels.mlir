// RUN: nl-opt %s -split-input-file -verify-diagnostics

// nl.attention_grad: the cotangent has the result's shape, the results the
// types of q, k, v.
func.func @f(%q: tensor<2x4x64x8xf32>, %v: tensor<2x4x64x16xf32>, %dy: tensor<2x4x64x8xf32>) {
  // expected-error @+1 {{cotangent has shape [2x4x64x8] but expected [2x4x64x16]}}
  %a, %b, %c = nl.attention_grad %q, %q, %v, %v, %dy : (tensor<2x4x64x8xf32>, tensor<2x4x64x8xf32>, tensor<2x4x64x16xf32>, tensor<2x4x64x16xf32>, tensor<2x4x64x8xf32>) -> (tensor<2x4x64x8xf32>, tensor<2x4x64x8xf32>, tensor<2x4x64x16xf32>)
  return
}

// -----

func.func @f(%q: tensor<2x4x64x8xf32>, %v: tensor<2x4x64x16xf32>) {
  // expected-error @+1 {{results must have the types of query, key and value}}
  %a, %b, %c = nl.attention_grad %q, %q, %v, %v, %v : (tensor<2x4x64x8xf32>, tensor<2x4x64x8xf32>, tensor<2x4x64x16xf32>, tensor<2x4x64x16xf32>, tensor<2x4x64x16xf32>) -> (tensor<2x4x64x8xf32>, tensor<2x4x64x16xf32>, tensor<2x4x64x16xf32>)
  return
}

// -----

func.func @f(%q: tensor<2x4x64x8xf32>) {
  // expected-error @+1 {{window must be >= 1 token, got 0}}
  %a, %b, %c = nl.attention_grad %q, %q, %q, %q, %q window = 0 : (tensor<2x4x64x8xf32>, tensor<2x4x64x8xf32>, tensor<2x4x64x8xf32>, tensor<2x4x64x8xf32>, tensor<2x4x64x8xf32>) -> (tensor<2x4x64x8xf32>, tensor<2x4x64x8xf32>, tensor<2x4x64x8xf32>)
  return
}

// -----

// nl.attention_kernel: tensors and memrefs are not mixed.
func.func @f(%q: tensor<1x1x4x2xf32>, %o: memref<1x1x4x2xf32>) {
  // expected-error @+1 {{operands must be all ranked tensors or all memrefs of rank 4 with one float element type, got 'memref<1x1x4x2xf32>'}}
  nl.attention_kernel ins(%q, %q, %q : tensor<1x1x4x2xf32>, tensor<1x1x4x2xf32>, tensor<1x1x4x2xf32>) outs(%o : memref<1x1x4x2xf32>) scale = 1.0
  return
}

// -----

func.func @f(%q: memref<1x1x4x2xf32>, %v: memref<1x1x4x3xf32>, %o: memref<1x1x4x2xf32>) {
  // expected-error @+1 {{init has shape [1x1x4x2] but expected [1x1x4x3]}}
  nl.attention_kernel ins(%q, %q, %v : memref<1x1x4x2xf32>, memref<1x1x4x2xf32>, memref<1x1x4x3xf32>) outs(%o : memref<1x1x4x2xf32>) scale = 1.0
  return
}

// -----

func.func @f(%q: memref<1x1x4x2xf32>, %k: memref<1x1x5x2xf32>, %o: memref<1x1x4x2xf32>) {
  // expected-error @+1 {{key has shape [1x1x5x2] but expected [1x1x4x2]}}
  nl.attention_kernel ins(%q, %k, %q : memref<1x1x4x2xf32>, memref<1x1x5x2xf32>, memref<1x1x4x2xf32>) outs(%o : memref<1x1x4x2xf32>) scale = 1.0
  return
}

// -----

func.func @f(%q: tensor<1x1x4x2xf32>) {
  // expected-error @+1 {{on tensors returns one result per init}}
  nl.attention_kernel ins(%q, %q, %q : tensor<1x1x4x2xf32>, tensor<1x1x4x2xf32>, tensor<1x1x4x2xf32>) outs(%q : tensor<1x1x4x2xf32>) scale = 1.0
  return
}

// -----

func.func @f(%q: memref<1x1x4x2xf32>) {
  // expected-error @+1 {{scale must be positive and finite}}
  nl.attention_kernel ins(%q, %q, %q : memref<1x1x4x2xf32>, memref<1x1x4x2xf32>, memref<1x1x4x2xf32>) outs(%q : memref<1x1x4x2xf32>) scale = 0.0
  return
}

// -----

func.func @f(%q: memref<1x1x4x2xf32>) {
  // expected-error @+1 {{window must be >= 1 token, got 0}}
  nl.attention_kernel ins(%q, %q, %q : memref<1x1x4x2xf32>, memref<1x1x4x2xf32>, memref<1x1x4x2xf32>) outs(%q : memref<1x1x4x2xf32>) window = 0 scale = 1.0
  return
}

// -----

// nl.attention_grad_kernel writes dq, dk, dv: three inits.
func.func @f(%q: memref<1x1x4x2xf32>) {
  // expected-error @+1 {{takes 3 init(s), got 1}}
  nl.attention_grad_kernel ins(%q, %q, %q, %q, %q : memref<1x1x4x2xf32>, memref<1x1x4x2xf32>, memref<1x1x4x2xf32>, memref<1x1x4x2xf32>, memref<1x1x4x2xf32>) outs(%q : memref<1x1x4x2xf32>) scale = 1.0
  return
}

// -----

func.func @f(%q: memref<1x1x4x2xf32>, %o: memref<1x1x4x3xf32>) {
  // expected-error @+1 {{output has shape [1x1x4x3] but expected [1x1x4x2]}}
  nl.attention_grad_kernel ins(%q, %q, %q, %o, %q : memref<1x1x4x2xf32>, memref<1x1x4x2xf32>, memref<1x1x4x2xf32>, memref<1x1x4x3xf32>, memref<1x1x4x2xf32>) outs(%q, %q, %q : memref<1x1x4x2xf32>, memref<1x1x4x2xf32>, memref<1x1x4x2xf32>) scale = 1.0
  return
}
