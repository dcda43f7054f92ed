// RUN: nl-opt --nl-export-entry-points --split-input-file --verify-diagnostics %s

// expected-error @below {{nl-export-entry-points: expected one nl.model, found 0}}
module {
  func.func @f() {
    return
  }
}

// -----

// expected-error @below {{nl-export-entry-points: @untrained has no @train_step, @loss and @loss_grad; run derive-inner-updates and build-train-step first}}
nl.model @untrained {
  nl.level @p every <1 steps> {
    nl.param @w : tensor<2xf32>
  }
}

// -----

// A stream entry point must take and return the state @stream_init makes
// (docs/streaming.md): @decode returns no cache here.
nl.model @stream {
  nl.level @p every <1 steps> {
    nl.param @w : tensor<2xf32>
  }
  func.func @train_step(%w: tensor<2xf32> {nl.param = @p::@w}, %t: tensor<2x3xi32>) -> (tensor<f32>, tensor<2xf32>) {
    %c = arith.constant dense<0.0> : tensor<f32>
    return %c, %w : tensor<f32>, tensor<2xf32>
  }
  func.func @loss(%w: tensor<2xf32> {nl.param = @p::@w}, %t: tensor<2x3xi32>) -> tensor<f32> {
    %c = arith.constant dense<0.0> : tensor<f32>
    return %c : tensor<f32>
  }
  func.func @loss_grad(%w: tensor<2xf32> {nl.param = @p::@w}, %t: tensor<2x3xi32>) -> (tensor<f32>, tensor<2xf32>) {
    %c = arith.constant dense<0.0> : tensor<f32>
    return %c, %w : tensor<f32>, tensor<2xf32>
  }
  func.func @stream_init(%w: tensor<2xf32> {nl.param = @p::@w}) -> (tensor<1x3x2xf32> {nl.stream = {init = "zeros", name = "conv0"}}) attributes {nl.stream = "init"} {
    %c = arith.constant dense<0.0> : tensor<1x3x2xf32>
    return %c : tensor<1x3x2xf32>
  }
  // expected-error @below {{nl-export-entry-points: @decode does not take and return the stream state of @stream_init}}
  func.func @decode(%w: tensor<2xf32> {nl.param = @p::@w}, %t: tensor<1x1xi32>, %cache: tensor<1x3x2xf32> {nl.stream = {init = "zeros", name = "conv0"}}) -> tensor<1x1x2xf32> attributes {nl.stream = "decode"} {
    %c = arith.constant dense<0.0> : tensor<1x1x2xf32>
    return %c : tensor<1x1x2xf32>
  }
}
