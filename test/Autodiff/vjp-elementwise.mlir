// Every elementwise op's VJP, and the VJPs of those VJPs (nl.differentiate = 2),
// against central finite differences in float64.
// RUN: nl-gradcheck %s | FileCheck %s
// CHECK-NOT: FAIL
// CHECK: PASS: 25 function(s)

func.func @add_broadcast(%a: tensor<2x3xf64>, %b: tensor<3xf64>) -> tensor<f64> attributes {nl.differentiate = 2 : i64} {
  %0 = nl.add %a, %b : (tensor<2x3xf64>, tensor<3xf64>) -> tensor<2x3xf64>
  %1 = nl.mul %0, %0 : (tensor<2x3xf64>, tensor<2x3xf64>) -> tensor<2x3xf64>
  %2 = nl.sum %1 : tensor<2x3xf64> -> tensor<f64>
  return %2 : tensor<f64>
}
func.func @sub_mul_div(%a: tensor<2x1xf64>, %b: tensor<2x3xf64>, %c: tensor<3xf64> {nl.positive}) -> tensor<f64> attributes {nl.differentiate = 2 : i64} {
  %0 = nl.sub %a, %b : (tensor<2x1xf64>, tensor<2x3xf64>) -> tensor<2x3xf64>
  %1 = nl.mul %0, %b : (tensor<2x3xf64>, tensor<2x3xf64>) -> tensor<2x3xf64>
  %2 = nl.div %1, %c : (tensor<2x3xf64>, tensor<3xf64>) -> tensor<2x3xf64>
  %3 = nl.mul %2, %0 : (tensor<2x3xf64>, tensor<2x3xf64>) -> tensor<2x3xf64>
  %4 = nl.sum %3 : tensor<2x3xf64> -> tensor<f64>
  return %4 : tensor<f64>
}
func.func @neg_abs(%a: tensor<5xf64>) -> tensor<f64> attributes {nl.differentiate = 2 : i64} {
  %0 = nl.neg %a : tensor<5xf64>
  %1 = nl.abs %0 : tensor<5xf64>
  %2 = nl.mul %1, %a : (tensor<5xf64>, tensor<5xf64>) -> tensor<5xf64>
  %3 = nl.sum %2 : tensor<5xf64> -> tensor<f64>
  return %3 : tensor<f64>
}
func.func @exp_log(%a: tensor<4xf64> {nl.positive}) -> tensor<f64> attributes {nl.differentiate = 2 : i64} {
  %0 = nl.log %a : tensor<4xf64>
  %1 = nl.exp %0 : tensor<4xf64>
  %2 = nl.mul %1, %0 : (tensor<4xf64>, tensor<4xf64>) -> tensor<4xf64>
  %3 = nl.sum %2 : tensor<4xf64> -> tensor<f64>
  return %3 : tensor<f64>
}
func.func @sqrt(%a: tensor<4xf64> {nl.positive}) -> tensor<f64> attributes {nl.differentiate = 2 : i64} {
  %0 = nl.sqrt %a : tensor<4xf64>
  %1 = nl.mul %0, %a : (tensor<4xf64>, tensor<4xf64>) -> tensor<4xf64>
  %2 = nl.sum %1 : tensor<4xf64> -> tensor<f64>
  return %2 : tensor<f64>
}
func.func @silu(%a: tensor<6xf64>) -> tensor<f64> attributes {nl.differentiate = 2 : i64} {
  %0 = nl.silu %a : tensor<6xf64>
  %1 = nl.mul %0, %0 : (tensor<6xf64>, tensor<6xf64>) -> tensor<6xf64>
  %2 = nl.sum %1 : tensor<6xf64> -> tensor<f64>
  return %2 : tensor<f64>
}
func.func @gelu(%a: tensor<6xf64>) -> tensor<f64> attributes {nl.differentiate = 2 : i64} {
  %0 = nl.gelu %a : tensor<6xf64>
  %1 = nl.mul %0, %0 : (tensor<6xf64>, tensor<6xf64>) -> tensor<6xf64>
  %2 = nl.sum %1 : tensor<6xf64> -> tensor<f64>
  return %2 : tensor<f64>
}
func.func @sigmoid_tanh(%a: tensor<6xf64>) -> tensor<f64> attributes {nl.differentiate = 2 : i64} {
  %0 = nl.sigmoid %a : tensor<6xf64>
  %1 = nl.tanh %a : tensor<6xf64>
  %2 = nl.mul %0, %1 : (tensor<6xf64>, tensor<6xf64>) -> tensor<6xf64>
  %3 = nl.sum %2 : tensor<6xf64> -> tensor<f64>
  return %3 : tensor<f64>
}
func.func @softplus_relu(%a: tensor<6xf64>) -> tensor<f64> attributes {nl.differentiate = 2 : i64} {
  %0 = nl.softplus %a : tensor<6xf64>
  %1 = nl.relu %a : tensor<6xf64>
  %2 = nl.mul %0, %1 : (tensor<6xf64>, tensor<6xf64>) -> tensor<6xf64>
  %3 = nl.mul %2, %a : (tensor<6xf64>, tensor<6xf64>) -> tensor<6xf64>
  %4 = nl.sum %3 : tensor<6xf64> -> tensor<f64>
  return %4 : tensor<f64>
}
func.func @power(%a: tensor<5xf64> {nl.positive}, %b: tensor<5xf64>) -> tensor<f64> attributes {nl.differentiate = 2 : i64} {
  %0 = nl.pow %a, 2.5 : tensor<5xf64>
  %1 = nl.pow %b, 3.0 : tensor<5xf64>
  %2 = nl.pow %b, 2.0 : tensor<5xf64>
  %3 = nl.add %0, %1 : (tensor<5xf64>, tensor<5xf64>) -> tensor<5xf64>
  %4 = nl.mul %3, %2 : (tensor<5xf64>, tensor<5xf64>) -> tensor<5xf64>
  %5 = nl.sum %4 : tensor<5xf64> -> tensor<f64>
  return %5 : tensor<f64>
}
func.func @sum_mean_broadcast(%a: tensor<2x3xf64>, %b: tensor<3x1xf64>) -> tensor<f64> attributes {nl.differentiate = 2 : i64} {
  %0 = nl.broadcast %b : tensor<3x1xf64> -> tensor<2x3x4xf64>
  %1 = nl.sum_to %0 : tensor<2x3x4xf64> -> tensor<3x4xf64>
  %2 = nl.mean %a : tensor<2x3xf64> -> tensor<f64>
  %3 = nl.mul %1, %2 : (tensor<3x4xf64>, tensor<f64>) -> tensor<3x4xf64>
  %4 = nl.mul %3, %3 : (tensor<3x4xf64>, tensor<3x4xf64>) -> tensor<3x4xf64>
  %5 = nl.sum %4 : tensor<3x4xf64> -> tensor<f64>
  return %5 : tensor<f64>
}
func.func @sign_step_constant(%a: tensor<4xf64>) -> tensor<f64> attributes {nl.differentiate = 2 : i64} {
  %0 = nl.sign %a : tensor<4xf64>
  %1 = nl.step %a : tensor<4xf64>
  %c = arith.constant dense<[1.0, 2.0, 3.0, 4.0]> : tensor<4xf64>
  %2 = nl.add %0, %1 : (tensor<4xf64>, tensor<4xf64>) -> tensor<4xf64>
  %3 = nl.add %2, %c : (tensor<4xf64>, tensor<4xf64>) -> tensor<4xf64>
  %4 = nl.mul %3, %a : (tensor<4xf64>, tensor<4xf64>) -> tensor<4xf64>
  %5 = nl.sum %4 : tensor<4xf64> -> tensor<f64>
  return %5 : tensor<f64>
}
func.func @unused_argument(%a: tensor<3xf64>, %unused: tensor<2xf64>) -> tensor<f64> attributes {nl.differentiate} {
  %0 = nl.mul %a, %a : (tensor<3xf64>, tensor<3xf64>) -> tensor<3xf64>
  %1 = nl.sum %0 : tensor<3xf64> -> tensor<f64>
  return %1 : tensor<f64>
}
