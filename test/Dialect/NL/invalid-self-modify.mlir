// RUN: nl-opt %s --split-input-file --verify-diagnostics

!x = tensor<1x2x16x8xf32>

nl.model @m {
  nl.level @p every <8 tokens> {
    nl.memory @Mk : !nl.memory<mlp, heads = 2, in = 8, out = 8, hidden = 16>
    nl.memory @Mv : !nl.memory<mlp, heads = 2, in = 8, out = 8, hidden = 16>
    nl.objective l2
  }
  func.func @f(%x: !x) {
    // expected-error @+1 {{level @p has 2 memories but the op returns 1 results (one read per memory)}}
    %k = nl.self_modify @p(%x) : (!x) -> !x
    return
  }
}

// -----
!x = tensor<1x2x16x8xf32>

nl.model @m {
  nl.level @p every <8 tokens> {
    nl.memory @Mk : !nl.memory<mlp, heads = 4, in = 8, out = 8, hidden = 16>
    nl.objective l2
  }
  func.func @f(%x: !x) {
    // expected-error @+1 {{input heads vs memory @Mk: 2 vs 4}}
    %k = nl.self_modify @p(%x) : (!x) -> !x
    return
  }
}

// -----
!x = tensor<1x2x16x8xf32>

nl.model @m {
  nl.level @p every <8 tokens> {
    nl.memory @Mk : !nl.memory<mlp, heads = 2, in = 16, out = 16, hidden = 16>
    nl.objective l2
  }
  func.func @f(%x: !x) {
    // expected-error @+1 {{input width vs memory @Mk's in: 8 vs 16}}
    %k = nl.self_modify @p(%x) : (!x) -> tensor<1x2x16x16xf32>
    return
  }
}

// -----
!x = tensor<1x2x16x8xf32>

nl.model @m {
  nl.level @p every <8 tokens> {
    nl.memory @Mk : !nl.memory<mlp, heads = 2, in = 8, out = 1, hidden = 16>
    nl.objective l2
  }
  func.func @f(%x: !x) {
    // expected-error @+1 {{result #0 has shape [1x2x16x8] but expected [1x2x16x1]}}
    %k = nl.self_modify @p(%x) : (!x) -> !x
    return
  }
}

// -----
!x = tensor<1x2x16x8xf32>

nl.model @m {
  nl.level @p every <1 steps> {
  }
  func.func @f(%x: !x) {
    // expected-error @+1 {{needs a level written every C tokens of its flow; @p is written every 1 steps}}
    %k = nl.self_modify @p(%x) : (!x) -> !x
    return
  }
}

// -----
!x = tensor<1x2x16x8xf32>

nl.model @m {
  nl.level @p every <8 tokens> {
    nl.memory @Mk : !nl.memory<mlp, heads = 2, in = 8, out = 8, hidden = 16>
    nl.objective l2
  }
  func.func @f(%x: !x) {
    // expected-error @+1 {{level @p needs at least two memories: the first makes the keys, the second the values}}
    %k = nl.self_modify @p(%x) : (!x) -> !x
    return
  }
}

// -----
!x = tensor<1x2x16x8xf32>
!g = tensor<1x2x16x1xf32>

nl.model @m {
  nl.level @p every <8 tokens> {
    nl.memory @Mk : !nl.memory<mlp, heads = 2, in = 8, out = 8, hidden = 16>
    nl.memory @Meta : !nl.memory<mlp, heads = 2, in = 8, out = 1, hidden = 16>
    nl.objective l2
  }
  func.func @f(%x: !x) {
    // expected-error @+1 {{the values, made by level @p's second memory @Meta (width 1), are read by every memory of the level (v̂_i = M_i(v)), but @Mk reads width 8}}
    %k, %e = nl.self_modify @p(%x) : (!x) -> (!x, !g)
    return
  }
}
