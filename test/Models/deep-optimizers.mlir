// RUN: nl-opt %s | nl-opt | FileCheck %s
// RUN: nl-opt %s --nl-print-levels -o /dev/null 2>&1 | FileCheck %s --check-prefix=LEVELS

// Deep-optimizer levels written by hand (NL §3; design/NESTED_LEARNING.md §3): the
// optimizer of a level is itself a level whose context flow is the gradient
// stream of the level it optimizes.
//  * @lm_delta: a bigram language model trained by delta momentum written as
//    a custom optimizer: its momentum is a matrix memory with an L2 objective
//    (NL-N Eq. 22) and decay.
//  * @lm_dmgd: the same model trained by DMGD: an MLP memory over gradients.
//  * @lm_m3: the same model trained by M3 (multi-scale momentum Muon) whose
//    slow momentum fires every 8 steps.

// CHECK-LABEL: nl.model @deep_optimizers
// CHECK: nl.level @lm_delta every <1 steps>
// CHECK: nl.optimizer @delta_momentum custom
// CHECK-NEXT: nl.memory @m : !nl.memory<matrix, heads = 1, in = 64, out = 64>
// CHECK-NEXT: nl.objective l2
// CHECK-NEXT: nl.retention decay
// CHECK: nl.optimizer @dmgd dmgd
// CHECK-NEXT: nl.memory @m : !nl.memory<mlp, heads = 1, in = 64, out = 64, hidden = 128>
// CHECK: nl.optimizer @m3 m3 attributes {{.*}}slow_period = 8
// CHECK: func.func @delta_step
// CHECK: nl.flow gradients of @lm_delta::@w -> <gradients, tensor<256x64xf32>>

// LEVELS: level @lm_delta every 1 steps
// LEVELS: optimizer @delta_momentum custom lr = 0.01
// LEVELS-NEXT: memory @m : !nl.memory<matrix, heads = 1, in = 64, out = 64> (4096 scalars per sequence)
// LEVELS-NEXT: objective l2
// LEVELS-NEXT: retention decay
// LEVELS: level @lm_dmgd every 1 steps
// LEVELS: optimizer @dmgd dmgd lr = 0.01
// LEVELS: level @lm_m3 every 1 steps
// LEVELS: optimizer @m3 m3 lr = 0.02

nl.model @deep_optimizers {
  nl.level @lm_delta every <1 steps> {
    nl.param @w : tensor<256x64xf32>
    nl.param @head : tensor<64x256xf32>
    nl.optimizer @delta_momentum custom attributes {lr = 1.0e-2 : f64, beta = 0.9 : f64} {
      nl.memory @m : !nl.memory<matrix, heads = 1, in = 64, out = 64>
      nl.objective l2
      nl.retention decay alpha = 0.9
    }
  }
  nl.level @lm_dmgd every <1 steps> {
    nl.param @w : tensor<256x64xf32>
    nl.param @head : tensor<64x256xf32>
    nl.optimizer @dmgd dmgd attributes {lr = 1.0e-2 : f64, beta = 0.9 : f64} {
      nl.memory @m : !nl.memory<mlp, heads = 1, in = 64, out = 64, hidden = 128>
      nl.objective dot
    }
  }
  nl.level @lm_m3 every <1 steps> {
    nl.param @w : tensor<256x64xf32>
    nl.param @head : tensor<64x256xf32>
    nl.optimizer @m3 m3 attributes {lr = 2.0e-2 : f64, beta1 = 0.9 : f64, beta2 = 0.999 : f64, beta3 = 0.9 : f64, alpha = 0.5 : f64, eps = 1.0e-8 : f64, ns_steps = 5, slow_period = 8}
  }

  func.func @delta_step(%tokens: tensor<4x33xi32>) -> tensor<f32> {
    %W = nl.get_param @lm_delta::@w : tensor<256x64xf32>
    %H = nl.get_param @lm_delta::@head : tensor<64x256xf32>
    %in = nl.slice %tokens dim = 1 offset = 0 size = 32 : tensor<4x33xi32> -> tensor<4x32xi32>
    %tgt = nl.slice %tokens dim = 1 offset = 1 size = 32 : tensor<4x33xi32> -> tensor<4x32xi32>
    %x = nl.embedding %W[%in] : tensor<256x64xf32>, tensor<4x32xi32> -> tensor<4x32x64xf32>
    %logits = nl.linear %x, %H : (tensor<4x32x64xf32>, tensor<64x256xf32>) -> tensor<4x32x256xf32>
    %loss = nl.cross_entropy %logits, %tgt : (tensor<4x32x256xf32>, tensor<4x32xi32>) -> tensor<f32>
    // The optimizer level's context flow: the gradient stream of @w.
    %g = nl.flow gradients of @lm_delta::@w -> !nl.flow<gradients, tensor<256x64xf32>>
    return %loss : tensor<f32>
  }
}
