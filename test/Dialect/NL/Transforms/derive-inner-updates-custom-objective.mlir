// RUN: nl-opt --derive-inner-updates --split-input-file --verify-diagnostics %s | FileCheck %s
// RUN: nl-opt --derive-inner-updates="dual-form=0" --split-input-file --verify-diagnostics %s | FileCheck %s

// A user-written objective (nl.objective custom) is derived by reverse mode
// of its region applied to every token of a chunk at once: values of shape S
// become [B, H, n, S], nl.sum and nl.mean reduce each token's values to
// [B, H, n], a per-token scalar gains unit dims to divide a per-token vector,
// and the tokens' losses are summed. Here L = mean(M(k) / sum(M(k)) * v).
// Its numbers are checked against closed forms in
// test/Autodiff/derive-closed-forms.test.
// CHECK-LABEL: nl.model @custom
// CHECK-NOT: nl.objective
// CHECK: func.func @step
// CHECK: %[[S:.*]] = nl.sum_to %[[P:.*]] : tensor<1x1x3x2xf32> -> tensor<1x1x3x1xf32>
// CHECK: %[[SC:.*]] = tensor.collapse_shape %[[S]] {{.*}} into tensor<1x1x3xf32>
// CHECK: %[[SE:.*]] = tensor.expand_shape %[[SC]] {{.*}} into tensor<1x1x3x1xf32>
// CHECK: %[[U:.*]] = nl.div %[[P]], %[[SE]] : (tensor<1x1x3x2xf32>, tensor<1x1x3x1xf32>) -> tensor<1x1x3x2xf32>
// CHECK: %[[W:.*]] = nl.mul %[[U]], %{{.*}} : (tensor<1x1x3x2xf32>, tensor<1x1x3x2xf32>) -> tensor<1x1x3x2xf32>
// CHECK: %[[M:.*]] = nl.sum_to %[[W]] : tensor<1x1x3x2xf32> -> tensor<1x1x3x1xf32>
// CHECK: %[[MC:.*]] = tensor.collapse_shape %[[M]] {{.*}} into tensor<1x1x3xf32>
// CHECK: %[[HALF:.*]] = arith.constant dense<5.000000e-01> : tensor<f32>
// CHECK: %[[MEAN:.*]] = nl.mul %[[MC]], %[[HALF]] : (tensor<1x1x3xf32>, tensor<f32>) -> tensor<1x1x3xf32>
// CHECK: nl.sum %[[MEAN]] : tensor<1x1x3xf32> -> tensor<f32>
// CHECK-NOT: nl.memorize

