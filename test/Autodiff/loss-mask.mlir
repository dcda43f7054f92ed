// Cross-entropy with a loss mask: a negative target -(i + 1) is token i not
// counted (docs/language.md, "Loss masks"). The gradient (and the gradient
// of the gradient) against central finite differences in float64, with
// some targets not counted, with none counted (the loss is then 0, not
// NaN), and through nl.token_ids in a tiny language model whose tokens
// carry the mask. The loss's value against an independent computation is
// checked end to end in test/Runtime/loss-mask.test.
// RUN: nl-gradcheck %s | FileCheck %s
// RUN: nl-gradcheck --blas=false %s | FileCheck %s
// CHECK-NOT: FAIL
// CHECK: PASS: 6 function(s)

func.func @some_counted(%x: tensor<2x3x4xf64>, %w: tensor<4x7xf64>) -> tensor<f64> attributes {nl.differentiate = 2 : i64} {
  %t = arith.constant dense<[[2, -4, 6], [-1, -7, 0]]> : tensor<2x3xi32>
  %0 = nl.linear %x, %w : (tensor<2x3x4xf64>, tensor<4x7xf64>) -> tensor<2x3x7xf64>
  %1 = nl.cross_entropy %0, %t : (tensor<2x3x7xf64>, tensor<2x3xi32>) -> tensor<f64>
  // Squared, so that the second-order check sees a nonzero Hessian term
  // through the mask.
  %2 = nl.mul %1, %1 : (tensor<f64>, tensor<f64>) -> tensor<f64>
  return %2 : tensor<f64>
}
func.func @none_counted(%x: tensor<2x3x4xf64>, %w: tensor<4x7xf64>) -> tensor<f64> attributes {nl.differentiate = 2 : i64} {
  %t = arith.constant dense<[[-3, -4, -6], [-1, -7, -2]]> : tensor<2x3xi32>
  %0 = nl.linear %x, %w : (tensor<2x3x4xf64>, tensor<4x7xf64>) -> tensor<2x3x7xf64>
  %1 = nl.cross_entropy %0, %t : (tensor<2x3x7xf64>, tensor<2x3xi32>) -> tensor<f64>
  %2 = nl.sum %x : tensor<2x3x4xf64> -> tensor<f64>
  %3 = nl.add %1, %2 : (tensor<f64>, tensor<f64>) -> tensor<f64>
  return %3 : tensor<f64>
}
func.func @tiny_lm_masked(%emb: tensor<5x4xf64>, %head: tensor<4x5xf64>) -> tensor<f64> attributes {nl.differentiate = 2 : i64} {
  %tok = arith.constant dense<[[1, -3, 4, -1, 0, 2], [3, 3, -5, -2, 1, -4]]> : tensor<2x6xi32>
  %raw = nl.slice %tok dim = 1 offset = 0 size = 5 : tensor<2x6xi32> -> tensor<2x5xi32>
  %in = nl.token_ids %raw : tensor<2x5xi32>
  %tg = nl.slice %tok dim = 1 offset = 1 size = 5 : tensor<2x6xi32> -> tensor<2x5xi32>
  %x = nl.embedding %emb[%in] : tensor<5x4xf64>, tensor<2x5xi32> -> tensor<2x5x4xf64>
  %h = nl.tanh %x : tensor<2x5x4xf64>
  %l = nl.linear %h, %head : (tensor<2x5x4xf64>, tensor<4x5xf64>) -> tensor<2x5x5xf64>
  %loss = nl.cross_entropy %l, %tg : (tensor<2x5x5xf64>, tensor<2x5xi32>) -> tensor<f64>
  return %loss : tensor<f64>
}
