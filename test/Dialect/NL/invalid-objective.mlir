// RUN: nl-opt %s --split-input-file --verify-diagnostics

nl.model @m {
  nl.level @l every <4 tokens> {
    nl.memory @M : !nl.memory<matrix, heads = 1, in = 4, out = 4>
    // expected-error @+1 {{lp objective needs an exponent (p = P)}}
    nl.objective lp
  }
}

// -----

nl.model @m {
  nl.level @l every <4 tokens> {
    nl.memory @M : !nl.memory<matrix, heads = 1, in = 4, out = 4>
    // expected-error @+1 {{lp objective needs p >= 1, got 5.000000e-01}}
    nl.objective lp p = 0.5
  }
}

// -----

nl.model @m {
  nl.level @l every <4 tokens> {
    nl.memory @M : !nl.memory<matrix, heads = 1, in = 4, out = 4>
    // expected-error @+1 {{'p' is only valid for lp objectives}}
    nl.objective l2 p = 3.0
  }
}

// -----

nl.model @m {
  nl.level @l every <4 tokens> {
    nl.memory @M : !nl.memory<matrix, heads = 1, in = 4, out = 4>
    // expected-error @+1 {{huber objective needs a threshold delta > 0}}
    nl.objective huber
  }
}

// -----

nl.model @m {
  nl.level @l every <4 tokens> {
    nl.memory @M : !nl.memory<matrix, heads = 1, in = 4, out = 4>
    // expected-error @+1 {{'delta' is only valid for huber objectives}}
    nl.objective dot delta = 1.0
  }
}

// -----

nl.model @m {
  nl.level @l every <4 tokens> {
    nl.memory @M : !nl.memory<matrix, heads = 1, in = 4, out = 4>
    // expected-error @+1 {{custom objective needs a region computing L(M; k, v)}}
    nl.objective custom
  }
}

// -----

nl.model @m {
  nl.level @l every <4 tokens> {
    nl.memory @M : !nl.memory<matrix, heads = 1, in = 4, out = 4>
    // expected-error @+1 {{a l2 objective takes no region (only custom objectives do)}}
    nl.objective l2 {
    ^bb0(%M: !nl.memory<matrix, heads = 1, in = 4, out = 4>, %k: tensor<4xf32>, %v: tensor<4xf32>):
      %s = nl.sum %k : tensor<4xf32> -> tensor<f32>
      nl.yield %s : tensor<f32>
    }
  }
}

// -----

// Rule: an objective's region returns a scalar.
nl.model @m {
  nl.level @l every <4 tokens> {
    nl.memory @M : !nl.memory<matrix, heads = 1, in = 4, out = 4>
    // expected-error @+1 {{objective region must return a scalar (rule: an objective is a scalar loss), got 'tensor<4xf32>'}}
    nl.objective custom {
    ^bb0(%M: !nl.memory<matrix, heads = 1, in = 4, out = 4>, %k: tensor<4xf32>, %v: tensor<4xf32>):
      %p = nl.read %M(%k) : !nl.memory<matrix, heads = 1, in = 4, out = 4>, tensor<4xf32> -> tensor<4xf32>
      nl.yield %p : tensor<4xf32>
    }
  }
}

// -----

nl.model @m {
  nl.level @l every <4 tokens> {
    nl.memory @M : !nl.memory<matrix, heads = 1, in = 4, out = 4>
    // expected-error @+1 {{objective region must return one scalar, got 2 values}}
    nl.objective custom {
    ^bb0(%M: !nl.memory<matrix, heads = 1, in = 4, out = 4>, %k: tensor<4xf32>, %v: tensor<4xf32>):
      %s = nl.sum %k : tensor<4xf32> -> tensor<f32>
      nl.yield %s, %s : tensor<f32>, tensor<f32>
    }
  }
}

// -----

nl.model @m {
  nl.level @l every <4 tokens> {
    nl.memory @M : !nl.memory<matrix, heads = 1, in = 4, out = 4>
    // expected-error @+1 {{objective region takes (memory, key, value), got 2 arguments}}
    nl.objective custom {
    ^bb0(%M: !nl.memory<matrix, heads = 1, in = 4, out = 4>, %k: tensor<4xf32>):
      %s = nl.sum %k : tensor<4xf32> -> tensor<f32>
      nl.yield %s : tensor<f32>
    }
  }
}

// -----

nl.model @m {
  nl.level @l every <4 tokens> {
    nl.memory @M : !nl.memory<matrix, heads = 1, in = 4, out = 4>
    // expected-error @+1 {{objective region's first argument must be an !nl.memory, got 'tensor<4x4xf32>'}}
    nl.objective custom {
    ^bb0(%M: tensor<4x4xf32>, %k: tensor<4xf32>, %v: tensor<4xf32>):
      %s = nl.sum %k : tensor<4xf32> -> tensor<f32>
      nl.yield %s : tensor<f32>
    }
  }
}

// -----

// Rule: shapes of keys, values and memory agree.
nl.model @m {
  nl.level @l every <4 tokens> {
    nl.memory @M : !nl.memory<matrix, heads = 1, in = 4, out = 4>
    // expected-error @+1 {{objective region's key/value widths [8], [4] do not match the memory [4] -> [4]}}
    nl.objective custom {
    ^bb0(%M: !nl.memory<matrix, heads = 1, in = 4, out = 4>, %k: tensor<8xf32>, %v: tensor<4xf32>):
      %s = nl.sum %k : tensor<8xf32> -> tensor<f32>
      nl.yield %s : tensor<f32>
    }
  }
}

// -----

nl.model @m {
  nl.level @l every <4 tokens> {
    nl.memory @M : !nl.memory<matrix, heads = 1, in = 4, out = 4>
    // expected-error @+1 {{is not the type of any nl.memory of its level}}
    nl.objective custom {
    ^bb0(%M: !nl.memory<matrix, heads = 2, in = 4, out = 4>, %k: tensor<4xf32>, %v: tensor<4xf32>):
      %s = nl.sum %k : tensor<4xf32> -> tensor<f32>
      nl.yield %s : tensor<f32>
    }
  }
}

// -----

// nl.yield only terminates objective and read-function regions.
func.func @f(%x: tensor<f32>) {
  // expected-error @+1 {{'nl.yield' op expects parent op to be one of 'nl.objective, nl.read_fn, nl.checkpoint'}}
  nl.yield %x : tensor<f32>
}
