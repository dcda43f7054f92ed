// RUN: nl-opt %s --split-input-file --verify-diagnostics

func.func @f(%a: tensor<2x8xf32>, %b: tensor<3x8xf32>) {
  // expected-error @+1 {{operands don't have broadcast-compatible shapes}}
  %y = nl.add %a, %b : (tensor<2x8xf32>, tensor<3x8xf32>) -> tensor<2x8xf32>
  return
}

// -----

func.func @f(%a: tensor<2x8xf32>, %b: tensor<2x8xf64>) {
  // expected-error @+1 {{requires the same element type for all operands and results}}
  %y = nl.mul %a, %b : (tensor<2x8xf32>, tensor<2x8xf64>) -> tensor<2x8xf32>
  return
}

// -----

func.func @f(%a: tensor<2x8xf32>, %b: tensor<8xf32>) {
  // expected-error @+1 {{result type '8' not broadcast compatible with broadcasted operands's shapes '2x8'}}
  %y = nl.sub %a, %b : (tensor<2x8xf32>, tensor<8xf32>) -> tensor<8xf32>
  return
}

// -----

func.func @f(%a: tensor<2x8xi32>) {
  // expected-error @+1 {{operand #0 must be tensor of floating-point values}}
  %y = "nl.silu"(%a) : (tensor<2x8xi32>) -> tensor<2x8xi32>
  return
}

// -----

func.func @f(%a: tensor<2x8xf32>) {
  // expected-error @+1 {{requires the same type for all operands and results}}
  %y = "nl.sigmoid"(%a) : (tensor<2x8xf32>) -> tensor<8x2xf32>
  return
}
