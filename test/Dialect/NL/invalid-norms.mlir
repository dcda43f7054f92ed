// RUN: nl-opt %s --split-input-file --verify-diagnostics

func.func @f(%x: tensor<2x8x16xf32>, %g: tensor<8xf32>) {
  // expected-error @+1 {{gamma has shape [8] but expected [16]}}
  %y = nl.rmsnorm %x, %g : tensor<2x8x16xf32>, tensor<8xf32>
  return
}

// -----

func.func @f(%x: tensor<2x8x16xf32>, %g: tensor<16xf32>) {
  // expected-error @+1 {{eps must be positive}}
  %y = nl.rmsnorm %x, %g eps = 0.0 : tensor<2x8x16xf32>, tensor<16xf32>
  return
}

// -----

func.func @f(%x: tensor<2x8x16xf32>) {
  // expected-error @+1 {{eps must be positive}}
  %y = nl.l2norm %x eps = -1.0 : tensor<2x8x16xf32>
  return
}

// -----

func.func @f(%x: tensor<f32>) {
  // expected-error @+1 {{input must have rank >= 1, got 'tensor<f32>'}}
  %y = nl.softmax %x : tensor<f32>
  return
}
