// RUN: nl-opt %s | nl-opt | FileCheck %s
// RUN: nl-opt %s --nl-print-levels -o /dev/null 2>&1 | FileCheck %s --check-prefix=LEVELS

// DeltaNet / gated DeltaNet layer: matrix memory, L2 objective (the delta
// rule, NL-A Eq. 65), per-token learning rate beta_t, data-dependent decay
// alpha_t (gated delta rule). Chunk size 64. B = 1, T = 128, D = 64, H = 2.

// CHECK-LABEL: nl.model @deltanet
// CHECK: nl.level @delta every <64 tokens>
// CHECK-NEXT: nl.memory @S : !nl.memory<matrix, heads = 2, in = 32, out = 32>
// CHECK-NEXT: nl.objective l2
// CHECK-NEXT: nl.optimizer @gd gd
// CHECK-NEXT: nl.retention gate
// CHECK: nl.memorize @outer::@delta(%{{.*}}) read(%{{.*}}) lr(%{{.*}}) decay(%{{.*}})

// LEVELS: level @delta every 64 tokens
// LEVELS-NEXT: memory @S : !nl.memory<matrix, heads = 2, in = 32, out = 32> (2048 scalars per sequence)

!x = tensor<1x128x64xf32>
!h = tensor<1x2x128x32xf32>
!g = tensor<1x2x128xf32>

nl.model @deltanet {
  nl.level @outer every <1 steps> {
    nl.param @wq : tensor<64x64xf32>
    nl.param @wk : tensor<64x64xf32>
    nl.param @wv : tensor<64x64xf32>
    nl.param @wb : tensor<64x2xf32>
    nl.param @wa : tensor<64x2xf32>
    nl.optimizer @adamw adamw attributes {lr = 1.0e-3 : f64}
    nl.level @delta every <64 tokens> {
      nl.memory @S : !nl.memory<matrix, heads = 2, in = 32, out = 32>
      nl.objective l2
      nl.optimizer @gd gd attributes {lr = 1.0 : f64}
      nl.retention gate
    }
  }
  func.func @layer(%x: !x) -> !x {
    %Wq = nl.get_param @outer::@wq : tensor<64x64xf32>
    %Wk = nl.get_param @outer::@wk : tensor<64x64xf32>
    %Wv = nl.get_param @outer::@wv : tensor<64x64xf32>
    %Wb = nl.get_param @outer::@wb : tensor<64x2xf32>
    %Wa = nl.get_param @outer::@wa : tensor<64x2xf32>
    %q0 = nl.linear %x, %Wq : (!x, tensor<64x64xf32>) -> !x
    %k0 = nl.linear %x, %Wk : (!x, tensor<64x64xf32>) -> !x
    %v0 = nl.linear %x, %Wv : (!x, tensor<64x64xf32>) -> !x
    %qh = nl.split_heads %q0 heads = 2 : !x -> !h
    %kh = nl.split_heads %k0 heads = 2 : !x -> !h
    %v = nl.split_heads %v0 heads = 2 : !x -> !h
    %q = nl.l2norm %qh : !h
    %k = nl.l2norm %kh : !h
    %b0 = nl.linear %x, %Wb : (!x, tensor<64x2xf32>) -> tensor<1x128x2xf32>
    %a0 = nl.linear %x, %Wa : (!x, tensor<64x2xf32>) -> tensor<1x128x2xf32>
    %b1 = nl.sigmoid %b0 : tensor<1x128x2xf32>
    %a1 = nl.sigmoid %a0 : tensor<1x128x2xf32>
    %b3 = nl.split_heads %b1 heads = 2 : tensor<1x128x2xf32> -> tensor<1x2x128x1xf32>
    %a3 = nl.split_heads %a1 heads = 2 : tensor<1x128x2xf32> -> tensor<1x2x128x1xf32>
    %beta = tensor.collapse_shape %b3 [[0], [1], [2, 3]] : tensor<1x2x128x1xf32> into !g
    %alpha = tensor.collapse_shape %a3 [[0], [1], [2, 3]] : tensor<1x2x128x1xf32> into !g
    %kv = nl.flow keys_values(%k, %v : !h, !h) -> !nl.flow<keys_values, !h, !h>
    %o = nl.memorize @outer::@delta(%kv) read(%q) lr(%beta) decay(%alpha) : (!nl.flow<keys_values, !h, !h>, !h, !g, !g) -> !h
    %y = nl.merge_heads %o : !h -> !x
    return %y : !x
  }
}
