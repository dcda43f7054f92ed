// RUN: nl-opt %s --split-input-file --verify-diagnostics

// Rule: shapes of keys, values, queries and memory agree; gates match tokens.

!kv = tensor<1x2x16x8xf32>
!flow = !nl.flow<keys_values, tensor<1x2x16x8xf32>, tensor<1x2x16x8xf32>>

nl.model @m {
  nl.level @l every <4 tokens> {
    nl.memory @M : !nl.memory<matrix, heads = 4, in = 8, out = 8>
    nl.objective l2
  }
  func.func @f(%kv: !flow, %q: !kv) {
    // expected-error @+1 {{keys' heads vs the memory's (rule: shapes of keys, values, queries and memory agree): 2 vs 4}}
    %o = nl.memorize @l(%kv) read(%q) : (!flow, !kv) -> !kv
    return
  }
}

// -----
!kv = tensor<1x2x16x8xf32>
!flow = !nl.flow<keys_values, tensor<1x2x16x8xf32>, tensor<1x2x16x8xf32>>

nl.model @m {
  nl.level @l every <4 tokens> {
    nl.memory @M : !nl.memory<matrix, heads = 2, in = 16, out = 8>
    nl.objective l2
  }
  func.func @f(%kv: !flow, %q: !kv) {
    // expected-error @+1 {{key width vs the memory's in (rule: shapes of keys, values, queries and memory agree): 8 vs 16}}
    %o = nl.memorize @l(%kv) read(%q) : (!flow, !kv) -> !kv
    return
  }
}

// -----
!kv = tensor<1x2x16x8xf32>
!flow = !nl.flow<keys_values, tensor<1x2x16x8xf32>, tensor<1x2x16x8xf32>>

nl.model @m {
  nl.level @l every <4 tokens> {
    nl.memory @M : !nl.memory<matrix, heads = 2, in = 8, out = 4>
    nl.objective l2
  }
  func.func @f(%kv: !flow, %q: !kv) {
    // expected-error @+1 {{value width vs the memory's out (rule: shapes of keys, values, queries and memory agree): 8 vs 4}}
    %o = nl.memorize @l(%kv) read(%q) : (!flow, !kv) -> tensor<1x2x16x4xf32>
    return
  }
}

// -----
!kv = tensor<1x2x16x8xf32>
!flow = !nl.flow<keys_values, tensor<1x2x16x8xf32>, tensor<1x2x16x8xf32>>

nl.model @m {
  nl.level @l every <4 tokens> {
    nl.memory @M : !nl.memory<matrix, heads = 2, in = 8, out = 8>
    nl.objective l2
  }
  func.func @f(%kv: !flow, %q: tensor<1x2x16x4xf32>) {
    // expected-error @+1 {{query width vs the memory's in (rule: shapes of keys, values, queries and memory agree): 4 vs 8}}
    %o = nl.memorize @l(%kv) read(%q) : (!flow, tensor<1x2x16x4xf32>) -> !kv
    return
  }
}

// -----
!flow = !nl.flow<keys_values, tensor<1x2x16x8xf32>, tensor<1x2x16x8xf32>>

nl.model @m {
  nl.level @l every <4 tokens> {
    nl.memory @M : !nl.memory<matrix, heads = 2, in = 8, out = 8>
    nl.objective l2
  }
  func.func @f(%kv: !flow, %q: tensor<3x2x16x8xf32>) {
    // expected-error @+1 {{queries' batch vs keys' (rule: shapes of keys, values, queries and memory agree): 3 vs 1}}
    %o = nl.memorize @l(%kv) read(%q) : (!flow, tensor<3x2x16x8xf32>) -> tensor<3x2x16x8xf32>
    return
  }
}

// -----
!kv = tensor<1x2x16x8xf32>
!flow = !nl.flow<keys_values, tensor<1x2x16x8xf32>, tensor<1x2x16x8xf32>>

