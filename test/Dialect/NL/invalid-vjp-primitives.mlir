// RUN: nl-opt %s --split-input-file --verify-diagnostics

func.func @f(%x: tensor<3xf32>) {
  // expected-error @+1 {{'nl.transpose' op input must have rank >= 2, got 'tensor<3xf32>'}}
  %0 = nl.transpose %x : tensor<3xf32> -> tensor<3xf32>
  return
}

// -----

func.func @f(%x: tensor<2x3xf32>) {
  // expected-error @+1 {{'nl.transpose' op result has shape [2x3] but expected [3x2]}}
  %0 = nl.transpose %x : tensor<2x3xf32> -> tensor<2x3xf32>
  return
}

// -----

func.func @f(%x: tensor<2x3xf32>) {
  // expected-error @+1 {{'nl.broadcast' op input shape [2x3] does not broadcast to the result shape [2x4]}}
  %0 = nl.broadcast %x : tensor<2x3xf32> -> tensor<2x4xf32>
  return
}

// -----

func.func @f(%x: tensor<2x3xf32>) {
  // expected-error @+1 {{'nl.broadcast' op input and result element types differ}}
  %0 = nl.broadcast %x : tensor<2x3xf32> -> tensor<2x3xf64>
  return
}

// -----

func.func @f(%x: tensor<2x3xf32>) {
  // expected-error @+1 {{'nl.sum_to' op result shape [2] does not broadcast to the input shape [2x3]}}
  %0 = nl.sum_to %x : tensor<2x3xf32> -> tensor<2xf32>
  return
}

// -----

func.func @f(%x: tensor<2x3xf32>) {
  // expected-error @+1 {{'nl.pad' op input of size 3 at offset 2 does not fit in 4}}
  %0 = nl.pad %x dim = 1 offset = 2 size = 4 : tensor<2x3xf32> -> tensor<2x4xf32>
  return
}

// -----

func.func @f(%x: tensor<2x3xf32>) {
  // expected-error @+1 {{'nl.pad' op dim 2 out of range for rank 2}}
  %0 = nl.pad %x dim = 2 offset = 0 size = 4 : tensor<2x3xf32> -> tensor<2x3xf32>
  return
}

// -----

func.func @f(%x: tensor<2x3xf32>) {
  // expected-error @+1 {{'nl.pad' op result has shape [2x3] but expected [2x5]}}
  %0 = nl.pad %x dim = 1 offset = 0 size = 5 : tensor<2x3xf32> -> tensor<2x3xf32>
  return
}

// -----

func.func @f(%dy: tensor<2x4x3xf32>, %ids: tensor<2x5xi32>) {
  // expected-error @+1 {{'nl.embedding_grad' op ids has shape [2x5] but expected [2x4]}}
  %0 = nl.embedding_grad %dy[%ids] : tensor<2x4x3xf32>, tensor<2x5xi32> -> tensor<7x3xf32>
  return
}

// -----

func.func @f(%dy: tensor<2x4x3xf32>, %ids: tensor<2x4xi32>) {
  // expected-error @+1 {{'nl.embedding_grad' op result width vs input width: 5 vs 3}}
  %0 = nl.embedding_grad %dy[%ids] : tensor<2x4x3xf32>, tensor<2x4xi32> -> tensor<7x5xf32>
  return
}

// -----

func.func @f(%ids: tensor<2x4xi32>) {
  // expected-error @+1 {{'nl.one_hot' op result must have rank 3}}
  %0 = nl.one_hot %ids : tensor<2x4xi32> -> tensor<8xf32>
  return
}

// -----

func.func @f(%ids: tensor<2x4xi32>) {
  // expected-error @+1 {{'nl.one_hot' op result has shape [2x5x7] but expected [2x4x7]}}
  %0 = nl.one_hot %ids : tensor<2x4xi32> -> tensor<2x5x7xf32>
  return
}

// -----

func.func @f(%s: tensor<2x4x5xf32>) {
  // expected-error @+1 {{'nl.causal_mask' op scores must be square [..., T, T]: 4 vs 5}}
  %0 = nl.causal_mask %s fill = 0.0 : tensor<2x4x5xf32>
  return
}

// -----

func.func @f(%s: tensor<2x4x4xf32>) {
  // expected-error @+1 {{'nl.causal_mask' op window must be >= 1 token, got 0}}
  %0 = nl.causal_mask %s fill = 0.0 window = 0 : tensor<2x4x4xf32>
  return
}

// -----

func.func @f(%x: tensor<2xf32>) {
  // expected-error @+1 {{'nl.checkpoint' op yields 1 values whose types must match the results}}
  %0 = nl.checkpoint(%x) : (tensor<2xf32>) -> tensor<3xf32> {
  ^bb0(%a: tensor<2xf32>):
    nl.yield %a : tensor<2xf32>
  }
  return
}

// -----

func.func @f(%x: tensor<2xf32>) {
  // expected-error @+1 {{'nl.checkpoint' op region arguments must match the operands}}
  %0 = nl.checkpoint(%x) : (tensor<2xf32>) -> tensor<2xf32> {
  ^bb0(%a: tensor<3xf32>):
    nl.yield %a : tensor<3xf32>
  }
  return
}

// -----

func.func @f(%a: tensor<2x1x4xf32>, %x: tensor<2x1x5x3xf32>, %h: tensor<2x1x3xf32>) {
  // expected-error @+1 {{'nl.linear_scan' op gate has shape [2x1x4] but expected [2x1x5]}}
  %0 = nl.linear_scan %a, %x, %h : (tensor<2x1x4xf32>, tensor<2x1x5x3xf32>, tensor<2x1x3xf32>) -> tensor<2x1x5x3xf32>
  return
}

// -----

func.func @f(%a: tensor<1x1x4x3x3xf32>, %x: tensor<1x1x4x2x3xf32>, %h: tensor<1x1x3x2xf32>) {
  // expected-error @+1 {{'nl.matrix_scan' op init has shape [1x1x3x2] but expected [1x1x2x3]}}
  %0 = nl.matrix_scan %a, %x, %h : (tensor<1x1x4x3x3xf32>, tensor<1x1x4x2x3xf32>, tensor<1x1x3x2xf32>) -> tensor<1x1x4x2x3xf32>
  return
}
