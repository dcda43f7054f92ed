// RUN: nl-opt %s --split-input-file --verify-diagnostics

nl.model @m {
  nl.level @l every <4 tokens> {
    nl.memory @M : !nl.memory<matrix, heads = 1, in = 4, out = 4>
    nl.objective l2
    // expected-error @+1 {{decay retention needs 0 < alpha <= 1}}
    nl.retention decay
  }
}

// -----

nl.model @m {
  nl.level @l every <4 tokens> {
    nl.memory @M : !nl.memory<matrix, heads = 1, in = 4, out = 4>
    nl.objective l2
    // expected-error @+1 {{decay retention needs 0 < alpha <= 1}}
    nl.retention decay alpha = 1.5
  }
}

// -----

nl.model @m {
  nl.level @l every <4 tokens> {
    nl.memory @M : !nl.memory<matrix, heads = 1, in = 4, out = 4>
    nl.objective l2
    // expected-error @+1 {{'lambda' is only valid for local retention}}
    nl.retention decay alpha = 0.5 lambda = 0.5
  }
}

// -----

nl.model @m {
  nl.level @l every <4 tokens> {
    nl.memory @M : !nl.memory<matrix, heads = 1, in = 4, out = 4>
    nl.objective l2
    // expected-error @+1 {{gate retention is data-dependent: its alpha_t is the decay(...) operand of nl.memorize, not an attribute}}
    nl.retention gate alpha = 0.5
  }
}

// -----

nl.model @m {
  nl.level @l every <4 tokens> {
    nl.memory @M : !nl.memory<matrix, heads = 1, in = 4, out = 4>
    nl.objective l2
    // expected-error @+1 {{local retention needs lambda > 0}}
    nl.retention local
  }
}

// -----

nl.model @m {
  nl.level @l every <4 tokens> {
    nl.memory @M : !nl.memory<matrix, heads = 1, in = 4, out = 4>
    nl.objective l2
    // expected-error @+1 {{'alpha' is only valid for decay retention}}
    nl.retention local alpha = 0.5 lambda = 0.5
  }
}
