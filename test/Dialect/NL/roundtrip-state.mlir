// RUN: nl-opt %s | nl-opt | FileCheck %s
// RUN: nl-opt %s --mlir-print-op-generic | nl-opt | FileCheck %s

// Parameters (every initializer), memory types (matrix, mlp, custom with a
// read function) and initial states from slower levels.

// CHECK-LABEL: nl.model @state
nl.model @state {
  // CHECK: nl.read_fn @cubic : (tensor<8x8xf32>, tensor<8xf32>) -> tensor<8xf32>
  // CHECK: nl.yield %{{.*}} : tensor<8xf32>
  nl.read_fn @cubic : (tensor<8x8xf32>, tensor<8xf32>) -> tensor<8xf32> {
  ^bb0(%W: tensor<8x8xf32>, %x: tensor<8xf32>):
    %y = nl.linear %x, %W : (tensor<8xf32>, tensor<8x8xf32>) -> tensor<8xf32>
    %y3 = nl.pow %y, 3.000000e+00 : tensor<8xf32>
    nl.yield %y3 : tensor<8xf32>
  }
  nl.level @slow every <1 steps> {
    // CHECK: nl.param @a : tensor<4x4xf32>{{$}}
    nl.param @a : tensor<4x4xf32>
    // CHECK: nl.param @b : tensor<4x4xf32> init zeros
    nl.param @b : tensor<4x4xf32> init zeros
    // CHECK: nl.param @c : tensor<4xf32> init ones
    nl.param @c : tensor<4xf32> init ones
    // CHECK: nl.param @d : tensor<4x4xf32> std = 1.000000e-01
    nl.param @d : tensor<4x4xf32> init normal std = 0.1
    // CHECK: nl.param @e : tensor<4x4xf64> init uniform std = 5.000000e-01
    nl.param @e : tensor<4x4xf64> init uniform std = 0.5
    // CHECK: nl.param @f : tensor<4x4xf32> init identity
    nl.param @f : tensor<4x4xf32> init identity
    // CHECK: nl.param @m_init : !nl.memory<mlp, heads = 2, in = 8, out = 8, hidden = 32, act = gelu>
    nl.param @m_init : !nl.memory<mlp, heads = 2, in = 8, out = 8, hidden = 32, act = gelu>
    // CHECK: nl.param @c_init : !nl.memory<custom, heads = 2, in = 8, out = 8, fn = @cubic>
    nl.param @c_init : !nl.memory<custom, heads = 2, in = 8, out = 8, fn = @cubic>
    nl.level @mat every <8 tokens> {
      // CHECK: nl.memory @M : !nl.memory<matrix, heads = 2, in = 8, out = 4>{{$}}
      nl.memory @M : !nl.memory<matrix, heads = 2, in = 8, out = 4>
      nl.objective dot
    }
    nl.level @deep every <16 tokens> {
      // CHECK: nl.memory @M : !nl.memory<mlp, heads = 2, in = 8, out = 8, hidden = 32, act = gelu> init @slow::@m_init
      nl.memory @M : !nl.memory<mlp, heads = 2, in = 8, out = 8, hidden = 32, act = gelu> init @slow::@m_init
      nl.objective l2
    }
    // The output normalization of an mlp memory (norm = layer | rms).
    nl.level @normed every <16 tokens> {
      // CHECK: nl.memory @M : !nl.memory<mlp, heads = 2, in = 8, out = 8, hidden = 32, norm = layer>{{$}}
      nl.memory @M : !nl.memory<mlp, heads = 2, in = 8, out = 8, hidden = 32, norm = layer>
      nl.objective l2
    }
    nl.level @user every <16 tokens> {
      // CHECK: nl.memory @M : !nl.memory<custom, heads = 2, in = 8, out = 8, fn = @cubic> init @slow::@c_init
      nl.memory @M : !nl.memory<custom, heads = 2, in = 8, out = 8, fn = @cubic> init @slow::@c_init
      nl.objective l2
    }
  }
}
