// RUN: nl-opt %s --split-input-file --verify-diagnostics

func.func @f(%E: tensor<256x16xf32>, %ids: tensor<2x8xi32>) {
  // expected-error @+1 {{result has shape [2x8x32] but expected [2x8x16]}}
  %x = nl.embedding %E[%ids] : tensor<256x16xf32>, tensor<2x8xi32> -> tensor<2x8x32xf32>
  return
}

// -----

func.func @f(%E: tensor<256xf32>, %ids: tensor<2x8xi32>) {
  // expected-error @+1 {{table must have rank 2, got 'tensor<256xf32>'}}
  %x = nl.embedding %E[%ids] : tensor<256xf32>, tensor<2x8xi32> -> tensor<2x8x16xf32>
  return
}

// -----

func.func @f(%E: tensor<256x16xf32>, %ids: tensor<2x8xf32>) {
  // expected-error @+1 {{operand #1 must be tensor of signless integer values}}
  %x = nl.embedding %E[%ids] : tensor<256x16xf32>, tensor<2x8xf32> -> tensor<2x8x16xf32>
  return
}

// -----

func.func @f(%x: tensor<2x8x16xf32>, %W: tensor<32x16xf32>) {
  // expected-error @+1 {{input width [..., K] vs weight [K, N]: 16 vs 32}}
  %y = nl.linear %x, %W : (tensor<2x8x16xf32>, tensor<32x16xf32>) -> tensor<2x8x16xf32>
  return
}

// -----

func.func @f(%x: tensor<2x8x16xf32>, %W: tensor<16x32xf32>, %b: tensor<16xf32>) {
  // expected-error @+1 {{bias has shape [16] but expected [32]}}
  %y = nl.linear %x, %W, %b : (tensor<2x8x16xf32>, tensor<16x32xf32>, tensor<16xf32>) -> tensor<2x8x32xf32>
  return
}

// -----

func.func @f(%x: tensor<2x8x16xf32>, %W: tensor<16x32xf32>) {
  // expected-error @+1 {{result has shape [2x8x16] but expected [2x8x32]}}
  %y = nl.linear %x, %W : (tensor<2x8x16xf32>, tensor<16x32xf32>) -> tensor<2x8x16xf32>
  return
}

// -----

func.func @f(%a: tensor<2x8x16xf32>, %b: tensor<2x8x16xf32>) {
  // expected-error @+1 {{contraction dim: lhs [..., M, K] vs rhs [..., K, N]: 16 vs 8}}
  %y = nl.matmul %a, %b : (tensor<2x8x16xf32>, tensor<2x8x16xf32>) -> tensor<2x8x16xf32>
  return
}

// -----

func.func @f(%a: tensor<2x8x16xf32>, %b: tensor<3x16x8xf32>) {
  // expected-error @+1 {{batch dim 0: 2 vs 3}}
  %y = nl.matmul %a, %b : (tensor<2x8x16xf32>, tensor<3x16x8xf32>) -> tensor<2x8x8xf32>
  return
}

// -----

func.func @f(%a: tensor<2x8x16xf32>, %b: tensor<16x8xf32>) {
  // expected-error @+1 {{lhs and rhs must have the same rank}}
  %y = nl.matmul %a, %b : (tensor<2x8x16xf32>, tensor<16x8xf32>) -> tensor<2x8x8xf32>
  return
}
