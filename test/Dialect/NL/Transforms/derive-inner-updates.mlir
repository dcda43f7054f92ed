// RUN: nl-opt --derive-inner-updates --split-input-file --verify-diagnostics %s | FileCheck %s
// RUN: nl-opt --derive-inner-updates="dual-form=0" --split-input-file --verify-diagnostics %s | FileCheck %s --check-prefix=SCAN

// Hebbian rule on a matrix memory (dot objective, gd, no retention), T = 4
// over chunks of 2. The memory level is erased; the memory's initial state
// param is split into a tensor param that the derived code reads.
// CHECK-LABEL: nl.model @m
// CHECK: nl.level @outer
// CHECK-NOT: nl.level @mem
// CHECK: nl.param @M0.w : tensor<1x3x2xf32>
// CHECK-NOT: !nl.memory
// CHECK: func.func @step
// CHECK: %[[W0:.*]] = nl.get_param @outer::@M0.w : tensor<1x3x2xf32>
// CHECK: nl.broadcast %[[W0]] : tensor<1x3x2xf32> -> tensor<2x1x3x2xf32>
// CHECK: nl.slice %{{.*}} dim = 2 offset = 0 size = 2
// The chunked parallel form (the default): per chunk, the memory's outputs
// at the chunk-start state K W0ᵀ, their gradient e = −v by reverse mode,
// the retention products as a scan of 2-vectors (Pα, 2 x 2 per chunk), and
// the reads as matmuls; no per-token 3 x 2 states.
// CHECK: nl.checkpoint
// CHECK: %[[WT:.*]] = nl.transpose %{{.*}} : tensor<2x1x3x2xf32> -> tensor<2x1x2x3xf32>
// CHECK: nl.matmul %{{.*}}, %[[WT]] : (tensor<2x1x2x2xf32>, tensor<2x1x2x3xf32>) -> tensor<2x1x2x3xf32>
// CHECK-NOT: tensor<2x1x2x3x2xf32>
// CHECK: %[[PA:.*]] = nl.linear_scan {{.*}} : (tensor<2x1x2xf32>, tensor<2x1x2x2xf32>, tensor<2x1x2xf32>) -> tensor<2x1x2x2xf32>
// CHECK: %[[S:.*]] = nl.matmul %{{.*}}, %{{.*}} : (tensor<2x1x2x2xf32>, tensor<2x1x2x2xf32>) -> tensor<2x1x2x2xf32>
// CHECK: %[[DS:.*]] = nl.mul %[[PA]], %[[S]]
// CHECK: nl.matmul %[[DS]], %{{.*}} : (tensor<2x1x2x2xf32>, tensor<2x1x2x3xf32>) -> tensor<2x1x2x3xf32>
// CHECK-NOT: tensor<2x1x2x3x2xf32>
// CHECK: nl.pad %{{.*}} dim = 2 offset = 2 size = 4
// CHECK-NOT: nl.memorize
// CHECK: return
// The scans (dual-form=0): per chunk, the per-token gradient of −⟨W k, v⟩
// at the chunk-start state (reverse mode through the batched read), η g,
// the retention scan W_t = 1·W_{t-1} − η g_t over per-token 3 x 2 states,
// and the read W_t q_t.
// SCAN-LABEL: nl.model @m
// SCAN: nl.checkpoint
// SCAN: nl.matmul {{.*}} -> tensor<2x1x2x3x1xf32>
// SCAN: nl.neg
// SCAN: nl.linear_scan {{.*}} -> tensor<2x1x2x3x2xf32>
// SCAN: nl.slice %{{.*}} dim = 2 offset = 2 size = 2
// SCAN: nl.linear_scan
// SCAN: nl.pad %{{.*}} dim = 2 offset = 2 size = 4
// SCAN-NOT: nl.memorize
nl.model @m {
  nl.level @outer every <1 steps> {
    nl.level @mem every <2 tokens> {
      nl.memory @M : !nl.memory<matrix, heads = 1, in = 2, out = 3> init @outer::@M0
      nl.objective dot
      nl.optimizer @opt gd attributes {lr = 1.0 : f64}
    }
    nl.param @M0 : !nl.memory<matrix, heads = 1, in = 2, out = 3>
    nl.optimizer @o gd attributes {lr = 1.0e-3 : f64}
  }
  func.func @step(%k: tensor<2x1x4x2xf32>, %v: tensor<2x1x4x3xf32>) -> tensor<2x1x4x3xf32> {
    %f = nl.flow keys_values(%k, %v : tensor<2x1x4x2xf32>, tensor<2x1x4x3xf32>) -> <keys_values, tensor<2x1x4x2xf32>, tensor<2x1x4x3xf32>>
    %y = nl.memorize @outer::@mem(%f) read(%k) : (!nl.flow<keys_values, tensor<2x1x4x2xf32>, tensor<2x1x4x3xf32>>, tensor<2x1x4x2xf32>) -> tensor<2x1x4x3xf32>
    return %y : tensor<2x1x4x3xf32>
  }
}

