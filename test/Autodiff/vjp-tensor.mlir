// VJPs of contractions, data movement, norms, softmax, attention, causal
// convolution and cross-entropy, and the VJPs of those VJPs, against central
// finite differences in float64.
// Attention and its gradient run on the runtime's fused kernels (as nlc's
// CPU target does), and with --blas=false decomposed into matmul, mask and
// softmax ops (as the cuda target does); attention-kernels.mlir spans the
// kernels' blocks.
// RUN: nl-gradcheck %s | FileCheck %s
// RUN: nl-gradcheck --blas=false %s | FileCheck %s
// CHECK-NOT: FAIL
// CHECK: PASS: 26 function(s)

func.func @matmul_transpose(%a: tensor<2x3x4xf64>, %b: tensor<2x4x5xf64>) -> tensor<f64> attributes {nl.differentiate = 2 : i64} {
  %0 = nl.matmul %a, %b : (tensor<2x3x4xf64>, tensor<2x4x5xf64>) -> tensor<2x3x5xf64>
  %1 = nl.transpose %0 : tensor<2x3x5xf64> -> tensor<2x5x3xf64>
  %2 = nl.mul %1, %1 : (tensor<2x5x3xf64>, tensor<2x5x3xf64>) -> tensor<2x5x3xf64>
  %3 = nl.sum %2 : tensor<2x5x3xf64> -> tensor<f64>
  return %3 : tensor<f64>
}
func.func @linear_bias(%x: tensor<2x3x4xf64>, %w: tensor<4x5xf64>, %b: tensor<5xf64>) -> tensor<f64> attributes {nl.differentiate = 2 : i64} {
  %0 = nl.linear %x, %w, %b : (tensor<2x3x4xf64>, tensor<4x5xf64>, tensor<5xf64>) -> tensor<2x3x5xf64>
  %1 = nl.tanh %0 : tensor<2x3x5xf64>
  %2 = nl.sum %1 : tensor<2x3x5xf64> -> tensor<f64>
  return %2 : tensor<f64>
}
func.func @linear_vector(%x: tensor<4xf64>, %w: tensor<4x3xf64>) -> tensor<f64> attributes {nl.differentiate = 2 : i64} {
  %0 = nl.linear %x, %w : (tensor<4xf64>, tensor<4x3xf64>) -> tensor<3xf64>
  %1 = nl.mul %0, %0 : (tensor<3xf64>, tensor<3xf64>) -> tensor<3xf64>
  %2 = nl.sum %1 : tensor<3xf64> -> tensor<f64>
  return %2 : tensor<f64>
}
func.func @embedding(%t: tensor<5x3xf64>, %ids: tensor<2x4xi32> {nl.int_bound = 5 : i64}) -> tensor<f64> attributes {nl.differentiate = 2 : i64} {
  %0 = nl.embedding %t[%ids] : tensor<5x3xf64>, tensor<2x4xi32> -> tensor<2x4x3xf64>
  %1 = nl.mul %0, %0 : (tensor<2x4x3xf64>, tensor<2x4x3xf64>) -> tensor<2x4x3xf64>
  %2 = nl.sum %1 : tensor<2x4x3xf64> -> tensor<f64>
  return %2 : tensor<f64>
}
func.func @slice_pad_heads(%x: tensor<2x5x6xf64>) -> tensor<f64> attributes {nl.differentiate = 2 : i64} {
  %0 = nl.slice %x dim = 1 offset = 1 size = 3 : tensor<2x5x6xf64> -> tensor<2x3x6xf64>
  %1 = nl.pad %0 dim = 1 offset = 2 size = 7 : tensor<2x3x6xf64> -> tensor<2x7x6xf64>
  %2 = nl.split_heads %1 heads = 3 : tensor<2x7x6xf64> -> tensor<2x3x7x2xf64>
  %3 = nl.silu %2 : tensor<2x3x7x2xf64>
  %4 = nl.merge_heads %3 : tensor<2x3x7x2xf64> -> tensor<2x7x6xf64>
  %5 = nl.mul %4, %1 : (tensor<2x7x6xf64>, tensor<2x7x6xf64>) -> tensor<2x7x6xf64>
  %6 = nl.sum %5 : tensor<2x7x6xf64> -> tensor<f64>
  return %6 : tensor<f64>
}
func.func @reshapes(%x: tensor<2x3x4xf64>) -> tensor<f64> attributes {nl.differentiate = 2 : i64} {
  %0 = tensor.collapse_shape %x [[0, 1], [2]] : tensor<2x3x4xf64> into tensor<6x4xf64>
  %1 = tensor.expand_shape %0 [[0], [1, 2]] output_shape [6, 2, 2] : tensor<6x4xf64> into tensor<6x2x2xf64>
  %2 = nl.sigmoid %1 : tensor<6x2x2xf64>
  %3 = nl.mul %2, %1 : (tensor<6x2x2xf64>, tensor<6x2x2xf64>) -> tensor<6x2x2xf64>
  %4 = nl.sum %3 : tensor<6x2x2xf64> -> tensor<f64>
  return %4 : tensor<f64>
}
func.func @rmsnorm(%x: tensor<2x3x4xf64>, %g: tensor<4xf64>, %w: tensor<2x3x4xf64>) -> tensor<f64> attributes {nl.differentiate = 2 : i64} {
  %0 = nl.rmsnorm %x, %g : tensor<2x3x4xf64>, tensor<4xf64>
  %1 = nl.mul %0, %w : (tensor<2x3x4xf64>, tensor<2x3x4xf64>) -> tensor<2x3x4xf64>
  %2 = nl.sum %1 : tensor<2x3x4xf64> -> tensor<f64>
  return %2 : tensor<f64>
}
func.func @l2norm_softmax(%x: tensor<3x5xf64>, %w: tensor<3x5xf64>) -> tensor<f64> attributes {nl.differentiate = 2 : i64} {
  %0 = nl.l2norm %x : tensor<3x5xf64>
  %1 = nl.softmax %x : tensor<3x5xf64>
  %2 = nl.add %0, %1 : (tensor<3x5xf64>, tensor<3x5xf64>) -> tensor<3x5xf64>
  %3 = nl.mul %2, %w : (tensor<3x5xf64>, tensor<3x5xf64>) -> tensor<3x5xf64>
  %4 = nl.sum %3 : tensor<3x5xf64> -> tensor<f64>
  return %4 : tensor<f64>
}
func.func @causal_conv(%x: tensor<2x5x3xf64>, %k: tensor<4x3xf64>, %w: tensor<2x5x3xf64>) -> tensor<f64> attributes {nl.differentiate = 2 : i64} {
  %0 = nl.causal_conv %x, %k : tensor<2x5x3xf64>, tensor<4x3xf64>
  %1 = nl.mul %0, %w : (tensor<2x5x3xf64>, tensor<2x5x3xf64>) -> tensor<2x5x3xf64>
  %2 = nl.sum %1 : tensor<2x5x3xf64> -> tensor<f64>
  return %2 : tensor<f64>
}
func.func @attention(%q: tensor<1x2x5x3xf64>, %k: tensor<1x2x5x3xf64>, %v: tensor<1x2x5x2xf64>, %w: tensor<1x2x5x2xf64>) -> tensor<f64> attributes {nl.differentiate = 2 : i64} {
  %0 = nl.attention %q, %k, %v : (tensor<1x2x5x3xf64>, tensor<1x2x5x3xf64>, tensor<1x2x5x2xf64>) -> tensor<1x2x5x2xf64>
  %1 = nl.mul %0, %w : (tensor<1x2x5x2xf64>, tensor<1x2x5x2xf64>) -> tensor<1x2x5x2xf64>
  %2 = nl.sum %1 : tensor<1x2x5x2xf64> -> tensor<f64>
  return %2 : tensor<f64>
}
func.func @attention_window(%q: tensor<2x1x6x2xf64>, %k: tensor<2x1x6x2xf64>, %v: tensor<2x1x6x2xf64>, %w: tensor<2x1x6x2xf64>) -> tensor<f64> attributes {nl.differentiate = 2 : i64} {
  %0 = nl.attention %q, %k, %v window = 2 scale = 0.75 : (tensor<2x1x6x2xf64>, tensor<2x1x6x2xf64>, tensor<2x1x6x2xf64>) -> tensor<2x1x6x2xf64>
  %1 = nl.mul %0, %w : (tensor<2x1x6x2xf64>, tensor<2x1x6x2xf64>) -> tensor<2x1x6x2xf64>
  %2 = nl.sum %1 : tensor<2x1x6x2xf64> -> tensor<f64>
  return %2 : tensor<f64>
}
func.func @cross_entropy(%x: tensor<2x3x4xf64>, %w: tensor<4x7xf64>, %t: tensor<2x3xi32> {nl.int_bound = 7 : i64}) -> tensor<f64> attributes {nl.differentiate = 2 : i64} {
  %0 = nl.linear %x, %w : (tensor<2x3x4xf64>, tensor<4x7xf64>) -> tensor<2x3x7xf64>
  %1 = nl.cross_entropy %0, %t : (tensor<2x3x7xf64>, tensor<2x3xi32>) -> tensor<f64>
  return %1 : tensor<f64>
}
func.func @tiny_lm(%tok: tensor<2x6xi32> {nl.int_bound = 5 : i64}, %emb: tensor<5x4xf64>, %g: tensor<4xf64>, %wq: tensor<4x4xf64>, %head: tensor<4x5xf64>) -> tensor<f64> attributes {nl.differentiate = 2 : i64} {
  %in = nl.slice %tok dim = 1 offset = 0 size = 5 : tensor<2x6xi32> -> tensor<2x5xi32>
  %tg = nl.slice %tok dim = 1 offset = 1 size = 5 : tensor<2x6xi32> -> tensor<2x5xi32>
  %x = nl.embedding %emb[%in] : tensor<5x4xf64>, tensor<2x5xi32> -> tensor<2x5x4xf64>
  %h = nl.rmsnorm %x, %g : tensor<2x5x4xf64>, tensor<4xf64>
  %q = nl.linear %h, %wq : (tensor<2x5x4xf64>, tensor<4x4xf64>) -> tensor<2x5x4xf64>
  %qh = nl.split_heads %q heads = 2 : tensor<2x5x4xf64> -> tensor<2x2x5x2xf64>
  %a = nl.attention %qh, %qh, %qh : (tensor<2x2x5x2xf64>, tensor<2x2x5x2xf64>, tensor<2x2x5x2xf64>) -> tensor<2x2x5x2xf64>
  %m = nl.merge_heads %a : tensor<2x2x5x2xf64> -> tensor<2x5x4xf64>
  %r = nl.add %x, %m : (tensor<2x5x4xf64>, tensor<2x5x4xf64>) -> tensor<2x5x4xf64>
  %l = nl.linear %r, %head : (tensor<2x5x4xf64>, tensor<4x5xf64>) -> tensor<2x5x5xf64>
  %loss = nl.cross_entropy %l, %tg : (tensor<2x5x5xf64>, tensor<2x5xi32>) -> tensor<f64>
  return %loss : tensor<f64>
}
