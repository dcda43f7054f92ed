// RUN: nl-opt --derive-inner-updates --build-train-step --split-input-file --verify-diagnostics %s | FileCheck %s

// Every parameter (declaration order: the weight, then the memory's initial
// state split by derive-inner-updates) becomes an argument of @loss; the
// token ids are bounded by the vocabulary for gradient checks; @train_step
// calls @loss_grad and applies adamw with the step number t.
// CHECK-LABEL: nl.model @m
// CHECK: func.func @loss(%{{.*}}: tensor<5x2xf32> {nl.param = @p::@emb}, %{{.*}}: tensor<1x2x2xf32> {nl.param = @p::@M0.w}, %{{.*}}: tensor<2x4xi32> {nl.int_bound = 5 : i64}) -> tensor<f32> attributes {nl.differentiate}
// CHECK-NOT: nl.get_param
// CHECK: func.func @loss_grad({{.*}}) -> (tensor<f32>, tensor<5x2xf32>, tensor<1x2x2xf32>)
// CHECK: nl.embedding_grad
// CHECK: func.func @train_step(%[[E:.*]]: tensor<5x2xf32> {nl.param = @p::@emb}, %[[W:.*]]: tensor<1x2x2xf32> {nl.param = @p::@M0.w}, %[[EM:.*]]: tensor<5x2xf32> {nl.state = "emb.m"}, %[[EV:.*]]: tensor<5x2xf32> {nl.state = "emb.v"}, %{{.*}}: tensor<1x2x2xf32> {nl.state = "M0.w.m"}, %{{.*}}: tensor<1x2x2xf32> {nl.state = "M0.w.v"}, %[[T:.*]]: tensor<f32> {nl.step}, %{{.*}}: tensor<f32> {nl.lr_scale}, %[[TOK:.*]]: tensor<2x4xi32> {nl.int_bound = 5 : i64})
// CHECK-SAME: -> (tensor<f32>, tensor<5x2xf32>, tensor<1x2x2xf32>, tensor<5x2xf32>, tensor<5x2xf32>, tensor<1x2x2xf32>, tensor<1x2x2xf32>)
// CHECK: %[[G:.*]]:3 = call @loss_grad(%[[E]], %[[W]], %[[TOK]])
// CHECK: nl.exp
// CHECK: nl.sqrt
// CHECK: return %[[G]]#0
// CHECK-NOT: func.func @step
nl.model @m {
  nl.level @p every <1 steps> {
    nl.param @emb : tensor<5x2xf32>
    nl.level @mem every <2 tokens> {
      nl.memory @M : !nl.memory<matrix, heads = 1, in = 2, out = 2> init @p::@M0
      nl.objective l2
      nl.optimizer @o gd attributes {lr = 0.5 : f64}
    }
    nl.param @M0 : !nl.memory<matrix, heads = 1, in = 2, out = 2>
    nl.optimizer @adamw adamw attributes {lr = 1.0e-3 : f64, beta1 = 0.9 : f64, beta2 = 0.95 : f64, eps = 1.0e-8 : f64, weight_decay = 0.1 : f64}
  }
  func.func @step(%tok: tensor<2x4xi32>) -> tensor<f32> {
    %in = nl.slice %tok dim = 1 offset = 0 size = 3 : tensor<2x4xi32> -> tensor<2x3xi32>
    %tg = nl.slice %tok dim = 1 offset = 1 size = 3 : tensor<2x4xi32> -> tensor<2x3xi32>
    %e = nl.get_param @p::@emb : tensor<5x2xf32>
    %x = nl.embedding %e[%in] : tensor<5x2xf32>, tensor<2x3xi32> -> tensor<2x3x2xf32>
    %h = nl.split_heads %x heads = 1 : tensor<2x3x2xf32> -> tensor<2x1x3x2xf32>
    %f = nl.flow keys_values(%h, %h : tensor<2x1x3x2xf32>, tensor<2x1x3x2xf32>) -> <keys_values, tensor<2x1x3x2xf32>, tensor<2x1x3x2xf32>>
    %y = nl.memorize @p::@mem(%f) read(%h) : (!nl.flow<keys_values, tensor<2x1x3x2xf32>, tensor<2x1x3x2xf32>>, tensor<2x1x3x2xf32>) -> tensor<2x1x3x2xf32>
    %m = nl.merge_heads %y : tensor<2x1x3x2xf32> -> tensor<2x3x2xf32>
    %et = nl.transpose %e : tensor<5x2xf32> -> tensor<2x5xf32>
    %l = nl.linear %m, %et : (tensor<2x3x2xf32>, tensor<2x5xf32>) -> tensor<2x3x5xf32>
    %loss = nl.cross_entropy %l, %tg : (tensor<2x3x5xf32>, tensor<2x3xi32>) -> tensor<f32>
    return %loss : tensor<f32>
  }
}

