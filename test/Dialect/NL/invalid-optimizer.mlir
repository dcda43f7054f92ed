// RUN: nl-opt %s --split-input-file --verify-diagnostics

nl.model @m {
  nl.level @l every <1 steps> {
    // expected-error @+1 {{learning rate must be positive, got lr = 0}}
    nl.optimizer @o gd attributes {lr = 0.0 : f64}
  }
}

// -----

nl.model @m {
  nl.level @l every <1 steps> {
    // expected-error @+1 {{'beta' is not a hyperparameter of gd optimizers}}
    nl.optimizer @o gd attributes {lr = 1.0 : f64, beta = 0.9 : f64}
  }
}

// -----

nl.model @m {
  nl.level @l every <1 steps> {
    // expected-error @+1 {{'beta2' is not a hyperparameter of momentum optimizers}}
    nl.optimizer @o momentum attributes {lr = 1.0 : f64, beta2 = 0.9 : f64}
  }
}

// -----

nl.model @m {
  nl.level @l every <1 steps> {
    // expected-error @+1 {{beta must be in [0, 1), got 1}}
    nl.optimizer @o momentum attributes {lr = 1.0 : f64, beta = 1.0 : f64}
  }
}

// -----

nl.model @m {
  nl.level @l every <1 steps> {
    // expected-error @+1 {{beta2 must be in [0, 1), got -5.000000e-01}}
    nl.optimizer @o adamw attributes {lr = 1.0 : f64, beta2 = -0.5 : f64}
  }
}

// -----

nl.model @m {
  nl.level @l every <1 steps> {
    // expected-error @+1 {{eps must be positive}}
    nl.optimizer @o adam attributes {lr = 1.0 : f64, eps = 0.0 : f64}
  }
}

// -----

nl.model @m {
  nl.level @l every <1 steps> {
    // expected-error @+1 {{weight_decay must be >= 0}}
    nl.optimizer @o adamw attributes {lr = 1.0 : f64, weight_decay = -0.1 : f64}
  }
}

// -----

nl.model @m {
  nl.level @l every <1 steps> {
    // expected-error @+1 {{ns_steps (Newton-Schulz iterations) must be in [1, 16], got 0}}
    nl.optimizer @o muon attributes {lr = 1.0 : f64, ns_steps = 0}
  }
}

// -----

nl.model @m {
  nl.level @l every <1 steps> {
    // expected-error @+1 {{m3 needs slow_period: the frequency (in steps) of its slow momentum level (NL-A Alg. 1)}}
    nl.optimizer @o m3 attributes {lr = 1.0 : f64}
  }
}

// -----

nl.model @m {
  nl.level @l every <1 steps> {
    // expected-error @+1 {{slow_period (the frequency (in steps) of its slow momentum level (NL-A Alg. 1)) must be in [1, 2147483647], got 0}}
    nl.optimizer @o m3 attributes {lr = 1.0 : f64, slow_period = 0}
  }
}

// -----

nl.model @m {
  nl.level @l every <1 steps> {
    // expected-error @+1 {{alpha must be >= 0}}
    nl.optimizer @o m3 attributes {lr = 1.0 : f64, slow_period = 4, alpha = -1.0 : f64}
  }
}

// -----

nl.model @m {
  nl.level @l every <1 steps> {
    // expected-error @+1 {{dmgd needs its deep momentum: an nl.memory of kind mlp in its body (NL-N Eq. 23)}}
    nl.optimizer @o dmgd attributes {lr = 1.0 : f64} {
      nl.memory @m : !nl.memory<matrix, heads = 1, in = 4, out = 4>
      nl.objective dot
    }
  }
}

// -----

nl.model @m {
  nl.level @l every <1 steps> {
    // expected-error @+1 {{custom optimizer needs an nl.objective in its body}}
    nl.optimizer @o custom attributes {lr = 1.0 : f64} {
      nl.param @m : tensor<4xf32>
    }
  }
}

// -----

nl.model @m {
  nl.level @l every <1 steps> {
    nl.optimizer @o gd attributes {lr = 1.0 : f64} {
      // expected-error @+1 {{cannot be in an nl.optimizer body}}
      nl.level @x every <1 steps> {
      }
    }
  }
}

// -----

nl.model @m {
  nl.level @l every <1 steps> {
    // expected-error @+1 {{has an associative memory but no inner objective}}
    nl.optimizer @o dmgd attributes {lr = 1.0 : f64} {
      nl.memory @m : !nl.memory<mlp, heads = 1, in = 4, out = 4, hidden = 8>
    }
  }
}

// -----

nl.model @m {
  // expected-error @+1 {{'nl.optimizer' op cannot be in an nl.model body}}
  nl.optimizer @o gd attributes {lr = 1.0 : f64}
}

// -----

nl.model @m {
  nl.level @l every <1 steps> {
    // expected-error @+1 {{unknown optimizer kind 'sgd' (known: gd, momentum, delta_momentum, delta_momentum_matrix, dgd, adam, adamw, muon, m3, dmgd, custom)}}
    nl.optimizer @o sgd attributes {lr = 1.0 : f64}
  }
}

// -----

nl.model @m {
  nl.level @l every <1 steps> {
    // expected-error @+1 {{clip_norm must be > 0, got 0}}
    nl.optimizer @o adamw attributes {lr = 1.0 : f64, clip_norm = 0.0 : f64}
  }
}

// -----

nl.model @m {
  nl.level @l every <1 steps> {
    nl.level @mem every <4 tokens> {
      nl.memory @M : !nl.memory<matrix, heads = 1, in = 4, out = 4>
      nl.objective l2
      // expected-error @+1 {{clip_norm clips the gradient of a level written every N steps; a memory level (written every 4 tokens) takes clamp_norm}}
      nl.optimizer @o momentum attributes {lr = 0.1 : f64, beta = 0.9 : f64, clip_norm = 1.0 : f64}
    }
    nl.optimizer @outer gd attributes {lr = 1.0 : f64}
  }
}

// -----

nl.model @m {
  nl.level @l every <1 steps> {
    // expected-error @+1 {{clamp_norm soft-clamps the inner gradient of a memory level (written every N tokens); a level written every N steps takes clip_norm}}
    nl.optimizer @o adamw attributes {lr = 1.0 : f64, clamp_norm = 1.0 : f64}
  }
}

// -----

nl.model @m {
  nl.level @l every <1 steps> {
    nl.level @mem every <4 tokens> {
      nl.memory @M : !nl.memory<matrix, heads = 1, in = 4, out = 4>
      nl.objective l2
      // expected-error @+1 {{clamp_norm must be > 0, got -1}}
      nl.optimizer @o momentum attributes {lr = 0.1 : f64, beta = 0.9 : f64, clamp_norm = -1.0 : f64}
    }
    nl.optimizer @outer gd attributes {lr = 1.0 : f64}
  }
}

// -----

nl.model @m {
  nl.level @l every <1 steps> {
    // expected-error @+1 {{'ns_steps' must be an integer (i64)}}
    nl.optimizer @o muon attributes {lr = 1.0 : f64, ns_steps = 5.0 : f64}
  }
}

// -----

nl.model @m {
  nl.level @l every <1 steps> {
    // expected-error @+1 {{'beta' must be a float (f64)}}
    nl.optimizer @o momentum attributes {lr = 1.0 : f64, beta = 1 : i64}
  }
}
