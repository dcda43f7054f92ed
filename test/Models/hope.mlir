// RUN: nl-opt %s | nl-opt | FileCheck %s
// RUN: nl-opt %s --mlir-print-op-generic | nl-opt | FileCheck %s
// RUN: nl-opt %s --nl-print-levels -o /dev/null 2>&1 | FileCheck %s --check-prefix=LEVELS

// One Hope block written by hand (NL-A §8, Eqs. 83-97; design/NESTED_LEARNING.md §5
// and §9): self-modifying Titans (memories for k, v, eta, alpha, each an MLP
// memory trained by DGD with its own self-generated values, chunk 64) feeding
// the main memory (chunk 16), followed by a three-level Continuum Memory
// System whose levels are written every 1, 16 and 256 steps.
// B = 2, T = 64, D = 128, H = 4, d = 32.

// CHECK-LABEL: nl.model @hope
// CHECK: nl.level @cms_low every <256 steps>
// CHECK: nl.level @cms_mid every <16 steps>
// CHECK: nl.level @pretrain every <1 steps>
// CHECK: nl.level @proj every <64 tokens>
// CHECK-COUNT-4: nl.memory @{{M[a-z]+}} : !nl.memory<mlp
// CHECK: nl.optimizer @dgd dgd
// CHECK: nl.level @mem every <16 tokens>
// CHECK: func.func @step
// CHECK: %[[K:.*]]:4 = nl.self_modify @cms_low::@cms_mid::@pretrain::@proj
// CHECK: nl.memorize @cms_low::@cms_mid::@pretrain::@mem(%{{.*}}) read(%{{.*}}) lr(%{{.*}}) decay(%{{.*}}) self_values
// CHECK-COUNT-3: call @cms_block

// LEVELS: model @hope
// LEVELS-NEXT: level @cms_low every 256 steps
// LEVELS: level @cms_mid every 16 steps
// LEVELS: level @pretrain every 1 steps
// LEVELS: level @proj every 64 tokens
// LEVELS: memory @Meta : !nl.memory<mlp, heads = 4, in = 32, out = 1, hidden = 128> (16896 scalars per sequence)
// LEVELS: optimizer @dgd dgd
// LEVELS: level @mem every 16 tokens

!mlp = !nl.memory<mlp, heads = 4, in = 32, out = 32, hidden = 128>
!scal = !nl.memory<mlp, heads = 4, in = 32, out = 1, hidden = 128>
!x = tensor<2x64x128xf32>
!h = tensor<2x4x64x32xf32>
!g = tensor<2x4x64xf32>
!g1 = tensor<2x4x64x1xf32>

