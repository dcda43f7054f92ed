// RUN: nl-opt --derive-inner-updates --verify-diagnostics %s
// A written memory level nested in another written memory level (IR written
// by hand, past the frontend's check) is refused with both levels named;
// derive-inner-updates used to crash on it with a double free.

nl.model @nested {
  nl.level @pretrain every <1 steps> {
    nl.param @emb : tensor<256x8xf32>
    nl.optimizer @adamw adamw attributes {lr = 1.000000e-03 : f64}
    nl.level @outer every <4 tokens> {
      nl.memory @A : !nl.memory<matrix, heads = 1, in = 8, out = 8>
      nl.objective l2
      nl.optimizer @gd gd attributes {lr = 1.000000e-01 : f64}
      nl.level @inner every <4 tokens> {
        nl.memory @B : !nl.memory<matrix, heads = 1, in = 8, out = 8>
        nl.objective l2
        nl.optimizer @gd gd attributes {lr = 1.000000e-01 : f64}
      }
    }
  }
  func.func @step(%arg0: tensor<1x17xi32>) -> tensor<f32> {
    %0 = nl.slice %arg0 dim = 1 offset = 0 size = 16 : tensor<1x17xi32> -> tensor<1x16xi32>
    %1 = nl.get_param @pretrain::@emb : tensor<256x8xf32>
    %2 = nl.embedding %1[%0] : tensor<256x8xf32>, tensor<1x16xi32> -> tensor<1x16x8xf32>
    %3 = nl.split_heads %2 heads = 1 : tensor<1x16x8xf32> -> tensor<1x1x16x8xf32>
    %4 = nl.flow keys_values(%3, %3 : tensor<1x1x16x8xf32>, tensor<1x1x16x8xf32>) -> <keys_values, tensor<1x1x16x8xf32>, tensor<1x1x16x8xf32>>
    // expected-note @below {{level @outer is written here}}
    %5 = nl.memorize @pretrain::@outer(%4) read(%3) : (!nl.flow<keys_values, tensor<1x1x16x8xf32>, tensor<1x1x16x8xf32>>, tensor<1x1x16x8xf32>) -> tensor<1x1x16x8xf32>
    // The inner level reads the outer level's output.
    %6 = nl.flow keys_values(%5, %5 : tensor<1x1x16x8xf32>, tensor<1x1x16x8xf32>) -> <keys_values, tensor<1x1x16x8xf32>, tensor<1x1x16x8xf32>>
    // expected-error @below {{level @inner is nested in level @outer and both are written; a memory level inside another written memory level is not supported (declare them side by side)}}
    %7 = nl.memorize @pretrain::@outer::@inner(%6) read(%5) : (!nl.flow<keys_values, tensor<1x1x16x8xf32>, tensor<1x1x16x8xf32>>, tensor<1x1x16x8xf32>) -> tensor<1x1x16x8xf32>
    %8 = nl.sum %7 : tensor<1x1x16x8xf32> -> tensor<f32>
    return %8 : tensor<f32>
  }
}
