// RUN: nl-opt %s | nl-opt | FileCheck %s

// Linear attention as an associative memory: matrix memory, dot-product
// objective, GD with lr 1: M_t = M_{t-1} + v_t k_t^T (NL-A §5, Table in
// design/NESTED_LEARNING.md §2). Chunk size 1 is the exact recurrence.

// CHECK-LABEL: nl.model @linear_attention
// CHECK: nl.level @hebb every <1 tokens>
// CHECK-NEXT: nl.memory @M : !nl.memory<matrix, heads = 2, in = 16, out = 16>
// CHECK-NEXT: nl.objective dot
// CHECK-NEXT: nl.optimizer @gd gd attributes {lr = 1.000000e+00 : f64}
// CHECK: nl.memorize @outer::@hebb

!h = tensor<1x2x32x16xf32>

nl.model @linear_attention {
  nl.level @outer every <1 steps> {
    nl.level @hebb every <1 tokens> {
      nl.memory @M : !nl.memory<matrix, heads = 2, in = 16, out = 16>
      nl.objective dot
      nl.optimizer @gd gd attributes {lr = 1.0 : f64}
    }
  }
  func.func @mix(%q: !h, %k: !h, %v: !h) -> !h {
    %kv = nl.flow keys_values(%k, %v : !h, !h) -> !nl.flow<keys_values, !h, !h>
    %o = nl.memorize @outer::@hebb(%kv) read(%q) : (!nl.flow<keys_values, !h, !h>, !h) -> !h
    return %o : !h
  }
}