nl.model @m {
  nl.level @l every <4 tokens> {
    nl.memory @M : !nl.memory<matrix, heads = 2, in = 8, out = 8>
    nl.objective l2
  }
  func.func @f(%kv: !flow, %q: !kv) {
    // expected-error @+1 {{result has shape [1x2x16x4] but expected [1x2x16x8]}}
    %o = nl.memorize @l(%kv) read(%q) : (!flow, !kv) -> tensor<1x2x16x4xf32>
    return
  }
}

// -----
!kv = tensor<1x2x16x8xf32>
!flow = !nl.flow<keys_values, tensor<1x2x16x8xf32>, tensor<1x2x16x8xf32>>

nl.model @m {
  nl.level @l every <4 tokens> {
    nl.memory @M : !nl.memory<matrix, heads = 2, in = 8, out = 8>
    nl.objective l2
  }
  func.func @f(%kv: !flow, %q: !kv, %eta: tensor<1x2x8xf32>) {
    // expected-error @+1 {{lr gate has shape [1x2x8] but expected [1x2x16]}}
    %o = nl.memorize @l(%kv) read(%q) lr(%eta) : (!flow, !kv, tensor<1x2x8xf32>) -> !kv
    return
  }
}

// -----
!kv = tensor<1x2x16x8xf32>
!flow = !nl.flow<keys_values, tensor<1x2x16x8xf32>, tensor<1x2x16x8xf32>>

nl.model @m {
  nl.level @l every <4 tokens> {
    nl.memory @M : !nl.memory<matrix, heads = 2, in = 8, out = 8>
    nl.objective l2
    nl.retention gate
  }
  func.func @f(%kv: !flow, %q: !kv) {
    // expected-error @+1 {{level @l has gate retention: a decay(...) operand with alpha_t per token is required}}
    %o = nl.memorize @l(%kv) read(%q) : (!flow, !kv) -> !kv
    return
  }
}

// -----
!kv = tensor<1x2x16x8xf32>
!flow = !nl.flow<keys_values, tensor<1x2x16x8xf32>, tensor<1x2x16x8xf32>>

nl.model @m {
  nl.level @l every <4 tokens> {
    nl.memory @M : !nl.memory<matrix, heads = 2, in = 8, out = 8>
    nl.objective l2
  }
  func.func @f(%kv: !flow, %q: !kv, %a: tensor<1x2x16xf32>) {
    // expected-error @+1 {{has a decay(...) operand but level @l has no gate retention}}
    %o = nl.memorize @l(%kv) read(%q) decay(%a) : (!flow, !kv, tensor<1x2x16xf32>) -> !kv
    return
  }
}

// -----
!kv = tensor<1x2x16x8xf32>
!flow = !nl.flow<keys_values, tensor<1x2x16x8xf32>, tensor<1x2x16x8xf32>>

nl.model @m {
  nl.level @l every <1 steps> {
    nl.param @w : tensor<4xf32>
  }
  func.func @f(%kv: !flow, %q: !kv) {
    // expected-error @+1 {{needs a level written every C tokens of its flow; @l is written every 1 steps}}
    %o = nl.memorize @l(%kv) read(%q) : (!flow, !kv) -> !kv
    return
  }
}

// -----
!kv = tensor<1x2x16x8xf32>
!flow = !nl.flow<keys_values, tensor<1x2x16x8xf32>, tensor<1x2x16x8xf32>>

nl.model @m {
  nl.level @l every <4 tokens> {
  }
  func.func @f(%kv: !flow, %q: !kv) {
    // expected-error @+1 {{level @l has no inner objective (nl.objective)}}
    %o = nl.memorize @l(%kv) read(%q) : (!flow, !kv) -> !kv
    return
  }
}

// -----
!kv = tensor<1x2x16x8xf32>
!flow = !nl.flow<keys_values, tensor<1x2x16x8xf32>, tensor<1x2x16x8xf32>>