// -----

// A level written every 16 steps: its parameter's gradient accumulates in
// "w.acc"; the optimizer steps on the mean when the level's fire flag is 1.
// CHECK-LABEL: nl.model @slow
// CHECK: func.func @train_step(%[[W:.*]]: tensor<2xf32> {nl.param = @p::@w}, %[[ACC:.*]]: tensor<2xf32> {nl.state = "w.acc"}, %{{.*}}: tensor<f32> {nl.step}, %{{.*}}: tensor<f32> {nl.lr_scale}, %[[FIRE:.*]]: tensor<f32> {nl.fire = @p}, %{{.*}}: tensor<2xf32>)
// CHECK: %[[G:.*]]:3 = call @loss_grad
// CHECK: %[[A:.*]] = nl.add %[[ACC]], %[[G]]#1
// CHECK: nl.mul %[[FIRE]]
nl.model @slow {
  nl.level @p every <16 steps> {
    nl.param @w : tensor<2xf32>
    nl.optimizer @o gd attributes {lr = 1.0e-3 : f64}
  }
  func.func @step(%x: tensor<2xf32>) -> tensor<f32> {
    %w = nl.get_param @p::@w : tensor<2xf32>
    %m = nl.mul %w, %x : (tensor<2xf32>, tensor<2xf32>) -> tensor<2xf32>
    %s = nl.sum %m : tensor<2xf32> -> tensor<f32>
    return %s : tensor<f32>
  }
}

// -----

nl.model @dgd_outer {
  nl.level @p every <1 steps> {
    nl.param @w : tensor<2x2xf32>
    // expected-error @+1 {{'nl.optimizer' op level @p: build-train-step cannot apply 'dgd' as an outer optimizer yet; use gd, momentum, delta_momentum, delta_momentum_matrix, adam, adamw, muon, m3, dmgd or a custom momentum memory}}
    nl.optimizer @o dgd attributes {lr = 1.0e-3 : f64}
  }
  func.func @step(%x: tensor<2xf32>) -> tensor<f32> {
    %w = nl.get_param @p::@w : tensor<2x2xf32>
    %s = nl.sum %w : tensor<2x2xf32> -> tensor<f32>
    return %s : tensor<f32>
  }
}

// -----

nl.model @dmgd_wide {
  nl.level @p every <1 steps> {
    nl.param @w : tensor<2x2xf32>
    // expected-error @+1 {{'nl.optimizer' op level @p: dmgd's deep momentum must be one memory mlp(1 -> 1, hidden = H, heads = 1) (an MLP over each gradient entry)}}
    nl.optimizer @o dmgd attributes {lr = 1.0e-3 : f64} {
      nl.memory @m : !nl.memory<mlp, heads = 1, in = 2, out = 2, hidden = 4>
      nl.objective dot
    }
  }
  func.func @step(%x: tensor<2xf32>) -> tensor<f32> {
    %w = nl.get_param @p::@w : tensor<2x2xf32>
    %s = nl.sum %w : tensor<2x2xf32> -> tensor<f32>
    return %s : tensor<f32>
  }
}

// -----

