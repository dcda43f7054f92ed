// RUN: nl-opt %s | nl-opt | FileCheck %s
// RUN: nl-opt %s --mlir-print-op-generic | nl-opt | FileCheck %s

// Context flows of every kind, memorize with and without gates,
// self-modifying projections, parameter reads.

!mem = !nl.memory<matrix, heads = 2, in = 8, out = 8>
!kv = tensor<1x2x16x8xf32>
!gate = tensor<1x2x16xf32>

// CHECK-LABEL: nl.model @flows
nl.model @flows {
  nl.level @outer every <1 steps> {
    nl.param @w : tensor<8x8xf32>
    nl.param @m0 : !nl.memory<matrix, heads = 2, in = 8, out = 8>
    nl.optimizer @opt adamw attributes {lr = 1.0e-3 : f64}
    nl.level @mem every <4 tokens> {
      nl.memory @M : !nl.memory<matrix, heads = 2, in = 8, out = 8> init @outer::@m0
      nl.objective l2
      nl.optimizer @inner momentum attributes {lr = 1.0e-1 : f64, beta = 0.9 : f64}
      nl.retention gate
    }
    nl.level @plain every <4 tokens> {
      nl.memory @M : !nl.memory<matrix, heads = 2, in = 8, out = 8>
      nl.objective dot
    }
    nl.level @proj every <8 tokens> {
      nl.memory @Mk : !nl.memory<mlp, heads = 2, in = 8, out = 8, hidden = 32>
      nl.memory @Mv : !nl.memory<mlp, heads = 2, in = 8, out = 8, hidden = 32>
      nl.memory @Meta : !nl.memory<mlp, heads = 2, in = 8, out = 1, hidden = 32>
      nl.objective l2
      nl.optimizer @dgd dgd attributes {lr = 1.0e-1 : f64}
    }
  }

  // CHECK-LABEL: func.func @step
  func.func @step(%tok: tensor<1x16xi32>, %k: !kv, %v: !kv, %q: !kv, %eta: !gate, %alpha: !gate, %beta: !gate) {
    // CHECK: nl.get_param @outer::@w : tensor<8x8xf32>
    %w = nl.get_param @outer::@w : tensor<8x8xf32>
    // CHECK: nl.flow tokens(%{{.*}} : tensor<1x16xi32>) -> <tokens, tensor<1x16xi32>>
    %ft = nl.flow tokens(%tok : tensor<1x16xi32>) -> !nl.flow<tokens, tensor<1x16xi32>>
    // CHECK: %[[KV:.*]] = nl.flow keys_values(%{{.*}}, %{{.*}} : tensor<1x2x16x8xf32>, tensor<1x2x16x8xf32>)
    %kv = nl.flow keys_values(%k, %v : !kv, !kv) -> !nl.flow<keys_values, !kv, !kv>
    // CHECK: %[[O:.*]] = nl.memorize @outer::@mem(%[[KV]]) read(%{{.*}}) lr(%{{.*}}) decay(%{{.*}}) momentum(%{{.*}}) :
    %o = nl.memorize @outer::@mem(%kv) read(%q) lr(%eta) decay(%alpha) momentum(%beta) : (!nl.flow<keys_values, !kv, !kv>, !kv, !gate, !gate, !gate) -> !kv
    // CHECK: nl.memorize @outer::@plain(%[[KV]]) read(%{{.*}}) :
    %p = nl.memorize @outer::@plain(%kv) read(%q) : (!nl.flow<keys_values, !kv, !kv>, !kv) -> !kv
    // CHECK: nl.memorize @outer::@plain(%[[KV]]) read(%{{.*}}) self_values :
    %s = nl.memorize @outer::@plain(%kv) read(%q) self_values : (!nl.flow<keys_values, !kv, !kv>, !kv) -> !kv
    // After the write: reading the level's output and its gradients is causal.
    // CHECK: nl.flow output of @outer::@mem(%[[O]] : tensor<1x2x16x8xf32>)
    %fo = nl.flow output of @outer::@mem(%o : !kv) -> !nl.flow<output, !kv>
    // CHECK: nl.flow gradients of @outer::@w -> <gradients, tensor<8x8xf32>>
    %fg = nl.flow gradients of @outer::@w -> !nl.flow<gradients, tensor<8x8xf32>>
    // CHECK: nl.flow gradients of @outer::@mem::@M -> <gradients, !nl.memory<matrix, heads = 2, in = 8, out = 8>>
    %fm = nl.flow gradients of @outer::@mem::@M -> !nl.flow<gradients, !mem>
    // CHECK: nl.self_modify @outer::@proj(%{{.*}}) : (tensor<1x2x16x8xf32>) -> (tensor<1x2x16x8xf32>, tensor<1x2x16x8xf32>, tensor<1x2x16x1xf32>)
    %pk, %pv, %pe = nl.self_modify @outer::@proj(%k) : (!kv) -> (!kv, !kv, tensor<1x2x16x1xf32>)
    return
  }
}
