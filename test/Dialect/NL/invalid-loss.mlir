// RUN: nl-opt %s --split-input-file --verify-diagnostics

func.func @f(%x: tensor<2x8xf32>) {
  // expected-error @+1 {{returns a scalar tensor<'f32'>, got 'tensor<2xf32>'}}
  %y = nl.sum %x : tensor<2x8xf32> -> tensor<2xf32>
  return
}

// -----

func.func @f(%x: tensor<2x8xf32>) {
  // expected-error @+1 {{returns a scalar tensor<'f32'>, got 'tensor<f64>'}}
  %y = nl.mean %x : tensor<2x8xf32> -> tensor<f64>
  return
}

// -----

func.func @f(%l: tensor<2x8x256xf32>, %t: tensor<2x4xi32>) {
  // expected-error @+1 {{targets has shape [2x4] but expected [2x8]}}
  %y = nl.cross_entropy %l, %t : (tensor<2x8x256xf32>, tensor<2x4xi32>) -> tensor<f32>
  return
}

// -----

func.func @f(%l: tensor<2x8x256xf32>, %t: tensor<2x8xi32>) {
  // expected-error @+1 {{returns a scalar loss (nats/token), got 'tensor<2x8xf32>'}}
  %y = nl.cross_entropy %l, %t : (tensor<2x8x256xf32>, tensor<2x8xi32>) -> tensor<2x8xf32>
  return
}
