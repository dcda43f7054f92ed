// RUN: nl-opt %s | nl-opt | FileCheck %s
// RUN: nl-opt %s --mlir-print-op-generic | nl-opt | FileCheck %s
// RUN: nl-opt %s --nl-print-levels -o /dev/null 2>&1 | FileCheck %s --check-prefix=LEVELS

// A one-layer Titans (LMM) block written by hand: MLP memory, L2 objective,
// momentum, data-dependent decay gate, chunk size 16 (Titans Eqs. 12-15;
// design/NESTED_LEARNING.md §2 and §9). B = 2, T = 64, D = 128, H = 4, d = 32.

// CHECK-LABEL: nl.model @titans
// CHECK: nl.level @pretrain every <1 steps>
// CHECK: nl.param @mem_init : !nl.memory<mlp, heads = 4, in = 32, out = 32, hidden = 128>
// CHECK: nl.optimizer @adamw adamw
// CHECK: nl.level @mem every <16 tokens>
// CHECK-NEXT: nl.memory @M : !nl.memory<mlp, heads = 4, in = 32, out = 32, hidden = 128> init @pretrain::@mem_init
// CHECK-NEXT: nl.objective l2
// CHECK-NEXT: nl.optimizer @inner momentum
// CHECK-NEXT: nl.retention gate
// CHECK: func.func @step
// CHECK: nl.flow keys_values
// CHECK: nl.memorize @pretrain::@mem(%{{.*}}) read(%{{.*}}) lr(%{{.*}}) decay(%{{.*}})
// CHECK: nl.cross_entropy

// LEVELS: model @titans
// LEVELS-NEXT: level @pretrain every 1 steps
// LEVELS: optimizer @adamw adamw lr = 0.001
// LEVELS: level @mem every 16 tokens
// LEVELS-NEXT: memory @M : {{.*}} (32768 scalars per sequence) init @pretrain::@mem_init
// LEVELS-NEXT: objective l2
// LEVELS-NEXT: retention gate
// LEVELS-NEXT: optimizer @inner momentum lr = 0.1
// LEVELS: total parameters: {{[0-9]+}}