// DMGD (NL-N Eq. 23): the state is b (the parameter's shape) and the shared
// MLP's two layers, [hidden, 1, 1] for a matrix; the step reads the
// gradient's RMS, the MLP at the fixed first-layer spread plus its offset,
// and the inner gradient of <m(g), g> (reverse mode: the SiLU's VJP).
// CHECK-LABEL: nl.model @dmgd
// CHECK: func.func @train_step(%{{.*}}: tensor<2x2xf32> {nl.param = @p::@w}, %{{.*}}: tensor<2x2xf32> {nl.state = "w.m"}, %{{.*}}: tensor<4x1x1xf32> {nl.state = "w.w_in"}, %{{.*}}: tensor<4x1x1xf32> {nl.state = "w.w_out"}
// CHECK-SAME: -> (tensor<f32>, tensor<2x2xf32>, tensor<2x2xf32>, tensor<4x1x1xf32>, tensor<4x1x1xf32>)
// CHECK: arith.constant dense<[{{\[\[}}-1.500000e+00]], {{\[\[}}-5.000000e-01]], {{\[\[}}5.000000e-01]], {{\[\[}}1.500000e+00]]]> : tensor<4x1x1xf32>
// CHECK: nl.sqrt
// CHECK: nl.silu
// CHECK: nl.sigmoid
nl.model @dmgd {
  nl.level @p every <1 steps> {
    nl.param @w : tensor<2x2xf32>
    nl.optimizer @o dmgd attributes {lr = 1.0e-3 : f64, beta = 0.9 : f64} {
      nl.memory @m : !nl.memory<mlp, heads = 1, in = 1, out = 1, hidden = 4>
      nl.objective dot
    }
  }
  func.func @step(%x: tensor<2xf32>) -> tensor<f32> {
    %w = nl.get_param @p::@w : tensor<2x2xf32>
    %s = nl.sum %w : tensor<2x2xf32> -> tensor<f32>
    return %s : tensor<f32>
  }
}

// -----

// A custom outer optimizer with the l2 objective: its one-scalar memory per
// entry is read as M(k) = m g against the value -1, so its inner loss is
// (m g + 1)^2 summed over the entries ([2, 2, 1]: each entry a token), and
// its gradient 2 (m g + 1) g is taken by reverse mode (delta momentum, NL-N
// Eq. 22; check_optim.py checks the numbers).
// CHECK-LABEL: nl.model @custom_l2
// CHECK: func.func @train_step(%{{.*}}: tensor<2x2xf32> {nl.param = @p::@w}, %{{.*}}: tensor<2x2xf32> {nl.state = "w.m"}
// CHECK: %[[MG:.*]] = nl.mul %{{.*}}, %{{.*}} : (tensor<2x2xf32>, tensor<2x2xf32>) -> tensor<2x2xf32>
// CHECK: %[[P:.*]] = tensor.expand_shape %[[MG]] {{.*}} into tensor<2x2x1xf32>
// CHECK: %[[R:.*]] = nl.sub %[[P]], %{{.*}} : (tensor<2x2x1xf32>, tensor<2x2x1xf32>) -> tensor<2x2x1xf32>
// CHECK: nl.mul %[[R]], %[[R]]
// CHECK: nl.sum %{{.*}} : tensor<2x2x1xf32> -> tensor<f32>
nl.model @custom_l2 {
  nl.level @p every <1 steps> {
    nl.param @w : tensor<2x2xf32>
    nl.optimizer @o custom attributes {lr = 1.0e-3 : f64} {
      nl.memory @m : !nl.memory<matrix, heads = 1, in = 1, out = 1>
      nl.objective l2
    }
  }
  func.func @step(%x: tensor<2xf32>) -> tensor<f32> {
    %w = nl.get_param @p::@w : tensor<2x2xf32>
    %s = nl.sum %w : tensor<2x2xf32> -> tensor<f32>
    return %s : tensor<f32>
  }
}

// -----

