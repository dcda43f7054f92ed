// RUN: nl-opt %s --split-input-file --verify-diagnostics

func.func @f(%x: tensor<2x8x10xf32>) {
  // expected-error @+1 {{width 10 is not divisible by 4 heads}}
  %y = nl.split_heads %x heads = 4 : tensor<2x8x10xf32> -> tensor<2x4x8x2xf32>
  return
}

// -----

func.func @f(%x: tensor<2x8x16xf32>) {
  // expected-error @+1 {{heads must be >= 1}}
  %y = nl.split_heads %x heads = 0 : tensor<2x8x16xf32> -> tensor<2x0x8x16xf32>
  return
}

// -----

func.func @f(%x: tensor<2x8x16xf32>) {
  // expected-error @+1 {{result has shape [2x8x4x4] but expected [2x4x8x4]}}
  %y = nl.split_heads %x heads = 4 : tensor<2x8x16xf32> -> tensor<2x8x4x4xf32>
  return
}

// -----

func.func @f(%x: tensor<2x4x8x4xf32>) {
  // expected-error @+1 {{result has shape [2x8x8] but expected [2x8x16]}}
  %y = nl.merge_heads %x : tensor<2x4x8x4xf32> -> tensor<2x8x8xf32>
  return
}

// -----

func.func @f(%x: tensor<2x9xi32>) {
  // expected-error @+1 {{slice of 8 at offset 4 exceeds dim 1 of size 9}}
  %y = nl.slice %x dim = 1 offset = 4 size = 8 : tensor<2x9xi32> -> tensor<2x8xi32>
  return
}

// -----

func.func @f(%x: tensor<2x9xi32>) {
  // expected-error @+1 {{dim 2 out of range for rank 2}}
  %y = nl.slice %x dim = 2 offset = 0 size = 1 : tensor<2x9xi32> -> tensor<2x1xi32>
  return
}

// -----

func.func @f(%x: tensor<2x9xi32>) {
  // expected-error @+1 {{needs offset >= 0 and size >= 1}}
  %y = nl.slice %x dim = 1 offset = -1 size = 1 : tensor<2x9xi32> -> tensor<2x1xi32>
  return
}

// -----

func.func @f(%x: tensor<2x9xi32>) {
  // expected-error @+1 {{result element type must match the input}}
  %y = nl.slice %x dim = 1 offset = 0 size = 1 : tensor<2x9xi32> -> tensor<2x1xi64>
  return
}

// -----

// Regression: offset + size used to overflow and pass.
func.func @f(%x: tensor<2x9xi32>) {
  // expected-error @+1 {{slice of 1 at offset 9223372036854775807 exceeds dim 1 of size 9}}
  %y = nl.slice %x dim = 1 offset = 9223372036854775807 size = 1 : tensor<2x9xi32> -> tensor<2x1xi32>
  return
}
