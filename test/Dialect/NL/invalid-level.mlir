// RUN: nl-opt %s --split-input-file --verify-diagnostics

// Rule: an inner level is at least as fast as its parent (same unit).
nl.model @m {
  nl.level @outer every <16 steps> {
    // expected-error @+1 {{'nl.level' op (every 256 steps) is slower than its parent level @outer (every 16 steps); rule: an inner level is at least as fast as the level that contains it}}
    nl.level @inner every <256 steps> {
    }
  }
}

// -----

// Same rule across units: a steps level cannot sit inside a tokens level.
nl.model @m {
  nl.level @outer every <64 tokens> {
    // expected-error @+1 {{(every 1 steps) is slower than its parent level @outer (every 64 tokens)}}
    nl.level @inner every <1 steps> {
    }
  }
}

// -----

// Same rule, tokens inside tokens.
nl.model @m {
  nl.level @outer every <16 tokens> {
    // expected-error @+1 {{(every 64 tokens) is slower than its parent level @outer (every 16 tokens)}}
    nl.level @inner every <64 tokens> {
    }
  }
}

// -----

nl.model @m {
  // expected-error @+1 {{'tail carry' needs a frequency in tokens}}
  nl.level @l every <4 steps> tail carry {
  }
}

// -----

nl.model @m {
  nl.level @l every <4 steps> {
    // expected-error @+1 {{cannot be in an nl.level body}}
    %c = arith.constant 1.0 : f32
  }
}

// -----

nl.model @m {
  // expected-error @+1 {{has 2 nl.objective ops; a level has at most one inner objective}}
  nl.level @l every <4 tokens> {
    nl.memory @M : !nl.memory<matrix, heads = 1, in = 4, out = 4>
    nl.objective l2
    nl.objective dot
  }
}

// -----

nl.model @m {
  nl.level @l every <4 steps> {
    nl.optimizer @a gd attributes {lr = 1.0 : f64}
    // expected-error @+1 {{writes no parameter: an optimizer after the level's first must be named by some nl.param (`by @b`)}}
    nl.optimizer @b gd attributes {lr = 1.0 : f64}
  }
}

// -----

nl.model @m {
  // expected-error @+1 {{has 2 nl.optimizer ops; a level written every N tokens (a memory) has at most one optimizer}}
  nl.level @l every <4 tokens> {
    nl.memory @M : !nl.memory<matrix, heads = 1, in = 4, out = 4>
    nl.objective l2
    nl.optimizer @a gd attributes {lr = 1.0 : f64}
    nl.optimizer @b gd attributes {lr = 1.0 : f64}
  }
}

// -----

nl.model @m {
  nl.level @l every <1 steps> {
    nl.optimizer @a gd attributes {lr = 1.0 : f64}
    // expected-error @+1 {{'nl.param' op is written by @c, which is not an nl.optimizer of its level}}
    nl.param @w : tensor<2x2xf32> by @c
  }
}

// -----

nl.model @m {
  // expected-error @+1 {{has 2 nl.retention ops; a level has at most one retention rule}}
  nl.level @l every <4 tokens> {
    nl.memory @M : !nl.memory<matrix, heads = 1, in = 4, out = 4>
    nl.objective l2
    nl.retention gate
    nl.retention decay alpha = 0.5
  }
}

// -----

nl.model @m {
  // expected-error @+1 {{has an inner objective but no associative memory (nl.memory) for it to train}}
  nl.level @l every <4 tokens> {
    nl.objective l2
  }
}

// -----

nl.model @m {
  // expected-error @+1 {{has an associative memory but no inner objective (nl.objective) to train it}}
  nl.level @l every <4 tokens> {
    nl.memory @M : !nl.memory<matrix, heads = 1, in = 4, out = 4>
  }
}

// -----

// A level lives in a model or another level.
// expected-error @+1 {{'nl.level' op expects parent op to be one of 'nl.model, nl.level'}}
nl.level @orphan every <1 steps> {
}

// -----

nl.model @m {
  // expected-note @+1 {{see existing symbol definition here}}
  nl.level @l every <1 steps> {
  }
  // expected-error @+1 {{redefinition of symbol named 'l'}}
  nl.level @l every <1 steps> {
  }
}