nl.model @custom_wide {
  nl.level @p every <1 steps> {
    nl.param @w : tensor<2x2xf32>
    // expected-error @+1 {{'nl.optimizer' op level @p: a custom outer optimizer's momentum must be matrix(1 -> 1, heads = 1) (one scalar memory per parameter entry)}}
    nl.optimizer @o custom attributes {lr = 1.0e-3 : f64} {
      nl.memory @m : !nl.memory<matrix, heads = 1, in = 2, out = 2>
      nl.objective dot
    }
  }
  func.func @step(%x: tensor<2xf32>) -> tensor<f32> {
    %w = nl.get_param @p::@w : tensor<2x2xf32>
    %s = nl.sum %w : tensor<2x2xf32> -> tensor<f32>
    return %s : tensor<f32>
  }
}

// -----

// expected-error @+1 {{'nl.model' op has no func.func @step to train}}
nl.model @nostep {
  nl.level @p every <1 steps> {
    nl.param @w : tensor<2xf32>
    nl.optimizer @o gd attributes {lr = 1.0e-3 : f64}
  }
}

// -----

// delta_momentum_matrix (NL-N Eq. 22 as written): a wide matrix [2, 3]
// takes m gᵀ g as (m gᵀ) g (the 2 x 2 Gram side); a tall one [3, 2] as
// m (gᵀ g); a vector as <m, g> g.
// CHECK-LABEL: nl.model @delta_matrix
// CHECK: func.func @train_step(
// CHECK: %[[GT:.*]] = nl.transpose %[[GW:.*]] : tensor<2x3xf32> -> tensor<3x2xf32>
// CHECK-NEXT: %[[MG:.*]] = nl.matmul %{{.*}}, %[[GT]] : (tensor<2x3xf32>, tensor<3x2xf32>) -> tensor<2x2xf32>
// CHECK-NEXT: nl.matmul %[[MG]], %[[GW]] : (tensor<2x2xf32>, tensor<2x3xf32>) -> tensor<2x3xf32>
// CHECK: %[[GT2:.*]] = nl.transpose %[[GT1:.*]] : tensor<3x2xf32> -> tensor<2x3xf32>
// CHECK-NEXT: %[[GG:.*]] = nl.matmul %[[GT2]], %[[GT1]] : (tensor<2x3xf32>, tensor<3x2xf32>) -> tensor<2x2xf32>
// CHECK-NEXT: nl.matmul %{{.*}}, %[[GG]] : (tensor<3x2xf32>, tensor<2x2xf32>) -> tensor<3x2xf32>
// CHECK: nl.sum %{{.*}} : tensor<4xf32> -> tensor<f32>
nl.model @delta_matrix {
  nl.level @p every <1 steps> {
    nl.param @wide : tensor<2x3xf32>
    nl.param @tall : tensor<3x2xf32>
    nl.param @v : tensor<4xf32>
    nl.optimizer @o delta_momentum_matrix attributes {lr = 1.0e-2 : f64, beta = 0.9 : f64}
  }
  func.func @step(%x: tensor<2xf32>) -> tensor<f32> {
    %a = nl.get_param @p::@wide : tensor<2x3xf32>
    %b = nl.get_param @p::@tall : tensor<3x2xf32>
    %v = nl.get_param @p::@v : tensor<4xf32>
    %sa = nl.sum %a : tensor<2x3xf32> -> tensor<f32>
    %sb = nl.sum %b : tensor<3x2xf32> -> tensor<f32>
    %sv = nl.sum %v : tensor<4xf32> -> tensor<f32>
    %s1 = nl.add %sa, %sb : (tensor<f32>, tensor<f32>) -> tensor<f32>
    %s = nl.add %s1, %sv : (tensor<f32>, tensor<f32>) -> tensor<f32>
    return %s : tensor<f32>
  }
}

// -----

