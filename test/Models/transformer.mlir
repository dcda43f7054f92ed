// RUN: nl-opt %s | nl-opt | FileCheck %s
// RUN: nl-opt %s --nl-print-levels -o /dev/null 2>&1 | FileCheck %s --check-prefix=LEVELS

// A one-layer Transformer as a nested system (NL §1): attention is the
// non-parametric inner level (frequency infinite: no state to write), the
// projections and MLP are the pre-training level's parameters.

// CHECK-LABEL: nl.model @transformer
// CHECK: nl.level @pretrain every <1 steps>
// CHECK: nl.attention %{{.*}}, %{{.*}}, %{{.*}} :
// CHECK: nl.gelu
// CHECK: nl.cross_entropy

// LEVELS: model @transformer
// LEVELS-NEXT: level @pretrain every 1 steps
// 256*128 + 3*128 + 128*384 + 128*128 + 2*128*512 + 128*256 = 262528
// LEVELS: total parameters: 262528

!x = tensor<2x64x128xf32>
!h = tensor<2x4x64x32xf32>

nl.model @transformer {
  nl.level @pretrain every <1 steps> {
    nl.param @embed : tensor<256x128xf32>
    nl.param @n1 : tensor<128xf32> init ones
    nl.param @wqkv : tensor<128x384xf32>
    nl.param @wo : tensor<128x128xf32>
    nl.param @n2 : tensor<128xf32> init ones
    nl.param @w1 : tensor<128x512xf32>
    nl.param @w2 : tensor<512x128xf32>
    nl.param @nf : tensor<128xf32> init ones
    nl.param @head : tensor<128x256xf32>
    nl.optimizer @adamw adamw attributes {lr = 1.0e-3 : f64, beta1 = 0.9 : f64, beta2 = 0.95 : f64, weight_decay = 0.1 : f64}
  }
  func.func @step(%tokens: tensor<2x65xi32>) -> tensor<f32> {
    %E = nl.get_param @pretrain::@embed : tensor<256x128xf32>
    %g1 = nl.get_param @pretrain::@n1 : tensor<128xf32>
    %Wqkv = nl.get_param @pretrain::@wqkv : tensor<128x384xf32>
    %Wo = nl.get_param @pretrain::@wo : tensor<128x128xf32>
    %g2 = nl.get_param @pretrain::@n2 : tensor<128xf32>
    %W1 = nl.get_param @pretrain::@w1 : tensor<128x512xf32>
    %W2 = nl.get_param @pretrain::@w2 : tensor<512x128xf32>
    %gf = nl.get_param @pretrain::@nf : tensor<128xf32>
    %Wh = nl.get_param @pretrain::@head : tensor<128x256xf32>
    %in = nl.slice %tokens dim = 1 offset = 0 size = 64 : tensor<2x65xi32> -> tensor<2x64xi32>
    %tgt = nl.slice %tokens dim = 1 offset = 1 size = 64 : tensor<2x65xi32> -> tensor<2x64xi32>
    %x = nl.embedding %E[%in] : tensor<256x128xf32>, tensor<2x64xi32> -> !x
    %h = nl.rmsnorm %x, %g1 : !x, tensor<128xf32>
    %qkv = nl.linear %h, %Wqkv : (!x, tensor<128x384xf32>) -> tensor<2x64x384xf32>
    %q0 = nl.slice %qkv dim = 2 offset = 0 size = 128 : tensor<2x64x384xf32> -> !x
    %k0 = nl.slice %qkv dim = 2 offset = 128 size = 128 : tensor<2x64x384xf32> -> !x
    %v0 = nl.slice %qkv dim = 2 offset = 256 size = 128 : tensor<2x64x384xf32> -> !x
    %q = nl.split_heads %q0 heads = 4 : !x -> !h
    %k = nl.split_heads %k0 heads = 4 : !x -> !h
    %v = nl.split_heads %v0 heads = 4 : !x -> !h
    %a = nl.attention %q, %k, %v : (!h, !h, !h) -> !h
    %am = nl.merge_heads %a : !h -> !x
    %ao = nl.linear %am, %Wo : (!x, tensor<128x128xf32>) -> !x
    %x1 = nl.add %x, %ao : (!x, !x) -> !x
    %h2 = nl.rmsnorm %x1, %g2 : !x, tensor<128xf32>
    %u = nl.linear %h2, %W1 : (!x, tensor<128x512xf32>) -> tensor<2x64x512xf32>
    %u1 = nl.gelu %u : tensor<2x64x512xf32>
    %d = nl.linear %u1, %W2 : (tensor<2x64x512xf32>, tensor<512x128xf32>) -> !x
    %x2 = nl.add %x1, %d : (!x, !x) -> !x
    %hf = nl.rmsnorm %x2, %gf : !x, tensor<128xf32>
    %logits = nl.linear %hf, %Wh : (!x, tensor<128x256xf32>) -> tensor<2x64x256xf32>
    %loss = nl.cross_entropy %logits, %tgt : (tensor<2x64x256xf32>, tensor<2x64xi32>) -> tensor<f32>
    return %loss : tensor<f32>
  }
}
