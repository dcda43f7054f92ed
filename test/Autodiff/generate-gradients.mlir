// RUN: nl-opt --nl-generate-gradients --split-input-file --verify-diagnostics %s | FileCheck %s

// The gradient function returns the loss, then one gradient per float
// argument; integer arguments (token ids) get none. Uses accumulate.
// CHECK-LABEL: func.func @f_grad
// CHECK-SAME: (%[[X:.*]]: tensor<3xf64>, %[[IDS:.*]]: tensor<2xi32>) -> (tensor<f64>, tensor<3xf64>)
// CHECK: %[[ONE:.*]] = arith.constant dense<1.000000e+00> : tensor<f64>
// CHECK: %[[DY:.*]] = nl.broadcast %[[ONE]] : tensor<f64> -> tensor<3xf64>
// CHECK-DAG: %[[D1:.*]] = nl.mul %[[DY]], %[[X]]
// CHECK-DAG: %[[D2:.*]] = nl.mul %[[DY]], %[[X]]
// CHECK: %[[SUM:.*]] = nl.add %[[D1]], %[[D2]]
// CHECK: return %{{.*}}, %[[SUM]] : tensor<f64>, tensor<3xf64>
func.func @f(%x: tensor<3xf64>, %ids: tensor<2xi32>) -> tensor<f64> attributes {nl.differentiate} {
  %0 = nl.mul %x, %x : (tensor<3xf64>, tensor<3xf64>) -> tensor<3xf64>
  %1 = nl.sum %0 : tensor<3xf64> -> tensor<f64>
  return %1 : tensor<f64>
}

// -----

// A float argument that does not reach the loss gets a zero gradient.
// CHECK-LABEL: func.func @g_grad
// CHECK: %[[Z:.*]] = arith.constant dense<0.000000e+00> : tensor<2xf64>
// CHECK: return %{{.*}}, %{{.*}}, %[[Z]]
func.func @g(%x: tensor<3xf64>, %unused: tensor<2xf64>) -> tensor<f64> attributes {nl.differentiate} {
  %1 = nl.sum %x : tensor<3xf64> -> tensor<f64>
  return %1 : tensor<f64>
}

// -----

// Order 2 adds the directional derivative and its gradient.
// CHECK-LABEL: func.func @h_grad
// CHECK-LABEL: func.func @h_dir
// CHECK-SAME: (%{{.*}}: tensor<3xf64>, %{{.*}}: tensor<3xf64>) -> tensor<f64>
// CHECK-LABEL: func.func @h_dir_grad
// CHECK-SAME: -> (tensor<f64>, tensor<3xf64>, tensor<3xf64>)
func.func @h(%x: tensor<3xf64>) -> tensor<f64> attributes {nl.differentiate = 2 : i64} {
  %0 = nl.exp %x : tensor<3xf64>
  %1 = nl.sum %0 : tensor<3xf64> -> tensor<f64>
  return %1 : tensor<f64>
}

// -----

// expected-error @+1 {{'func.func' op marked nl.differentiate must return one rank-0 float tensor (a loss), got '(tensor<3xf64>) -> tensor<3xf64>'}}
func.func @not_a_loss(%x: tensor<3xf64>) -> tensor<3xf64> attributes {nl.differentiate} {
  return %x : tensor<3xf64>
}

// -----

func.func @no_vjp(%x: tensor<3xf64>) -> tensor<f64> attributes {nl.differentiate} {
  // expected-error @+1 {{'arith.addf' op is on the path from the parameters to the output but has no VJP (DifferentiableOpInterface)}}
  %0 = arith.addf %x, %x : tensor<3xf64>
  %1 = nl.sum %0 : tensor<3xf64> -> tensor<f64>
  return %1 : tensor<f64>
}

// -----

// expected-error @+1 {{'func.func' op nl.differentiate must be unit, 1 or 2, got 3}}
func.func @order3(%x: tensor<3xf64>) -> tensor<f64> attributes {nl.differentiate = 3 : i64} {
  %1 = nl.sum %x : tensor<3xf64> -> tensor<f64>
  return %1 : tensor<f64>
}
