// VJPs of the token recurrences (forward and reverse, scalar-gated and
// matrix-gated) and their second order, against finite differences.
// RUN: nl-gradcheck %s | FileCheck %s
// CHECK-NOT: FAIL
// CHECK: PASS: 10 function(s)

func.func @linear_scan(%a: tensor<2x1x5xf64>, %x: tensor<2x1x5x3xf64>, %h0: tensor<2x1x3xf64>, %w: tensor<2x1x5x3xf64>) -> tensor<f64> attributes {nl.differentiate = 2 : i64} {
  %h = nl.linear_scan %a, %x, %h0 : (tensor<2x1x5xf64>, tensor<2x1x5x3xf64>, tensor<2x1x3xf64>) -> tensor<2x1x5x3xf64>
  %0 = nl.mul %h, %w : (tensor<2x1x5x3xf64>, tensor<2x1x5x3xf64>) -> tensor<2x1x5x3xf64>
  %1 = nl.mul %0, %h : (tensor<2x1x5x3xf64>, tensor<2x1x5x3xf64>) -> tensor<2x1x5x3xf64>
  %2 = nl.sum %1 : tensor<2x1x5x3xf64> -> tensor<f64>
  return %2 : tensor<f64>
}
func.func @linear_scan_reverse(%a: tensor<1x2x4xf64>, %x: tensor<1x2x4x2x3xf64>, %h0: tensor<1x2x2x3xf64>, %w: tensor<1x2x4x2x3xf64>) -> tensor<f64> attributes {nl.differentiate = 2 : i64} {
  %h = nl.linear_scan %a, %x, %h0 reverse : (tensor<1x2x4xf64>, tensor<1x2x4x2x3xf64>, tensor<1x2x2x3xf64>) -> tensor<1x2x4x2x3xf64>
  %0 = nl.mul %h, %w : (tensor<1x2x4x2x3xf64>, tensor<1x2x4x2x3xf64>) -> tensor<1x2x4x2x3xf64>
  %1 = nl.mul %0, %h : (tensor<1x2x4x2x3xf64>, tensor<1x2x4x2x3xf64>) -> tensor<1x2x4x2x3xf64>
  %2 = nl.sum %1 : tensor<1x2x4x2x3xf64> -> tensor<f64>
  return %2 : tensor<f64>
}
func.func @matrix_scan(%a: tensor<1x2x4x3x3xf64>, %x: tensor<1x2x4x2x3xf64>, %h0: tensor<1x2x2x3xf64>, %w: tensor<1x2x4x2x3xf64>) -> tensor<f64> attributes {nl.differentiate = 2 : i64} {
  %h = nl.matrix_scan %a, %x, %h0 : (tensor<1x2x4x3x3xf64>, tensor<1x2x4x2x3xf64>, tensor<1x2x2x3xf64>) -> tensor<1x2x4x2x3xf64>
  %0 = nl.mul %h, %w : (tensor<1x2x4x2x3xf64>, tensor<1x2x4x2x3xf64>) -> tensor<1x2x4x2x3xf64>
  %1 = nl.mul %0, %h : (tensor<1x2x4x2x3xf64>, tensor<1x2x4x2x3xf64>) -> tensor<1x2x4x2x3xf64>
  %2 = nl.sum %1 : tensor<1x2x4x2x3xf64> -> tensor<f64>
  return %2 : tensor<f64>
}
func.func @matrix_scan_reverse(%a: tensor<2x1x3x2x2xf64>, %x: tensor<2x1x3x3x2xf64>, %h0: tensor<2x1x3x2xf64>, %w: tensor<2x1x3x3x2xf64>) -> tensor<f64> attributes {nl.differentiate = 2 : i64} {
  %h = nl.matrix_scan %a, %x, %h0 reverse : (tensor<2x1x3x2x2xf64>, tensor<2x1x3x3x2xf64>, tensor<2x1x3x2xf64>) -> tensor<2x1x3x3x2xf64>
  %0 = nl.mul %h, %w : (tensor<2x1x3x3x2xf64>, tensor<2x1x3x3x2xf64>) -> tensor<2x1x3x3x2xf64>
  %1 = nl.mul %0, %h : (tensor<2x1x3x3x2xf64>, tensor<2x1x3x3x2xf64>) -> tensor<2x1x3x3x2xf64>
  %2 = nl.sum %1 : tensor<2x1x3x3x2xf64> -> tensor<f64>
  return %2 : tensor<f64>
}

// A checkpoint region: reverse mode recomputes the body from the operands
// (one operand passed twice, one result unused by the loss).
func.func @checkpoint(%x: tensor<3xf64>, %y: tensor<3xf64>) -> tensor<f64> attributes {nl.differentiate = 2 : i64} {
  %r:3 = nl.checkpoint(%x, %x, %y) : (tensor<3xf64>, tensor<3xf64>, tensor<3xf64>) -> (tensor<3xf64>, tensor<3xf64>, tensor<3xf64>) {
  ^bb0(%a: tensor<3xf64>, %b: tensor<3xf64>, %c: tensor<3xf64>):
    %m = nl.mul %a, %b : (tensor<3xf64>, tensor<3xf64>) -> tensor<3xf64>
    %s = nl.tanh %m : tensor<3xf64>
    nl.yield %s, %c, %m : tensor<3xf64>, tensor<3xf64>, tensor<3xf64>
  }
  %p = nl.mul %r#0, %r#1 : (tensor<3xf64>, tensor<3xf64>) -> tensor<3xf64>
  %l = nl.sum %p : tensor<3xf64> -> tensor<f64>
  return %l : tensor<f64>
}
