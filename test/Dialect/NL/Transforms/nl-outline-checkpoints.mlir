// RUN: nl-opt --nl-outline-checkpoints %s | FileCheck %s

// Two checkpoints with equal bodies share one private function; a third
// with another body gets its own. Calls replace the regions in place.
// CHECK-LABEL: func.func @f(
// CHECK: %[[A:.*]] = call @f.chunk0(%arg0, %arg1)
// CHECK: %[[B:.*]] = call @f.chunk0(%[[A]], %arg1)
// CHECK: %[[C:.*]] = call @f.chunk1(%[[B]])
// CHECK-NOT: nl.checkpoint
// CHECK: return %[[C]]
// CHECK: func.func private @f.chunk0(%[[W:.*]]: tensor<4xf32>, %[[K:.*]]: tensor<4xf32>) -> tensor<4xf32>
// CHECK-NEXT: %[[M:.*]] = nl.mul %[[W]], %[[K]]
// CHECK-NEXT: return %[[M]]
// CHECK: func.func private @f.chunk1(
// CHECK-NEXT: nl.exp
func.func @f(%w: tensor<4xf32>, %k: tensor<4xf32>) -> tensor<4xf32> {
  %0 = nl.checkpoint(%w, %k) : (tensor<4xf32>, tensor<4xf32>) -> tensor<4xf32> {
  ^bb0(%a: tensor<4xf32>, %b: tensor<4xf32>):
    %m = nl.mul %a, %b : (tensor<4xf32>, tensor<4xf32>) -> tensor<4xf32>
    nl.yield %m : tensor<4xf32>
  }
  %1 = nl.checkpoint(%0, %k) : (tensor<4xf32>, tensor<4xf32>) -> tensor<4xf32> {
  ^bb0(%a: tensor<4xf32>, %b: tensor<4xf32>):
    %m = nl.mul %a, %b : (tensor<4xf32>, tensor<4xf32>) -> tensor<4xf32>
    nl.yield %m : tensor<4xf32>
  }
  %2 = nl.checkpoint(%1) : (tensor<4xf32>) -> tensor<4xf32> {
  ^bb0(%a: tensor<4xf32>):
    %e = nl.exp %a : tensor<4xf32>
    nl.yield %e : tensor<4xf32>
  }
  return %2 : tensor<4xf32>
}

// Inside an nl.model the functions go next to their caller, in the model's
// symbol table.
// CHECK-LABEL: nl.model @m
// CHECK: func.func @g(
// CHECK: call @g.chunk0
// CHECK: func.func private @g.chunk0
nl.model @m {
  nl.level @p every <1 steps> {
    nl.param @w : tensor<4xf32>
  }
  func.func @g(%w: tensor<4xf32>) -> tensor<4xf32> {
    %0 = nl.checkpoint(%w) : (tensor<4xf32>) -> tensor<4xf32> {
    ^bb0(%a: tensor<4xf32>):
      %e = nl.exp %a : tensor<4xf32>
      nl.yield %e : tensor<4xf32>
    }
    return %0 : tensor<4xf32>
  }
}
