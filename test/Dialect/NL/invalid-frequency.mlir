// RUN: nl-opt %s --split-input-file --verify-diagnostics

// Rule: frequency > 0.
nl.model @m {
  // expected-error @+1 {{update frequency must be positive (rule: frequency > 0), got every 0 tokens}}
  nl.level @zero every <0 tokens> {
  }
}

// -----

nl.model @m {
  // expected-error @+1 {{update frequency must be positive (rule: frequency > 0), got every 0 steps}}
  nl.level @zero every <0 steps> {
  }
}

// -----

nl.model @m {
  // expected-error @+2 {{expected ::mlir::nl::FrequencyUnit to be one of: tokens, steps}}
  // expected-error @+1 {{failed to parse NL_FrequencyAttr parameter 'unit'}}
  nl.level @bad every <4 seconds> {
  }
}

// -----

// Regression: a negative period used to wrap around to 2^64 - 1.
nl.model @m {
  // expected-error @+1 {{update frequency must be positive (rule: frequency > 0), got every -1 tokens}}
  nl.level @neg every <-1 tokens> {
  }
}
