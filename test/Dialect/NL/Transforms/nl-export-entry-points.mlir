// RUN: nl-opt --derive-inner-updates --build-train-step --nl-outline-checkpoints --nl-export-entry-points --split-input-file %s | FileCheck %s

// The functions leave the model; @logits is @loss returning its logits;
// the manifest describes the parameters (with initializers), the levels and
// every entry point's arguments and results in ABI order.
// CHECK: module attributes {nl.manifest = "{
// CHECK-SAME: \22batch\22:2,\22context\22:3
// CHECK-SAME: \22functions\22:{
// CHECK-SAME: \22train_step\22:{\22args\22:[{\22dtype\22:\22f32\22,\22level\22:\22p\22,\22name\22:\22emb\22,\22role\22:\22param\22,\22shape\22:[5,2]}
// CHECK-SAME: {\22dtype\22:\22f32\22,\22name\22:\22emb.m\22,\22role\22:\22state\22,\22shape\22:[5,2]}
// CHECK-SAME: {\22dtype\22:\22f32\22,\22name\22:\22step\22,\22role\22:\22step\22,\22shape\22:[]}
// CHECK-SAME: {\22dtype\22:\22f32\22,\22name\22:\22lr_scale\22,\22role\22:\22lr_scale\22,\22shape\22:[]}
// CHECK-SAME: {\22dtype\22:\22i32\22,\22name\22:\22tokens\22,\22role\22:\22tokens\22,\22shape\22:[2,4]}],\22results\22:[{\22dtype\22:\22f32\22,\22name\22:\22loss\22,\22role\22:\22loss\22,\22shape\22:[]}
// CHECK-SAME: \22model\22:\22m\22
// CHECK-SAME: {\22init\22:\22ones\22,\22level\22:\22p\22,\22name\22:\22emb\22,\22shape\22:[5,2],\22std\22:0.02}
// CHECK-SAME: \22vocab\22:5
// CHECK-NOT: nl.model
// @loss is the cross-entropy of @logits (one forward pass to compile).
// CHECK: func.func @loss(
// CHECK-NEXT: %[[TG:.*]] = nl.slice %arg2 dim = 1 offset = 1 size = 3
// CHECK-NEXT: %[[L:.*]] = call @logits(%arg0, %arg1, %arg2) : ({{.*}}) -> tensor<2x3x5xf32>
// CHECK-NEXT: %[[CE:.*]] = nl.cross_entropy %[[L]], %[[TG]]
// CHECK-NEXT: return %[[CE]]
// CHECK: func.func @logits({{.*}}) -> tensor<2x3x5xf32>
// CHECK-NOT: nl.cross_entropy
// CHECK: return
// CHECK: func.func @loss_grad(
// CHECK: func.func private @loss_grad.chunk0(
// CHECK: func.func @train_step(
nl.model @m {
  nl.level @p every <1 steps> {
    nl.param @emb : tensor<5x2xf32> init ones
    nl.level @mem every <2 tokens> {
      nl.memory @M : !nl.memory<matrix, heads = 1, in = 2, out = 2> init @p::@M0
      nl.objective l2
      nl.optimizer @o gd attributes {lr = 0.5 : f64}
    }
    nl.param @M0 : !nl.memory<matrix, heads = 1, in = 2, out = 2>
    nl.optimizer @adamw adamw attributes {lr = 1.0e-3 : f64, beta1 = 0.9 : f64, beta2 = 0.95 : f64, eps = 1.0e-8 : f64, weight_decay = 0.1 : f64}
  }
  func.func @step(%tok: tensor<2x4xi32>) -> tensor<f32> {
    %in = nl.slice %tok dim = 1 offset = 0 size = 3 : tensor<2x4xi32> -> tensor<2x3xi32>
    %tg = nl.slice %tok dim = 1 offset = 1 size = 3 : tensor<2x4xi32> -> tensor<2x3xi32>
    %e = nl.get_param @p::@emb : tensor<5x2xf32>
    %x = nl.embedding %e[%in] : tensor<5x2xf32>, tensor<2x3xi32> -> tensor<2x3x2xf32>
    %h = nl.split_heads %x heads = 1 : tensor<2x3x2xf32> -> tensor<2x1x3x2xf32>
    %f = nl.flow keys_values(%h, %h : tensor<2x1x3x2xf32>, tensor<2x1x3x2xf32>) -> <keys_values, tensor<2x1x3x2xf32>, tensor<2x1x3x2xf32>>
    %y = nl.memorize @p::@mem(%f) read(%h) : (!nl.flow<keys_values, tensor<2x1x3x2xf32>, tensor<2x1x3x2xf32>>, tensor<2x1x3x2xf32>) -> tensor<2x1x3x2xf32>
    %m = nl.merge_heads %y : tensor<2x1x3x2xf32> -> tensor<2x3x2xf32>
    %et = nl.transpose %e : tensor<5x2xf32> -> tensor<2x5xf32>
    %l = nl.linear %m, %et : (tensor<2x3x2xf32>, tensor<2x5xf32>) -> tensor<2x3x5xf32>
    %loss = nl.cross_entropy %l, %tg : (tensor<2x3x5xf32>, tensor<2x3xi32>) -> tensor<f32>
    return %loss : tensor<f32>
  }
}

// -----

// A model of rows of real values (f32 [batch, features + outputs]) whose
// loss is a mean squared error: the data argument has the role `rows`, the
// manifest gives the row width, and there is no @logits.
// CHECK: module attributes {nl.manifest = "{
// CHECK-SAME: \22batch\22:4
// CHECK-SAME: {\22dtype\22:\22f32\22,\22name\22:\22rows\22,\22role\22:\22rows\22,\22shape\22:[4,4]}
// CHECK-NOT: logits
// CHECK-SAME: \22input\22:\22rows\22
// CHECK-NOT: vocab
// CHECK-SAME: \22width\22:4}"}
// CHECK-NOT: @logits
// CHECK: func.func @loss(
// CHECK: nl.mean
nl.model @rows {
  nl.level @p every <1 steps> {
    nl.param @w : tensor<3x1xf32>
    nl.optimizer @gd gd attributes {lr = 1.000000e-01 : f64}
  }
  func.func @step(%rows: tensor<4x4xf32>) -> tensor<f32> {
    %x = nl.slice %rows dim = 1 offset = 0 size = 3 : tensor<4x4xf32> -> tensor<4x3xf32>
    %y = nl.slice %rows dim = 1 offset = 3 size = 1 : tensor<4x4xf32> -> tensor<4x1xf32>
    %w = nl.get_param @p::@w : tensor<3x1xf32>
    %p = nl.linear %x, %w : (tensor<4x3xf32>, tensor<3x1xf32>) -> tensor<4x1xf32>
    %d = nl.sub %p, %y : (tensor<4x1xf32>, tensor<4x1xf32>) -> tensor<4x1xf32>
    %s = nl.pow %d, 2.000000e+00 : tensor<4x1xf32>
    %l = nl.mean %s : tensor<4x1xf32> -> tensor<f32>
    return %l : tensor<f32>
  }
}
