// RUN: nl-opt %s --split-input-file --verify-diagnostics

nl.model @m {
  // expected-error @+1 {{cannot be in an nl.model body (it holds only nl.level, nl.read_fn and func.func)}}
  %c = arith.constant 1.0 : f32
}