// clip_norm: the global norm of the level's gradients (both parameters)
// scales each gradient by min(1, C / (norm + 1e-6)) = 1 - relu(1 - C /
// (norm + 1e-6)) before the update.
// CHECK-LABEL: nl.model @clip
// CHECK: %[[G:.*]]:4 = call @loss_grad
// CHECK: %[[QA:.*]] = nl.mul %[[G]]#1, %[[G]]#1
// CHECK: %[[SA:.*]] = nl.sum %[[QA]]
// CHECK: %[[QB:.*]] = nl.mul %[[G]]#2, %[[G]]#2
// CHECK: %[[SB:.*]] = nl.sum %[[QB]]
// CHECK: %[[SQ:.*]] = nl.add %[[SA]], %[[SB]]
// CHECK: %[[EPS:.*]] = arith.constant dense<9.99999997E-7>
// CHECK: %[[N:.*]] = nl.sqrt %[[SQ]]
// CHECK: %[[NE:.*]] = nl.add %[[N]], %[[EPS]]
// CHECK: %[[C:.*]] = arith.constant dense<2.500000e+00>
// CHECK: %[[R:.*]] = nl.div %[[C]], %[[NE]]
// CHECK: %[[OVER:.*]] = nl.relu
// CHECK: %[[SCALE:.*]] = nl.sub %{{.*}}, %[[OVER]]
// CHECK: nl.mul %[[G]]#1, %[[SCALE]]
// CHECK: nl.mul %[[G]]#2, %[[SCALE]]
nl.model @clip {
  nl.level @p every <1 steps> {
    nl.param @a : tensor<2xf32>
    nl.param @b : tensor<3xf32>
    nl.optimizer @o gd attributes {lr = 1.0e-3 : f64, clip_norm = 2.5 : f64}
  }
  func.func @step(%x: tensor<2xf32>) -> tensor<f32> {
    %a = nl.get_param @p::@a : tensor<2xf32>
    %b = nl.get_param @p::@b : tensor<3xf32>
    %m = nl.mul %a, %x : (tensor<2xf32>, tensor<2xf32>) -> tensor<2xf32>
    %s = nl.sum %m : tensor<2xf32> -> tensor<f32>
    %t = nl.sum %b : tensor<3xf32> -> tensor<f32>
    %l = nl.add %s, %t : (tensor<f32>, tensor<f32>) -> tensor<f32>
    return %l : tensor<f32>
  }
}

// -----

// Per-parameter optimizers: @w (by @muon) gets Muon's one state "m" and its
// Newton-Schulz products, @g AdamW's two moments.
// CHECK-LABEL: nl.model @per_param
// CHECK: func.func @train_step(%{{.*}}: tensor<4x4xf32> {nl.param = @p::@w}, %{{.*}}: tensor<4xf32> {nl.param = @p::@g}, %{{.*}}: tensor<4x4xf32> {nl.state = "w.m"}, %{{.*}}: tensor<4xf32> {nl.state = "g.m"}, %{{.*}}: tensor<4xf32> {nl.state = "g.v"}
// CHECK: nl.matmul {{.*}} : (tensor<4x4xf32>, tensor<4x4xf32>) -> tensor<4x4xf32>
// CHECK: nl.sqrt {{.*}} : tensor<4xf32>
nl.model @per_param {
  nl.level @p every <1 steps> {
    nl.optimizer @adamw adamw attributes {lr = 1.0e-3 : f64}
    nl.optimizer @muon muon attributes {lr = 2.0e-2 : f64}
    nl.param @w : tensor<4x4xf32> by @muon
    nl.param @g : tensor<4xf32> init ones
  }
  func.func @step(%x: tensor<4xf32>) -> tensor<f32> {
    %w = nl.get_param @p::@w : tensor<4x4xf32>
    %g = nl.get_param @p::@g : tensor<4xf32>
    %y = nl.linear %x, %w : (tensor<4xf32>, tensor<4x4xf32>) -> tensor<4xf32>
    %z = nl.mul %y, %g : (tensor<4xf32>, tensor<4xf32>) -> tensor<4xf32>
    %s = nl.sum %z : tensor<4xf32> -> tensor<f32>
    return %s : tensor<f32>
  }
}