// -----

// DGD on an MLP memory (W1: [out, hidden], W2: [hidden, in]) with momentum
// (beta set), self-generated values, and the split params w1, w2.
// CHECK-LABEL: nl.model @dgd
// CHECK: nl.param @M0.w1 : tensor<2x4x8xf32>
// CHECK: nl.param @M0.w2 : tensor<2x8x4xf32>
// The chunked parallel form (the default): per linear map, û from the map's
// input at the chunk-start state (W1's: the hidden act(W2 k), 8 wide), the
// token-mixing system (Pα' ⊙ Û Ûᵀ) η on 3 x 3 matrices, solved by the UT
// transform's doubling (the off-diagonal mask of the 2-token blocks, then
// T (L ⊙ M) T with the 4-token blocks); no per-token states, no matrix scan.
// CHECK: nl.checkpoint
// CHECK-NOT: tensor<1x2x3x4x8xf32>
// CHECK: %[[U:.*]] = nl.l2norm %{{.*}} : tensor<1x2x3x8xf32>
// CHECK: nl.matmul %[[U]], %{{.*}} : (tensor<1x2x3x8xf32>, tensor<1x2x8x3xf32>) -> tensor<1x2x3x3xf32>
// CHECK: arith.constant dense<{{\[\[}}0.000000e+00, 0.000000e+00, 0.000000e+00], [1.000000e+00, 0.000000e+00, 0.000000e+00], [0.000000e+00, 0.000000e+00, 0.000000e+00]]> : tensor<3x3xf32>
// CHECK: arith.constant dense<{{\[\[}}0.000000e+00, 0.000000e+00, 0.000000e+00], [0.000000e+00, 0.000000e+00, 0.000000e+00], [1.000000e+00, 1.000000e+00, 0.000000e+00]]> : tensor<3x3xf32>
// CHECK: %[[TL:.*]] = nl.matmul %{{.*}}, %{{.*}} : (tensor<1x2x3x3xf32>, tensor<1x2x3x3xf32>) -> tensor<1x2x3x3xf32>
// CHECK: nl.matmul %[[TL]], %{{.*}} : (tensor<1x2x3x3xf32>, tensor<1x2x3x3xf32>) -> tensor<1x2x3x3xf32>
// CHECK: nl.l2norm %{{.*}} : tensor<1x2x3x4xf32>
// CHECK-NOT: nl.matrix_scan
// CHECK-NOT: tensor<1x2x3x8x4xf32>
// CHECK: return
// The scans (dual-form=0): a matrix scan of per-token states per linear map.
// SCAN-LABEL: nl.model @dgd
// SCAN: nl.linear_scan {{.*}} -> tensor<1x2x3x4x8xf32>
// SCAN: nl.l2norm
// SCAN: nl.matrix_scan {{.*}} -> tensor<1x2x3x4x8xf32>
// SCAN: nl.linear_scan {{.*}} -> tensor<1x2x3x8x4xf32>
// SCAN: nl.matrix_scan {{.*}} -> tensor<1x2x3x8x4xf32>
nl.model @dgd {
  nl.level @outer every <1 steps> {
    nl.level @mem every <4 tokens> {
      nl.memory @M : !nl.memory<mlp, heads = 2, in = 4, out = 4, hidden = 8> init @outer::@M0
      nl.objective l2
      nl.optimizer @opt dgd attributes {lr = 0.1 : f64, beta = 0.9 : f64}
      nl.retention decay alpha = 0.99
    }
    nl.param @M0 : !nl.memory<mlp, heads = 2, in = 4, out = 4, hidden = 8>
    nl.optimizer @o gd attributes {lr = 1.0e-3 : f64}
  }
  func.func @step(%k: tensor<1x2x3x4xf32>) -> tensor<1x2x3x4xf32> {
    %f = nl.flow keys_values(%k, %k : tensor<1x2x3x4xf32>, tensor<1x2x3x4xf32>) -> <keys_values, tensor<1x2x3x4xf32>, tensor<1x2x3x4xf32>>
    %y = nl.memorize @outer::@mem(%f) read(%k) self_values : (!nl.flow<keys_values, tensor<1x2x3x4xf32>, tensor<1x2x3x4xf32>>, tensor<1x2x3x4xf32>) -> tensor<1x2x3x4xf32>
    return %y : tensor<1x2x3x4xf32>
  }
}