nl.model @titans {
  nl.level @pretrain every <1 steps> {
    nl.param @embed : tensor<256x128xf32> init normal std = 2.000000e-02
    nl.param @norm1 : tensor<128xf32> init ones
    nl.param @wq : tensor<128x128xf32>
    nl.param @wk : tensor<128x128xf32>
    nl.param @wv : tensor<128x128xf32>
    nl.param @conv : tensor<4x128xf32>
    nl.param @w_lr : tensor<128x4xf32>
    nl.param @w_alpha : tensor<128x4xf32>
    nl.param @wo : tensor<128x128xf32>
    nl.param @norm_f : tensor<128xf32> init ones
    nl.param @head : tensor<128x256xf32>
    nl.param @mem_init : !nl.memory<mlp, heads = 4, in = 32, out = 32, hidden = 128>
    nl.optimizer @adamw adamw attributes {lr = 1.0e-03 : f64, beta1 = 0.9 : f64, beta2 = 0.95 : f64, eps = 1.0e-08 : f64, weight_decay = 0.1 : f64}
    nl.level @mem every <16 tokens> {
      nl.memory @M : !nl.memory<mlp, heads = 4, in = 32, out = 32, hidden = 128> init @pretrain::@mem_init
      nl.objective l2
      nl.optimizer @inner momentum attributes {lr = 0.1 : f64, beta = 0.9 : f64}
      nl.retention gate
    }
  }

  func.func @step(%tokens: tensor<2x65xi32>) -> tensor<f32> {
    %E = nl.get_param @pretrain::@embed : tensor<256x128xf32>
    %g1 = nl.get_param @pretrain::@norm1 : tensor<128xf32>
    %Wq = nl.get_param @pretrain::@wq : tensor<128x128xf32>
    %Wk = nl.get_param @pretrain::@wk : tensor<128x128xf32>
    %Wv = nl.get_param @pretrain::@wv : tensor<128x128xf32>
    %Wc = nl.get_param @pretrain::@conv : tensor<4x128xf32>
    %Wlr = nl.get_param @pretrain::@w_lr : tensor<128x4xf32>
    %Wa = nl.get_param @pretrain::@w_alpha : tensor<128x4xf32>
    %Wo = nl.get_param @pretrain::@wo : tensor<128x128xf32>
    %gf = nl.get_param @pretrain::@norm_f : tensor<128xf32>
    %Wh = nl.get_param @pretrain::@head : tensor<128x256xf32>

    %in = nl.slice %tokens dim = 1 offset = 0 size = 64 : tensor<2x65xi32> -> tensor<2x64xi32>
    %tgt = nl.slice %tokens dim = 1 offset = 1 size = 64 : tensor<2x65xi32> -> tensor<2x64xi32>
    %x = nl.embedding %E[%in] : tensor<256x128xf32>, tensor<2x64xi32> -> tensor<2x64x128xf32>
    %h = nl.rmsnorm %x, %g1 : tensor<2x64x128xf32>, tensor<128xf32>

    // q, k, v: linear, short causal conv, SiLU; q and k L2-normalized per head.
    %q0 = nl.linear %h, %Wq : (tensor<2x64x128xf32>, tensor<128x128xf32>) -> tensor<2x64x128xf32>
    %k0 = nl.linear %h, %Wk : (tensor<2x64x128xf32>, tensor<128x128xf32>) -> tensor<2x64x128xf32>
    %v0 = nl.linear %h, %Wv : (tensor<2x64x128xf32>, tensor<128x128xf32>) -> tensor<2x64x128xf32>
    %k1 = nl.causal_conv %k0, %Wc : tensor<2x64x128xf32>, tensor<4x128xf32>
    %q1 = nl.silu %q0 : tensor<2x64x128xf32>
    %k2 = nl.silu %k1 : tensor<2x64x128xf32>
    %v1 = nl.silu %v0 : tensor<2x64x128xf32>
    %qh = nl.split_heads %q1 heads = 4 : tensor<2x64x128xf32> -> tensor<2x4x64x32xf32>
    %kh = nl.split_heads %k2 heads = 4 : tensor<2x64x128xf32> -> tensor<2x4x64x32xf32>
    %vh = nl.split_heads %v1 heads = 4 : tensor<2x64x128xf32> -> tensor<2x4x64x32xf32>
    %q = nl.l2norm %qh : tensor<2x4x64x32xf32>
    %k = nl.l2norm %kh : tensor<2x4x64x32xf32>

    // Data-dependent gates per token and head: eta_t, alpha_t in (0, 1).
    %lr0 = nl.linear %h, %Wlr : (tensor<2x64x128xf32>, tensor<128x4xf32>) -> tensor<2x64x4xf32>
    %a0 = nl.linear %h, %Wa : (tensor<2x64x128xf32>, tensor<128x4xf32>) -> tensor<2x64x4xf32>
    %lr1 = nl.sigmoid %lr0 : tensor<2x64x4xf32>
    %a1 = nl.sigmoid %a0 : tensor<2x64x4xf32>
    %lr3 = nl.split_heads %lr1 heads = 4 : tensor<2x64x4xf32> -> tensor<2x4x64x1xf32>
    %a3 = nl.split_heads %a1 heads = 4 : tensor<2x64x4xf32> -> tensor<2x4x64x1xf32>
    %eta = tensor.collapse_shape %lr3 [[0], [1], [2, 3]] : tensor<2x4x64x1xf32> into tensor<2x4x64xf32>
    %alpha = tensor.collapse_shape %a3 [[0], [1], [2, 3]] : tensor<2x4x64x1xf32> into tensor<2x4x64xf32>

    %kv = nl.flow keys_values(%k, %vh : tensor<2x4x64x32xf32>, tensor<2x4x64x32xf32>) -> !nl.flow<keys_values, tensor<2x4x64x32xf32>, tensor<2x4x64x32xf32>>
    %o = nl.memorize @pretrain::@mem(%kv) read(%q) lr(%eta) decay(%alpha) : (!nl.flow<keys_values, tensor<2x4x64x32xf32>, tensor<2x4x64x32xf32>>, tensor<2x4x64x32xf32>, tensor<2x4x64xf32>, tensor<2x4x64xf32>) -> tensor<2x4x64x32xf32>

    %om = nl.merge_heads %o : tensor<2x4x64x32xf32> -> tensor<2x64x128xf32>
    %y = nl.linear %om, %Wo : (tensor<2x64x128xf32>, tensor<128x128xf32>) -> tensor<2x64x128xf32>
    %x1 = nl.add %x, %y : (tensor<2x64x128xf32>, tensor<2x64x128xf32>) -> tensor<2x64x128xf32>
    %hf = nl.rmsnorm %x1, %gf : tensor<2x64x128xf32>, tensor<128xf32>
    %logits = nl.linear %hf, %Wh : (tensor<2x64x128xf32>, tensor<128x256xf32>) -> tensor<2x64x256xf32>
    %loss = nl.cross_entropy %logits, %tgt : (tensor<2x64x256xf32>, tensor<2x64xi32>) -> tensor<f32>
    return %loss : tensor<f32>
  }
}
