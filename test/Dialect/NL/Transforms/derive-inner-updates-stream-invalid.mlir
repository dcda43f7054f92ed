// RUN: nl-opt --derive-inner-updates --verify-diagnostics %s
// A stream's prefill runs whole chunks of every memory level (the runtime
// calls it at their common boundaries; docs/streaming.md): a prefill of 6
// tokens over chunks of 4 is refused, naming the level.

nl.model @m {
  nl.level @pretrain every <1 steps> {
    nl.param @emb : tensor<256x8xf32>
    nl.optimizer @adamw adamw attributes {lr = 1.000000e-03 : f64}
    nl.level @mem every <4 tokens> {
      nl.memory @M : !nl.memory<matrix, heads = 1, in = 8, out = 8>
      nl.objective l2
      nl.optimizer @gd gd attributes {lr = 1.000000e-01 : f64}
    }
  }
  func.func @prefill(%arg0: tensor<1x6xi32>) -> tensor<1x1x6x8xf32> attributes {nl.stream = "prefill"} {
    %1 = nl.get_param @pretrain::@emb : tensor<256x8xf32>
    %2 = nl.embedding %1[%arg0] : tensor<256x8xf32>, tensor<1x6xi32> -> tensor<1x6x8xf32>
    %3 = nl.split_heads %2 heads = 1 : tensor<1x6x8xf32> -> tensor<1x1x6x8xf32>
    %4 = nl.flow keys_values(%3, %3 : tensor<1x1x6x8xf32>, tensor<1x1x6x8xf32>) -> <keys_values, tensor<1x1x6x8xf32>, tensor<1x1x6x8xf32>>
    // expected-error @below {{a prefill of 6 tokens is not whole chunks of 4 tokens of level @mem}}
    %5 = nl.memorize @pretrain::@mem(%4) read(%3) : (!nl.flow<keys_values, tensor<1x1x6x8xf32>, tensor<1x1x6x8xf32>>, tensor<1x1x6x8xf32>) -> tensor<1x1x6x8xf32>
    return %5 : tensor<1x1x6x8xf32>
  }
}
