// RUN: nl-opt %s --split-input-file --verify-diagnostics

// The memory type's own rules.
nl.model @m {
  nl.level @l every <4 tokens> {
    // expected-error @+1 {{memory needs heads, in and out > 0, got heads = 0, in = 4, out = 4}}
    nl.memory @M : !nl.memory<matrix, heads = 0, in = 4, out = 4>
    nl.objective l2
  }
}

// -----

nl.model @m {
  nl.level @l every <4 tokens> {
    // expected-error @+1 {{mlp memory needs a hidden width > 0}}
    nl.memory @M : !nl.memory<mlp, heads = 1, in = 4, out = 4>
    nl.objective l2
  }
}

// -----

nl.model @m {
  nl.level @l every <4 tokens> {
    // expected-error @+1 {{'hidden' is only valid for mlp memories}}
    nl.memory @M : !nl.memory<matrix, heads = 1, in = 4, out = 4, hidden = 8>
    nl.objective l2
  }
}

// -----

nl.model @m {
  nl.level @l every <4 tokens> {
    // expected-error @+1 {{'act' is only valid for mlp memories}}
    nl.memory @M : !nl.memory<matrix, heads = 1, in = 4, out = 4, act = gelu>
    nl.objective l2
  }
}

// -----

nl.model @m {
  nl.level @l every <4 tokens> {
    // expected-error @+1 {{custom memory needs a read function (fn = @name)}}
    nl.memory @M : !nl.memory<custom, heads = 1, in = 4, out = 4>
    nl.objective l2
  }
}

// -----

nl.model @m {
  nl.level @l every <4 tokens> {
    // expected-error @+1 {{'fn' is only valid for custom memories}}
    nl.memory @M : !nl.memory<matrix, heads = 1, in = 4, out = 4, fn = @f>
    nl.objective l2
  }
}

// -----

// The read function must exist and match the memory's widths.
nl.model @m {
  nl.level @l every <4 tokens> {
    // expected-error @+1 {{read function @nope does not name an nl.read_fn of the model}}
    nl.memory @M : !nl.memory<custom, heads = 1, in = 4, out = 4, fn = @nope>
    nl.objective l2
  }
}

// -----

nl.model @m {
  nl.read_fn @f : (tensor<4x4xf32>, tensor<4xf32>) -> tensor<4xf32> {
  ^bb0(%W: tensor<4x4xf32>, %x: tensor<4xf32>):
    nl.yield %x : tensor<4xf32>
  }
  nl.level @l every <4 tokens> {
    // expected-error @+1 {{read function @f maps [4] to [4] but the memory maps [8] to [8]}}
    nl.memory @M : !nl.memory<custom, heads = 1, in = 8, out = 8, fn = @f>
    nl.objective l2
  }
}

// -----

// Rule: a memory's initial state is a parameter of a slower level.
nl.model @m {
  nl.level @l every <4 tokens> {
    // expected-error @+1 {{initial state @l::@nope does not name an nl.param}}
    nl.memory @M : !nl.memory<matrix, heads = 1, in = 4, out = 4> init @l::@nope
    nl.objective l2
  }
}

// -----

nl.model @m {
  nl.level @slow every <1 steps> {
    nl.param @m0 : !nl.memory<matrix, heads = 2, in = 4, out = 4>
    nl.level @l every <4 tokens> {
      // expected-error @+1 {{initial state @slow::@m0 has type '!nl.memory<matrix, heads = 2, in = 4, out = 4>' but the memory is '!nl.memory<matrix, heads = 1, in = 4, out = 4>'}}
      nl.memory @M : !nl.memory<matrix, heads = 1, in = 4, out = 4> init @slow::@m0
      nl.objective l2
    }
  }
}

// -----

nl.model @m {
  nl.level @l every <4 tokens> {
    nl.param @m0 : !nl.memory<matrix, heads = 1, in = 4, out = 4>
    // expected-error @+1 {{initial state @l::@m0 must be a parameter of a slower level (rule: a memory's initial state is meta-learned by a slower level)}}
    nl.memory @M : !nl.memory<matrix, heads = 1, in = 4, out = 4> init @l::@m0
    nl.objective l2
  }
}

// -----

// A faster sibling level cannot hold the initial state either.
nl.model @m {
  nl.level @fast every <1 tokens> {
    nl.param @m0 : !nl.memory<matrix, heads = 1, in = 4, out = 4>
  }
  nl.level @l every <4 tokens> {
    // expected-error @+1 {{initial state @fast::@m0 must be a parameter of a slower level}}
    nl.memory @M : !nl.memory<matrix, heads = 1, in = 4, out = 4> init @fast::@m0
    nl.objective l2
  }
}

// -----

// Regression: a read function without results used to crash the verifier.
nl.model @m {
  nl.read_fn @f : (tensor<4x4xf32>, tensor<4xf32>) -> () {
  ^bb0(%W: tensor<4x4xf32>, %x: tensor<4xf32>):
    nl.yield
  }
  nl.level @l every <4 tokens> {
    // expected-error @+1 {{read function @f must take parameters and a key and return one value, has type '(tensor<4x4xf32>, tensor<4xf32>) -> ()'}}
    nl.memory @M : !nl.memory<custom, heads = 1, in = 4, out = 4, fn = @f>
    nl.objective l2
  }
}

// -----

// Parameters holding custom memories are checked too.
nl.model @m {
  nl.level @l every <1 steps> {
    // expected-error @+1 {{read function @nope does not name an nl.read_fn of the model}}
    nl.param @p : !nl.memory<custom, heads = 1, in = 4, out = 4, fn = @nope>
  }
}

// -----

nl.model @m {
  nl.level @l every <4 tokens> {
    // expected-error @+1 {{'norm' is only valid for mlp memories}}
    nl.memory @M : !nl.memory<matrix, heads = 1, in = 4, out = 4, norm = layer>
    nl.objective l2
  }
}

// -----

nl.model @m {
  nl.level @l every <4 tokens> {
    // expected-error @+1 {{'norm' needs out >= 2 (a normalized single value is constant), got out = 1}}
    nl.memory @M : !nl.memory<mlp, heads = 1, in = 4, out = 1, hidden = 8, norm = rms>
    nl.objective l2
  }
}