// -----

nl.model @delta_momentum {
  nl.level @outer every <1 steps> {
    nl.level @mem every <4 tokens> {
      nl.memory @M : !nl.memory<matrix, heads = 1, in = 2, out = 2>
      nl.objective l2
      // expected-error @+1 {{the inner optimizer 'delta_momentum' of a memory level is not derived yet (a memory level derives plain momentum only); use gd, momentum, adam, adamw, muon or (on a matrix or mlp memory) dgd}}
      nl.optimizer @opt delta_momentum attributes {lr = 0.1 : f64}
    }
    nl.optimizer @o gd attributes {lr = 1.0e-3 : f64}
  }
  func.func @step(%k: tensor<1x1x3x2xf32>) -> tensor<1x1x3x2xf32> {
    %f = nl.flow keys_values(%k, %k : tensor<1x1x3x2xf32>, tensor<1x1x3x2xf32>) -> <keys_values, tensor<1x1x3x2xf32>, tensor<1x1x3x2xf32>>
    %y = nl.memorize @outer::@mem(%f) read(%k) : (!nl.flow<keys_values, tensor<1x1x3x2xf32>, tensor<1x1x3x2xf32>>, tensor<1x1x3x2xf32>) -> tensor<1x1x3x2xf32>
    return %y : tensor<1x1x3x2xf32>
  }
}

// -----

nl.model @inner_weight_decay {
  nl.level @outer every <1 steps> {
    nl.level @mem every <4 tokens> {
      nl.memory @M : !nl.memory<matrix, heads = 1, in = 2, out = 2>
      nl.objective l2
      // expected-error @+1 {{weight_decay of a memory level's optimizer is not derived; forget with the level's retention instead (retention decay(alpha = ...))}}
      nl.optimizer @opt adamw attributes {lr = 0.1 : f64, weight_decay = 0.1 : f64}
    }
    nl.optimizer @o gd attributes {lr = 1.0e-3 : f64}
  }
  func.func @step(%k: tensor<1x1x3x2xf32>) -> tensor<1x1x3x2xf32> {
    %f = nl.flow keys_values(%k, %k : tensor<1x1x3x2xf32>, tensor<1x1x3x2xf32>) -> <keys_values, tensor<1x1x3x2xf32>, tensor<1x1x3x2xf32>>
    %y = nl.memorize @outer::@mem(%f) read(%k) : (!nl.flow<keys_values, tensor<1x1x3x2xf32>, tensor<1x1x3x2xf32>>, tensor<1x1x3x2xf32>) -> tensor<1x1x3x2xf32>
    return %y : tensor<1x1x3x2xf32>
  }
}

