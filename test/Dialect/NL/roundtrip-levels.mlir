// RUN: nl-opt %s --split-input-file | nl-opt --split-input-file | FileCheck %s
// RUN: nl-opt %s --split-input-file --mlir-print-op-generic | nl-opt --split-input-file | FileCheck %s

// Levels, frequencies in both units, nesting slowest-outermost, tail policy.

// CHECK-LABEL: nl.model @cms
// CHECK: nl.level @low every <256 steps> {
// CHECK: nl.level @mid every <16 steps> {
// CHECK: nl.level @high every <1 steps> {
// CHECK: nl.level @fast every <64 tokens> tail carry {
// CHECK: nl.level @faster every <1 tokens> {
nl.model @cms {
  nl.level @low every <256 steps> {
    nl.param @w_low : tensor<8x8xf32>
    nl.optimizer @opt_low adamw attributes {lr = 1.0e-04 : f64}
    nl.level @mid every <16 steps> {
      nl.param @w_mid : tensor<8x8xf32>
      nl.optimizer @opt_mid adamw attributes {lr = 1.0e-04 : f64}
      nl.level @high every <1 steps> {
        nl.param @w_high : tensor<8x8xf32>
        nl.param @m0 : !nl.memory<matrix, heads = 1, in = 8, out = 8>
        nl.optimizer @opt_high adamw attributes {lr = 1.0e-03 : f64}
        nl.level @fast every <64 tokens> tail carry {
          nl.memory @M : !nl.memory<matrix, heads = 1, in = 8, out = 8> init @low::@mid::@high::@m0
          nl.objective l2
          nl.level @faster every <1 tokens> {
          }
        }
      }
    }
  }
}

// -----

// An outermost level may be written in tokens; equal frequencies may nest.
// CHECK-LABEL: nl.model @flat
// CHECK: nl.level @a every <16 tokens>
// CHECK: nl.level @b every <16 tokens>
nl.model @flat {
  nl.level @a every <16 tokens> {
    nl.level @b every <16 tokens> {
    }
  }
}

// -----

// A parameter written by the level's second optimizer (`by`), the others by
// its first.
// CHECK-LABEL: nl.model @per_param
// CHECK: nl.param @w : tensor<4x4xf32> by @muon
// CHECK: nl.param @g : tensor<4xf32> init ones
nl.model @per_param {
  nl.level @p every <1 steps> {
    nl.optimizer @adamw adamw attributes {lr = 1.0e-3 : f64}
    nl.optimizer @muon muon attributes {lr = 2.0e-2 : f64}
    nl.param @w : tensor<4x4xf32> by @muon
    nl.param @g : tensor<4xf32> init ones
  }
}
