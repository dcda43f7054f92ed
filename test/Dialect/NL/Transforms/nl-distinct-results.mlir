// RUN: nl-opt --nl-distinct-results %s | FileCheck %s

// Two results of one value: the second is a copy; a value returned once,
// and a non-tensor result, are left alone.
// CHECK-LABEL: func.func @twice
// CHECK-SAME: (%[[G:.*]]: tensor<8xf32>, %[[H:.*]]: tensor<2x3xf32>, %[[I:.*]]: index)
// CHECK: %[[E1:.*]] = tensor.empty() : tensor<8xf32>
// CHECK: %[[C1:.*]] = linalg.copy ins(%[[G]] : tensor<8xf32>) outs(%[[E1]] : tensor<8xf32>)
// CHECK: %[[E2:.*]] = tensor.empty() : tensor<8xf32>
// CHECK: %[[C2:.*]] = linalg.copy ins(%[[G]] : tensor<8xf32>) outs(%[[E2]] : tensor<8xf32>)
// CHECK: return %[[G]], %[[H]], %[[C1]], %[[I]], %[[C2]], %[[I]]
func.func @twice(%g: tensor<8xf32>, %h: tensor<2x3xf32>, %i: index)
    -> (tensor<8xf32>, tensor<2x3xf32>, tensor<8xf32>, index, tensor<8xf32>, index) {
  return %g, %h, %g, %i, %g, %i : tensor<8xf32>, tensor<2x3xf32>, tensor<8xf32>, index, tensor<8xf32>, index
}

// Distinct results: unchanged.
// CHECK-LABEL: func.func @distinct
// CHECK-NOT: linalg.copy
// CHECK: return %arg0, %arg1
func.func @distinct(%a: tensor<4xf32>, %b: tensor<4xf32>) -> (tensor<4xf32>, tensor<4xf32>) {
  return %a, %b : tensor<4xf32>, tensor<4xf32>
}