nl.model @hope {
  nl.level @cms_low every <256 steps> {
    nl.param @low_w1 : tensor<512x128xf32>
    nl.param @low_w2 : tensor<128x512xf32>
    nl.param @low_norm : tensor<128xf32> init ones
    nl.optimizer @adamw_low adamw attributes {lr = 1.0e-3 : f64, beta1 = 0.9 : f64, beta2 = 0.95 : f64, weight_decay = 0.1 : f64}
    nl.level @cms_mid every <16 steps> {
      nl.param @mid_w1 : tensor<512x128xf32>
      nl.param @mid_w2 : tensor<128x512xf32>
      nl.param @mid_norm : tensor<128xf32> init ones
      nl.optimizer @adamw_mid adamw attributes {lr = 1.0e-3 : f64, beta1 = 0.9 : f64, beta2 = 0.95 : f64, weight_decay = 0.1 : f64}
      nl.level @pretrain every <1 steps> {
        nl.param @embed : tensor<256x128xf32>
        nl.param @norm_in : tensor<128xf32> init ones
        nl.param @wq : tensor<128x128xf32>
        nl.param @conv : tensor<4x128xf32>
        nl.param @wo : tensor<128x128xf32>
        nl.param @high_w1 : tensor<512x128xf32>
        nl.param @high_w2 : tensor<128x512xf32>
        nl.param @high_norm : tensor<128xf32> init ones
        nl.param @norm_f : tensor<128xf32> init ones
        nl.param @head : tensor<128x256xf32>
        // Initial states of every memory, meta-learned by pre-training.
        nl.param @Mk0 : !mlp
        nl.param @Mv0 : !mlp
        nl.param @Meta0 : !scal
        nl.param @Malpha0 : !scal
        nl.param @Mmem0 : !mlp
        nl.optimizer @adamw adamw attributes {lr = 1.0e-3 : f64, beta1 = 0.9 : f64, beta2 = 0.95 : f64, weight_decay = 0.1 : f64}
        // Self-modifying projections: k, v, eta, alpha are memories.
        nl.level @proj every <64 tokens> {
          nl.memory @Mk : !mlp init @cms_low::@cms_mid::@pretrain::@Mk0
          nl.memory @Mv : !mlp init @cms_low::@cms_mid::@pretrain::@Mv0
          nl.memory @Meta : !scal init @cms_low::@cms_mid::@pretrain::@Meta0
          nl.memory @Malpha : !scal init @cms_low::@cms_mid::@pretrain::@Malpha0
          nl.objective l2
          nl.optimizer @dgd dgd attributes {lr = 1.0e-1 : f64, beta = 0.9 : f64}
          nl.retention decay alpha = 0.99
        }
        // The main memory: DGD with momentum and a data-dependent gate.
        nl.level @mem every <16 tokens> {
          nl.memory @M : !mlp init @cms_low::@cms_mid::@pretrain::@Mmem0
          nl.objective l2
          nl.optimizer @dgd dgd attributes {lr = 1.0e-1 : f64, beta = 0.9 : f64}
          nl.retention gate
        }
      }
    }
  }

  // One CMS block: x + W2 silu(W1 rmsnorm(x)).
  func.func private @cms_block(%x: !x, %g: tensor<128xf32>, %w1: tensor<512x128xf32>, %w2: tensor<128x512xf32>) -> !x {
    %h = nl.rmsnorm %x, %g : !x, tensor<128xf32>
    %u = nl.linear %h, %w2 : (!x, tensor<128x512xf32>) -> tensor<2x64x512xf32>
    %a = nl.silu %u : tensor<2x64x512xf32>
    %d = nl.linear %a, %w1 : (tensor<2x64x512xf32>, tensor<512x128xf32>) -> !x
    %y = nl.add %x, %d : (!x, !x) -> !x
    return %y : !x
  }

  func.func @step(%tokens: tensor<2x65xi32>) -> tensor<f32> {
    %E = nl.get_param @cms_low::@cms_mid::@pretrain::@embed : tensor<256x128xf32>
    %gin = nl.get_param @cms_low::@cms_mid::@pretrain::@norm_in : tensor<128xf32>
    %Wq = nl.get_param @cms_low::@cms_mid::@pretrain::@wq : tensor<128x128xf32>
    %Wc = nl.get_param @cms_low::@cms_mid::@pretrain::@conv : tensor<4x128xf32>
    %Wo = nl.get_param @cms_low::@cms_mid::@pretrain::@wo : tensor<128x128xf32>
    %in = nl.slice %tokens dim = 1 offset = 0 size = 64 : tensor<2x65xi32> -> tensor<2x64xi32>
    %tgt = nl.slice %tokens dim = 1 offset = 1 size = 64 : tensor<2x65xi32> -> tensor<2x64xi32>
    %x = nl.embedding %E[%in] : tensor<256x128xf32>, tensor<2x64xi32> -> !x
    %h = nl.rmsnorm %x, %gin : !x, tensor<128xf32>
    %hc = nl.causal_conv %h, %Wc : !x, tensor<4x128xf32>
    %hh = nl.split_heads %hc heads = 4 : !x -> !h

    // Self-modifying Titans: k, v, eta, alpha from their own memories.
    %p:4 = nl.self_modify @cms_low::@cms_mid::@pretrain::@proj(%hh) : (!h) -> (!h, !h, !g1, !g1)
    %k = nl.l2norm %p#0 : !h
    %eta1 = nl.sigmoid %p#2 : !g1
    %alpha1 = nl.sigmoid %p#3 : !g1
    %eta = tensor.collapse_shape %eta1 [[0], [1], [2, 3]] : !g1 into !g
    %alpha = tensor.collapse_shape %alpha1 [[0], [1], [2, 3]] : !g1 into !g

    // q is the only non-adaptive projection.
    %q0 = nl.linear %hc, %Wq : (!x, tensor<128x128xf32>) -> !x
    %qh = nl.split_heads %q0 heads = 4 : !x -> !h
    %q = nl.l2norm %qh : !h

    %kv = nl.flow keys_values(%k, %p#1 : !h, !h) -> !nl.flow<keys_values, !h, !h>
    %o = nl.memorize @cms_low::@cms_mid::@pretrain::@mem(%kv) read(%q) lr(%eta) decay(%alpha) self_values : (!nl.flow<keys_values, !h, !h>, !h, !g, !g) -> !h
    %om = nl.merge_heads %o : !h -> !x
    %y = nl.linear %om, %Wo : (!x, tensor<128x128xf32>) -> !x
    %x1 = nl.add %x, %y : (!x, !x) -> !x

    // Continuum Memory System: high (every step), mid (16), low (256).
    %hw1 = nl.get_param @cms_low::@cms_mid::@pretrain::@high_w1 : tensor<512x128xf32>
    %hw2 = nl.get_param @cms_low::@cms_mid::@pretrain::@high_w2 : tensor<128x512xf32>
    %hg = nl.get_param @cms_low::@cms_mid::@pretrain::@high_norm : tensor<128xf32>
    %mw1 = nl.get_param @cms_low::@cms_mid::@mid_w1 : tensor<512x128xf32>
    %mw2 = nl.get_param @cms_low::@cms_mid::@mid_w2 : tensor<128x512xf32>
    %mg = nl.get_param @cms_low::@cms_mid::@mid_norm : tensor<128xf32>
    %lw1 = nl.get_param @cms_low::@low_w1 : tensor<512x128xf32>
    %lw2 = nl.get_param @cms_low::@low_w2 : tensor<128x512xf32>
    %lg = nl.get_param @cms_low::@low_norm : tensor<128xf32>
    %c1 = func.call @cms_block(%x1, %hg, %hw1, %hw2) : (!x, tensor<128xf32>, tensor<512x128xf32>, tensor<128x512xf32>) -> !x
    %c2 = func.call @cms_block(%c1, %mg, %mw1, %mw2) : (!x, tensor<128xf32>, tensor<512x128xf32>, tensor<128x512xf32>) -> !x
    %c3 = func.call @cms_block(%c2, %lg, %lw1, %lw2) : (!x, tensor<128xf32>, tensor<512x128xf32>, tensor<128x512xf32>) -> !x

    %gf = nl.get_param @cms_low::@cms_mid::@pretrain::@norm_f : tensor<128xf32>
    %Wh = nl.get_param @cms_low::@cms_mid::@pretrain::@head : tensor<128x256xf32>
    %hf = nl.rmsnorm %c3, %gf : !x, tensor<128xf32>
    %logits = nl.linear %hf, %Wh : (!x, tensor<128x256xf32>) -> tensor<2x64x256xf32>
    %loss = nl.cross_entropy %logits, %tgt : (tensor<2x64x256xf32>, tensor<2x64xi32>) -> tensor<f32>
    return %loss : tensor<f32>
  }
}