nl.model @m {
  nl.level @l every <4 tokens> {
    nl.memory @A : !nl.memory<matrix, heads = 2, in = 8, out = 8>
    nl.memory @B : !nl.memory<matrix, heads = 2, in = 8, out = 8>
    nl.objective l2
  }
  func.func @f(%kv: !flow, %q: !kv) {
    // expected-error @+1 {{needs a level with exactly one nl.memory; @l has 2 (nl.self_modify runs several)}}
    %o = nl.memorize @l(%kv) read(%q) : (!flow, !kv) -> !kv
    return
  }
}

// -----
!kv = tensor<1x2x16x8xf32>
!flow = !nl.flow<keys_values, tensor<1x2x16x8xf32>, tensor<1x2x16x8xf32>>

nl.model @m {
  func.func @f(%kv: !flow, %q: !kv) {
    // expected-error @+1 {{level @nope not found in the model}}
    %o = nl.memorize @nope(%kv) read(%q) : (!flow, !kv) -> !kv
    return
  }
}

// -----
!kv = tensor<1x2x16x8xf32>
!flow = !nl.flow<keys_values, tensor<1x2x16x8xf32>, tensor<1x2x16x8xf32>>

nl.model @m {
  nl.level @l every <4 tokens> {
    nl.memory @M : !nl.memory<matrix, heads = 2, in = 8, out = 8>
    nl.objective l2
  }
  func.func @f(%kv: !flow, %q: !kv) {
    // expected-error @+1 {{@l::@M does not name an nl.level}}
    %o = nl.memorize @l::@M(%kv) read(%q) : (!flow, !kv) -> !kv
    return
  }
}

// -----
!kv = tensor<1x2x16x8xf32>

nl.model @m {
  nl.level @l every <4 tokens> {
    nl.memory @M : !nl.memory<matrix, heads = 2, in = 8, out = 8>
    nl.objective l2
  }
  func.func @f(%t: tensor<1x16xi32>, %q: !kv) {
    %ft = nl.flow tokens(%t : tensor<1x16xi32>) -> !nl.flow<tokens, tensor<1x16xi32>>
    // expected-error @+1 {{learns from a keys_values flow, got a tokens flow}}
    %o = nl.memorize @l(%ft) read(%q) : (!nl.flow<tokens, tensor<1x16xi32>>, !kv) -> !kv
    return
  }
}

// -----

// With self_values the values are read by the memory: v̂ = M(v).
nl.model @m {
  nl.level @l every <4 tokens> {
    nl.memory @M : !nl.memory<matrix, heads = 2, in = 4, out = 8>
    nl.objective l2
  }
  func.func @f(%k: tensor<1x2x16x4xf32>, %v: tensor<1x2x16x8xf32>, %q: tensor<1x2x16x4xf32>) {
    %kv = nl.flow keys_values(%k, %v : tensor<1x2x16x4xf32>, tensor<1x2x16x8xf32>) -> !nl.flow<keys_values, tensor<1x2x16x4xf32>, tensor<1x2x16x8xf32>>
    // expected-error @+1 {{value width vs the memory's in (self_values: v̂ = M(v)) (rule: shapes of keys, values, queries and memory agree): 8 vs 4}}
    %o = nl.memorize @l(%kv) read(%q) self_values : (!nl.flow<keys_values, tensor<1x2x16x4xf32>, tensor<1x2x16x8xf32>>, tensor<1x2x16x4xf32>) -> tensor<1x2x16x8xf32>
    return
  }
}

// -----

!kv = tensor<1x2x16x8xf32>
!flow = !nl.flow<keys_values, tensor<1x2x16x8xf32>, tensor<1x2x16x8xf32>>
func.func @outside(%kv: !flow, %q: !kv) {
  // expected-error @+1 {{must be inside an nl.model to resolve @l}}
  %o = nl.memorize @l(%kv) read(%q) : (!flow, !kv) -> !kv
  return
}
