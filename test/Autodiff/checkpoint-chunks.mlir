// RUN: nl-opt --nl-generate-gradients --nl-outline-checkpoints %s | FileCheck %s
// RUN: nl-gradcheck %s | FileCheck %s --check-prefix=GRAD

// Three chunks of one update, one checkpoint body, given different things:
// the first starts its state from a constant (not varied), the second from
// the first's state, the third gets the weight twice. Reverse mode gives
// every chunk the same backward region: the cotangents of both operand
// positions (the constant's unused, the weight's two added up outside), so
// that nl-outline-checkpoints outlines one backward function for all three.

// CHECK-LABEL: func.func @chunks_grad(
// CHECK: %[[Z:.*]] = arith.constant dense<0.000000e+00>
// CHECK-COUNT-3: call @chunks.chunk0(
// CHECK: %[[B3:.*]]:2 = call @chunks_grad.chunk0(%arg0, %arg0,
// CHECK: nl.add %[[B3]]#0, %[[B3]]#1
// CHECK: call @chunks_grad.chunk0(
// CHECK: call @chunks_grad.chunk0(%[[Z]], %arg0,
// CHECK: return
// CHECK: func.func private @chunks_grad.chunk0({{.*}}) -> (tensor<3xf64>, tensor<3xf64>)
// CHECK-NOT: func.func private @chunks_grad.chunk1

// The cotangents against finite differences.
// GRAD: PASS: 1 function(s)
func.func @chunks(%w: tensor<3xf64>) -> tensor<f64> attributes {nl.differentiate} {
  %zero = arith.constant dense<0.0> : tensor<3xf64>
  %s1 = nl.checkpoint(%zero, %w) : (tensor<3xf64>, tensor<3xf64>) -> (tensor<3xf64>) {
  ^bb0(%s: tensor<3xf64>, %k: tensor<3xf64>):
    %m = nl.mul %s, %k : (tensor<3xf64>, tensor<3xf64>) -> tensor<3xf64>
    %t = nl.tanh %k : tensor<3xf64>
    %n = nl.add %m, %t : (tensor<3xf64>, tensor<3xf64>) -> tensor<3xf64>
    nl.yield %n : tensor<3xf64>
  }
  %s2 = nl.checkpoint(%s1, %w) : (tensor<3xf64>, tensor<3xf64>) -> (tensor<3xf64>) {
  ^bb0(%s: tensor<3xf64>, %k: tensor<3xf64>):
    %m = nl.mul %s, %k : (tensor<3xf64>, tensor<3xf64>) -> tensor<3xf64>
    %t = nl.tanh %k : tensor<3xf64>
    %n = nl.add %m, %t : (tensor<3xf64>, tensor<3xf64>) -> tensor<3xf64>
    nl.yield %n : tensor<3xf64>
  }
  %s3 = nl.checkpoint(%w, %w) : (tensor<3xf64>, tensor<3xf64>) -> (tensor<3xf64>) {
  ^bb0(%s: tensor<3xf64>, %k: tensor<3xf64>):
    %m = nl.mul %s, %k : (tensor<3xf64>, tensor<3xf64>) -> tensor<3xf64>
    %t = nl.tanh %k : tensor<3xf64>
    %n = nl.add %m, %t : (tensor<3xf64>, tensor<3xf64>) -> tensor<3xf64>
    nl.yield %n : tensor<3xf64>
  }
  %p = nl.mul %s2, %s3 : (tensor<3xf64>, tensor<3xf64>) -> tensor<3xf64>
  %l = nl.sum %p : tensor<3xf64> -> tensor<f64>
  return %l : tensor<f64>
}
