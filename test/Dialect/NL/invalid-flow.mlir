// RUN: nl-opt %s --split-input-file --verify-diagnostics

!kv = tensor<1x2x16x8xf32>

func.func @f(%k: !kv, %v: !kv) {
  // expected-error @+1 {{result is a tokens flow but the op makes a keys_values flow}}
  %f = nl.flow keys_values(%k, %v : !kv, !kv) -> !nl.flow<tokens, !kv, !kv>
  return
}

// -----

func.func @f(%k: tensor<1x2x16x8xf32>) {
  // expected-error @+1 {{a keys_values flow takes 2 input(s), got 1}}
  %f = nl.flow keys_values(%k : tensor<1x2x16x8xf32>) -> !nl.flow<keys_values, tensor<1x2x16x8xf32>>
  return
}

// -----

func.func @f(%k: tensor<1x2x16x8xf32>, %v: tensor<1x2x8x8xf32>) {
  // expected-error @+1 {{keys [1x2x16x8] and values [1x2x8x8] must agree on [B, H, T] (rule: shapes of keys and values agree)}}
  %f = nl.flow keys_values(%k, %v : tensor<1x2x16x8xf32>, tensor<1x2x8x8xf32>) -> !nl.flow<keys_values, tensor<1x2x16x8xf32>, tensor<1x2x8x8xf32>>
  return
}

// -----

func.func @f(%k: tensor<2x16x8xf32>, %v: tensor<2x16x8xf32>) {
  // expected-error @+1 {{keys must have rank 4, got 'tensor<2x16x8xf32>'}}
  %f = nl.flow keys_values(%k, %v : tensor<2x16x8xf32>, tensor<2x16x8xf32>) -> !nl.flow<keys_values, tensor<2x16x8xf32>, tensor<2x16x8xf32>>
  return
}

// -----

func.func @f(%t: tensor<1x16xf32>) {
  // expected-error @+1 {{a tokens flow carries integer token ids [B, T]}}
  %f = nl.flow tokens(%t : tensor<1x16xf32>) -> !nl.flow<tokens, tensor<1x16xf32>>
  return
}

// -----

func.func @f(%t: tensor<1x16xi32>) {
  // expected-error @+1 {{flow element types must match its inputs}}
  %f = nl.flow tokens(%t : tensor<1x16xi32>) -> !nl.flow<tokens, tensor<1x8xi32>>
  return
}

// -----

func.func @f(%t: tensor<1x16xi32>) {
  // expected-error @+1 {{a tokens flow takes no source level ('of @...')}}
  %f = nl.flow tokens of @x(%t : tensor<1x16xi32>) -> !nl.flow<tokens, tensor<1x16xi32>>
  return
}

// -----

func.func @f() {
  // expected-error @+1 {{a gradients flow needs source level ('of @...')}}
  %f = nl.flow gradients -> !nl.flow<gradients, tensor<4xf32>>
  return
}

// -----

nl.model @m {
  nl.level @l every <1 steps> {
    nl.param @w : tensor<4x4xf32>
  }
  func.func @f() {
    // expected-error @+1 {{gradients of @l::@w have type 'tensor<4x4xf32>'}}
    %f = nl.flow gradients of @l::@w -> !nl.flow<gradients, tensor<4xf32>>
    return
  }
}

// -----

nl.model @m {
  nl.level @l every <1 steps> {
  }
  func.func @f() {
    // expected-error @+1 {{a gradients flow reads an nl.param or nl.memory; @l is neither}}
    %f = nl.flow gradients of @l -> !nl.flow<gradients, tensor<4xf32>>
    return
  }
}

// -----

nl.model @m {
  func.func @f() {
    // expected-error @+1 {{source @nope not found in the model}}
    %f = nl.flow gradients of @nope -> !nl.flow<gradients, tensor<4xf32>>
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
  func.func @f(%x: !kv) {
    // expected-error @+1 {{an output flow of @l must carry a result of nl.memorize or nl.self_modify of that level}}
    %f = nl.flow output of @l(%x : !kv) -> !nl.flow<output, !kv>
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
  func.func @f(%x: !kv) {
    // expected-error @+1 {{an output flow reads an nl.level; @l::@M is not one}}
    %f = nl.flow output of @l::@M(%x : !kv) -> !nl.flow<output, !kv>
    return
  }
}

// -----
!kv = tensor<1x2x16x8xf32>

// Rule: causality. The memory of @l is written by the nl.memorize below, so
// a flow that reads its state (its gradients) cannot come first.
nl.model @m {
  nl.level @l every <4 tokens> {
    nl.memory @M : !nl.memory<matrix, heads = 2, in = 8, out = 8>
    nl.objective l2
  }
  func.func @f(%k: !kv, %v: !kv) {
    // expected-error @+1 {{reads the state of level @l before it is written in the same step (rule: causality)}}
    %g = nl.flow gradients of @l::@M -> !nl.flow<gradients, !nl.memory<matrix, heads = 2, in = 8, out = 8>>
    %kv = nl.flow keys_values(%k, %v : !kv, !kv) -> !nl.flow<keys_values, !kv, !kv>
    // expected-note @+1 {{the level is written here}}
    %o = nl.memorize @l(%kv) read(%k) : (!nl.flow<keys_values, !kv, !kv>, !kv) -> !kv
    return
  }
}

// -----
!kv = tensor<1x2x16x8xf32>

// Causality across regions: a write inside a branch does not dominate a read
// after the branch.
nl.model @m {
  nl.level @l every <4 tokens> {
    nl.memory @M : !nl.memory<matrix, heads = 2, in = 8, out = 8>
    nl.objective l2
  }
  func.func @f(%k: !kv, %v: !kv, %c: i1) {
    %kv = nl.flow keys_values(%k, %v : !kv, !kv) -> !nl.flow<keys_values, !kv, !kv>
    scf.if %c {
      // expected-note @+1 {{the level is written here}}
      %o = nl.memorize @l(%kv) read(%k) : (!nl.flow<keys_values, !kv, !kv>, !kv) -> !kv
    }
    // expected-error @+1 {{reads the state of level @l before it is written in the same step (rule: causality)}}
    %g = nl.flow gradients of @l::@M -> !nl.flow<gradients, !nl.memory<matrix, heads = 2, in = 8, out = 8>>
    return
  }
}
