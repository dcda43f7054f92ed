// RUN: nl-opt %s | nl-opt | FileCheck %s
// RUN: nl-opt %s --mlir-print-op-generic | nl-opt | FileCheck %s

// Every optimizer kind with its own hyperparameters; optimizers with state
// and objectives of their own (an optimizer is itself a level).

// CHECK-LABEL: nl.model @optimizers
nl.model @optimizers {
  nl.level @l0 every <1 steps> {
    nl.param @w : tensor<32x32xf32>
    // CHECK: nl.optimizer @o adamw attributes {beta1 = 9.000000e-01 : f64, beta2 = 0.9499{{[0-9]*}} : f64, eps = 1.000000e-08 : f64, lr = 1.000000e-03 : f64, weight_decay = 1.000000e-01 : f64}
    nl.optimizer @o adamw attributes {lr = 1.0e-3 : f64, beta1 = 0.9 : f64, beta2 = 0.95 : f64, eps = 1.0e-8 : f64, weight_decay = 0.1 : f64}
  }
  nl.level @l1 every <1 steps> {
    // CHECK: nl.optimizer @o gd attributes {lr = 1.000000e-02 : f64}
    nl.optimizer @o gd attributes {lr = 1.0e-2 : f64}
  }
  nl.level @l2 every <1 steps> {
    // CHECK: nl.optimizer @o momentum attributes {beta = 9.000000e-01 : f64, lr = 1.000000e-02 : f64}
    nl.optimizer @o momentum attributes {lr = 1.0e-2 : f64, beta = 0.9 : f64}
  }
  nl.level @l3 every <1 steps> {
    // CHECK: nl.optimizer @o delta_momentum
    nl.optimizer @o delta_momentum attributes {lr = 1.0e-2 : f64, beta = 0.9 : f64}
  }
  nl.level @l4 every <16 tokens> {
    nl.memory @M : !nl.memory<mlp, heads = 2, in = 8, out = 8, hidden = 32>
    nl.objective l2
    // CHECK: nl.optimizer @o dgd
    nl.optimizer @o dgd attributes {lr = 1.0e-1 : f64}
  }
  nl.level @l5 every <1 steps> {
    // CHECK: nl.optimizer @o adam
    nl.optimizer @o adam attributes {lr = 1.0e-3 : f64, beta1 = 0.9 : f64, beta2 = 0.999 : f64}
  }
  nl.level @l6 every <1 steps> {
    // CHECK: nl.optimizer @o muon attributes {beta = 0.9499{{[0-9]*}} : f64, lr = 2.000000e-02 : f64, ns_steps = 5 : i64}
    nl.optimizer @o muon attributes {lr = 2.0e-2 : f64, beta = 0.95 : f64, ns_steps = 5}
  }
  nl.level @l7 every <1 steps> {
    // CHECK: nl.optimizer @o m3 attributes {alpha = 5.000000e-01 : f64, {{.*}}slow_period = 16 : i64}
    nl.optimizer @o m3 attributes {lr = 2.0e-2 : f64, beta1 = 0.9 : f64, beta2 = 0.999 : f64, beta3 = 0.9 : f64, alpha = 0.5 : f64, eps = 1.0e-8 : f64, ns_steps = 5, slow_period = 16}
  }
  nl.level @l8 every <1 steps> {
    // DMGD: the momentum is an MLP memory over gradients (NL-N Eq. 23).
    // CHECK: nl.optimizer @o dmgd attributes {beta = 9.000000e-01 : f64, lr = 1.000000e-02 : f64} {
    // CHECK-NEXT: nl.memory @m : !nl.memory<mlp, heads = 1, in = 32, out = 32, hidden = 64>
    // CHECK-NEXT: nl.objective dot
    nl.optimizer @o dmgd attributes {lr = 1.0e-2 : f64, beta = 0.9 : f64} {
      nl.memory @m : !nl.memory<mlp, heads = 1, in = 32, out = 32, hidden = 64>
      nl.objective dot
    }
  }
  nl.level @l9 every <1 steps> {
    // A custom optimizer: momentum whose memory is trained with an L2
    // objective and decays (delta momentum written as a level).
    // CHECK: nl.optimizer @o custom attributes {beta = 9.000000e-01 : f64, lr = 1.000000e-02 : f64} {
    // CHECK-NEXT: nl.param @m : tensor<32x32xf32> init zeros
    // CHECK-NEXT: nl.memory @mm : !nl.memory<matrix, heads = 1, in = 32, out = 32>
    // CHECK-NEXT: nl.objective l2
    // CHECK-NEXT: nl.retention decay alpha = 9.000000e-01
    nl.optimizer @o custom attributes {lr = 1.0e-2 : f64, beta = 0.9 : f64} {
      nl.param @m : tensor<32x32xf32> init zeros
      nl.memory @mm : !nl.memory<matrix, heads = 1, in = 32, out = 32>
      nl.objective l2
      nl.retention decay alpha = 0.9
    }
  }
}