nl.model @custom {
  nl.level @outer every <1 steps> {
    nl.level @mem every <4 tokens> {
      nl.memory @M : !nl.memory<matrix, heads = 1, in = 2, out = 2>
      nl.objective custom {
      ^bb0(%M: !nl.memory<matrix, heads = 1, in = 2, out = 2>, %k: tensor<2xf32>, %v: tensor<2xf32>):
        %p = nl.read %M(%k) : !nl.memory<matrix, heads = 1, in = 2, out = 2>, tensor<2xf32> -> tensor<2xf32>
        %s = nl.sum %p : tensor<2xf32> -> tensor<f32>
        %u = nl.div %p, %s : (tensor<2xf32>, tensor<f32>) -> tensor<2xf32>
        %w = nl.mul %u, %v : (tensor<2xf32>, tensor<2xf32>) -> tensor<2xf32>
        %l = nl.mean %w : tensor<2xf32> -> tensor<f32>
        nl.yield %l : tensor<f32>
      }
      nl.optimizer @opt gd attributes {lr = 0.1 : f64}
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

nl.model @read_elsewhere {
  nl.level @outer every <1 steps> {
    nl.level @mem every <4 tokens> {
      nl.memory @M : !nl.memory<matrix, heads = 1, in = 2, out = 2>
      nl.objective custom {
      ^bb0(%M: !nl.memory<matrix, heads = 1, in = 2, out = 2>, %k: tensor<2xf32>, %v: tensor<2xf32>):
        %x = nl.mul %k, %k : (tensor<2xf32>, tensor<2xf32>) -> tensor<2xf32>
        // expected-error @+1 {{custom objective: the memory must be read at the key itself, M(k); a read at another value has no derived update}}
        %p = nl.read %M(%x) : !nl.memory<matrix, heads = 1, in = 2, out = 2>, tensor<2xf32> -> tensor<2xf32>
        %l = nl.sum %p : tensor<2xf32> -> tensor<f32>
        nl.yield %l : tensor<f32>
      }
      nl.optimizer @opt gd attributes {lr = 0.1 : f64}
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

nl.model @not_per_token {
  nl.level @outer every <1 steps> {
    nl.level @mem every <4 tokens> {
      nl.memory @M : !nl.memory<matrix, heads = 1, in = 2, out = 2>
      nl.objective custom {
      ^bb0(%M: !nl.memory<matrix, heads = 1, in = 2, out = 2>, %k: tensor<2xf32>, %v: tensor<2xf32>):
        %p = nl.read %M(%k) : !nl.memory<matrix, heads = 1, in = 2, out = 2>, tensor<2xf32> -> tensor<2xf32>
        // expected-error @+1 {{custom objective: 'nl.broadcast' of M(k), k or v is not derived; use elementwise ops, pow, sum, mean, l2norm, softmax, rmsnorm, a linear map or slice}}
        %b = nl.broadcast %p : tensor<2xf32> -> tensor<3x2xf32>
        %l = nl.sum %b : tensor<3x2xf32> -> tensor<f32>
        nl.yield %l : tensor<f32>
      }
      nl.optimizer @opt gd attributes {lr = 0.1 : f64}
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

nl.model @gain_per_token {
  nl.level @outer every <1 steps> {
    nl.level @mem every <4 tokens> {
      nl.memory @M : !nl.memory<matrix, heads = 1, in = 2, out = 2>
      nl.objective custom {
      ^bb0(%M: !nl.memory<matrix, heads = 1, in = 2, out = 2>, %k: tensor<2xf32>, %v: tensor<2xf32>):
        %p = nl.read %M(%k) : !nl.memory<matrix, heads = 1, in = 2, out = 2>, tensor<2xf32> -> tensor<2xf32>
        // expected-error @+1 {{custom objective: the weight of 'nl.rmsnorm' must not depend on M(k), k or v}}
        %n = nl.rmsnorm %p, %v : tensor<2xf32>, tensor<2xf32>
        %l = nl.sum %n : tensor<2xf32> -> tensor<f32>
        nl.yield %l : tensor<f32>
      }
      nl.optimizer @opt gd attributes {lr = 0.1 : f64}
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

nl.model @no_read {
  nl.level @outer every <1 steps> {
    nl.level @mem every <4 tokens> {
      nl.memory @M : !nl.memory<matrix, heads = 1, in = 2, out = 2>
      // expected-error @+1 {{custom objective: it never reads the memory (M(k)), so it has no gradient to write the memory with}}
      nl.objective custom {
      ^bb0(%M: !nl.memory<matrix, heads = 1, in = 2, out = 2>, %k: tensor<2xf32>, %v: tensor<2xf32>):
        %l = nl.sum %v : tensor<2xf32> -> tensor<f32>
        nl.yield %l : tensor<f32>
      }
      nl.optimizer @opt gd attributes {lr = 0.1 : f64}
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

// The value does not depend on M(k): no gradient (it trained a memory that
// never changed).
nl.model @times_zero {
  nl.level @outer every <1 steps> {
    nl.level @mem every <4 tokens> {
      nl.memory @M : !nl.memory<matrix, heads = 1, in = 2, out = 2>
      // expected-error @+1 {{custom objective: its value does not depend on M(k) (it is multiplied by 0 or raised to the power 0), so it has no gradient to write the memory with}}
      nl.objective custom {
      ^bb0(%M: !nl.memory<matrix, heads = 1, in = 2, out = 2>, %k: tensor<2xf32>, %v: tensor<2xf32>):
        %r = nl.read %M(%k) : <matrix, heads = 1, in = 2, out = 2>, tensor<2xf32> -> tensor<2xf32>
        %z = arith.constant dense<0.0> : tensor<f32>
        %p = nl.mul %r, %z : (tensor<2xf32>, tensor<f32>) -> tensor<2xf32>
        %l = nl.sum %p : tensor<2xf32> -> tensor<f32>
        nl.yield %l : tensor<f32>
      }
      nl.optimizer @opt gd attributes {lr = 0.1 : f64}
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

// The value does not depend on M(k): no gradient (it trained a memory that
// never changed).
nl.model @power_zero {
  nl.level @outer every <1 steps> {
    nl.level @mem every <4 tokens> {
      nl.memory @M : !nl.memory<matrix, heads = 1, in = 2, out = 2>
      // expected-error @+1 {{custom objective: its value does not depend on M(k) (it is multiplied by 0 or raised to the power 0), so it has no gradient to write the memory with}}
      nl.objective custom {
      ^bb0(%M: !nl.memory<matrix, heads = 1, in = 2, out = 2>, %k: tensor<2xf32>, %v: tensor<2xf32>):
        %r = nl.read %M(%k) : <matrix, heads = 1, in = 2, out = 2>, tensor<2xf32> -> tensor<2xf32>
        %d = nl.sub %r, %v : (tensor<2xf32>, tensor<2xf32>) -> tensor<2xf32>
        %p = nl.pow %d, 0.0 : tensor<2xf32>
        %l = nl.sum %p : tensor<2xf32> -> tensor<f32>
        nl.yield %l : tensor<f32>
      }
      nl.optimizer @opt gd attributes {lr = 0.1 : f64}
    }
    nl.optimizer @o gd attributes {lr = 1.0e-3 : f64}
  }
  func.func @step(%k: tensor<1x1x3x2xf32>) -> tensor<1x1x3x2xf32> {
    %f = nl.flow keys_values(%k, %k : tensor<1x1x3x2xf32>, tensor<1x1x3x2xf32>) -> <keys_values, tensor<1x1x3x2xf32>, tensor<1x1x3x2xf32>>
    %y = nl.memorize @outer::@mem(%f) read(%k) : (!nl.flow<keys_values, tensor<1x1x3x2xf32>, tensor<1x1x3x2xf32>>, tensor<1x1x3x2xf32>) -> tensor<1x1x3x2xf32>
    return %y : tensor<1x1x3x2xf32>
  }
}
