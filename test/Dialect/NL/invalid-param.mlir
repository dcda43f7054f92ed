// RUN: nl-opt %s --split-input-file --verify-diagnostics

nl.model @m {
  nl.level @l every <1 steps> {
    // expected-error @+1 {{type must be a static-shaped float tensor or an !nl.memory, got 'tensor<?x4xf32>'}}
    nl.param @w : tensor<?x4xf32>
  }
}

// -----

nl.model @m {
  nl.level @l every <1 steps> {
    // expected-error @+1 {{type must be a static-shaped float tensor or an !nl.memory, got 'tensor<4xi32>'}}
    nl.param @w : tensor<4xi32>
  }
}

// -----

nl.model @m {
  nl.level @l every <1 steps> {
    // expected-error @+1 {{'identity' init needs a square 2-D tensor, got 'tensor<4x8xf32>'}}
    nl.param @w : tensor<4x8xf32> init identity
  }
}

// -----

nl.model @m {
  nl.level @l every <1 steps> {
    // expected-error @+1 {{std must be >= 0, got -1}}
    nl.param @w : tensor<4x8xf32> init normal std = -1.0
  }
}

// -----

// Parameters belong to a level (or an optimizer).
func.func @f() {
  // expected-error @+1 {{'nl.param' op expects parent op to be one of 'nl.level, nl.optimizer'}}
  nl.param @w : tensor<4xf32>
  return
}
