// RUN: nl-opt %s --split-input-file --verify-diagnostics

func.func @f(%x: tensor<2x64x16xf32>, %w: tensor<4x8xf32>) {
  // expected-error @+1 {{weight [K, D] vs input [B, T, D]: 8 vs 16}}
  %y = nl.causal_conv %x, %w : tensor<2x64x16xf32>, tensor<4x8xf32>
  return
}

// -----

func.func @f(%x: tensor<64x16xf32>, %w: tensor<4x16xf32>) {
  // expected-error @+1 {{input must have rank 3, got 'tensor<64x16xf32>'}}
  %y = nl.causal_conv %x, %w : tensor<64x16xf32>, tensor<4x16xf32>
  return
}

// -----

func.func @f(%q: tensor<2x4x64x8xf32>, %k: tensor<2x4x64x16xf32>, %v: tensor<2x4x64x16xf32>) {
  // expected-error @+1 {{key has shape [2x4x64x16] but expected [2x4x64x8]}}
  %y = nl.attention %q, %k, %v : (tensor<2x4x64x8xf32>, tensor<2x4x64x16xf32>, tensor<2x4x64x16xf32>) -> tensor<2x4x64x16xf32>
  return
}

// -----

func.func @f(%q: tensor<2x4x64x8xf32>, %k: tensor<2x4x64x8xf32>, %v: tensor<2x4x32x16xf32>) {
  // expected-error @+1 {{value has shape [2x4x32x16] but expected [2x4x64x16]}}
  %y = nl.attention %q, %k, %v : (tensor<2x4x64x8xf32>, tensor<2x4x64x8xf32>, tensor<2x4x32x16xf32>) -> tensor<2x4x64x16xf32>
  return
}

// -----

func.func @f(%q: tensor<2x4x64x8xf32>, %k: tensor<2x4x64x8xf32>, %v: tensor<2x4x64x16xf32>) {
  // expected-error @+1 {{result has shape [2x4x64x8] but expected [2x4x64x16]}}
  %y = nl.attention %q, %k, %v : (tensor<2x4x64x8xf32>, tensor<2x4x64x8xf32>, tensor<2x4x64x16xf32>) -> tensor<2x4x64x8xf32>
  return
}

// -----

func.func @f(%q: tensor<2x4x64x8xf32>, %k: tensor<2x4x64x8xf32>, %v: tensor<2x4x64x16xf32>) {
  // expected-error @+1 {{window must be >= 1 token, got 0}}
  %y = nl.attention %q, %k, %v window = 0 : (tensor<2x4x64x8xf32>, tensor<2x4x64x8xf32>, tensor<2x4x64x16xf32>) -> tensor<2x4x64x16xf32>
  return
}

// -----

func.func @f(%q: tensor<2x4x64x8xf32>, %k: tensor<2x4x64x8xf32>, %v: tensor<2x4x64x16xf32>) {
  // expected-error @+1 {{scale must be positive}}
  %y = nl.attention %q, %k, %v scale = -1.0 : (tensor<2x4x64x8xf32>, tensor<2x4x64x8xf32>, tensor<2x4x64x16xf32>) -> tensor<2x4x64x16xf32>
  return
}
