// RUN: nl-opt %s --split-input-file --verify-diagnostics

// nl.get_param and nl.read.

nl.model @m {
  nl.level @l every <1 steps> {
    nl.param @w : tensor<4x4xf32>
  }
  func.func @f() {
    // expected-error @+1 {{result type 'tensor<4xf32>' does not match parameter @l::@w of type 'tensor<4x4xf32>'}}
    %w = nl.get_param @l::@w : tensor<4xf32>
    return
  }
}

// -----

nl.model @m {
  nl.level @l every <1 steps> {
  }
  func.func @f() {
    // expected-error @+1 {{@l does not name an nl.param}}
    %w = nl.get_param @l : tensor<4xf32>
    return
  }
}

// -----

func.func @f(%M: !nl.memory<matrix, heads = 1, in = 4, out = 8>, %k: tensor<8xf32>) {
  // expected-error @+1 {{key width vs the memory's in: 8 vs 4}}
  %y = nl.read %M(%k) : !nl.memory<matrix, heads = 1, in = 4, out = 8>, tensor<8xf32> -> tensor<8xf32>
  return
}

// -----

func.func @f(%M: !nl.memory<matrix, heads = 1, in = 4, out = 8>, %k: tensor<3x4xf32>) {
  // expected-error @+1 {{result has shape [3x4] but expected [3x8]}}
  %y = nl.read %M(%k) : !nl.memory<matrix, heads = 1, in = 4, out = 8>, tensor<3x4xf32> -> tensor<3x4xf32>
  return
}