// -----

// Inner Adam: in both forms the per-token scans, first and second moments
// (elementwise linear scans from zero) then the state scan of
// η m / (sqrt(v) + ε).
// CHECK-LABEL: nl.model @adam
// CHECK: func.func @step
// CHECK-COUNT-2: nl.linear_scan
// CHECK: nl.sqrt
// CHECK: nl.linear_scan
// SCAN-LABEL: nl.model @adam
// SCAN: func.func @step
// SCAN-COUNT-2: nl.linear_scan
// SCAN: nl.sqrt
// SCAN: nl.linear_scan
nl.model @adam {
  nl.level @outer every <1 steps> {
    nl.level @mem every <4 tokens> {
      nl.memory @M : !nl.memory<matrix, heads = 1, in = 2, out = 2>
      nl.objective l2
      nl.optimizer @opt adam attributes {lr = 0.1 : f64}
    }
    nl.optimizer @o gd attributes {lr = 1.0e-3 : f64}
  }
  func.func @step(%k: tensor<1x1x3x2xf32>) -> tensor<1x1x3x2xf32> {
    %f = nl.flow keys_values(%k, %k : tensor<1x1x3x2xf32>, tensor<1x1x3x2xf32>) -> <keys_values, tensor<1x1x3x2xf32>, tensor<1x1x3x2xf32>>
    %y = nl.memorize @outer::@mem(%f) read(%k) : (!nl.flow<keys_values, tensor<1x1x3x2xf32>, tensor<1x1x3x2xf32>>, tensor<1x1x3x2xf32>) -> tensor<1x1x3x2xf32>
    return %y : tensor<1x1x3x2xf32>
  }
}

// -----

// Self-modifying memories: each reads the input at the chunk-start state;
// the first two reads are the keys and values of every memory's update, with
// self-generated values M_i(v); the level's constants are the gates.
// CHECK-LABEL: nl.model @selfmod
// CHECK: nl.param @K0.w : tensor<1x2x2xf32>
// CHECK: nl.param @V0.w : tensor<1x2x2xf32>
// CHECK: func.func @step
// CHECK-COUNT-2: nl.linear_scan
// CHECK-NOT: nl.self_modify
nl.model @selfmod {
  nl.level @outer every <1 steps> {
    nl.level @proj every <2 tokens> {
      nl.memory @Mk : !nl.memory<matrix, heads = 1, in = 2, out = 2> init @outer::@K0
      nl.memory @Mv : !nl.memory<matrix, heads = 1, in = 2, out = 2> init @outer::@V0
      nl.objective l2
      nl.optimizer @opt gd attributes {lr = 0.1 : f64}
      nl.retention decay alpha = 0.9
    }
    nl.param @K0 : !nl.memory<matrix, heads = 1, in = 2, out = 2>
    nl.param @V0 : !nl.memory<matrix, heads = 1, in = 2, out = 2>
    nl.optimizer @o gd attributes {lr = 1.0e-3 : f64}
  }
  func.func @step(%x: tensor<1x1x3x2xf32>) -> tensor<1x1x3x2xf32> {
    %r:2 = nl.self_modify @outer::@proj(%x) : (tensor<1x1x3x2xf32>) -> (tensor<1x1x3x2xf32>, tensor<1x1x3x2xf32>)
    %s = nl.add %r#0, %r#1 : (tensor<1x1x3x2xf32>, tensor<1x1x3x2xf32>) -> tensor<1x1x3x2xf32>
    return %s : tensor<1x1x3x2xf32>
  }
}

