// RUN: nl-opt --nl-bufferize %s | FileCheck %s

// @chunk reads a [4, 8] matrix through a strided layout
// (nl-slice-argument-layouts' kind).
// CHECK-LABEL: func.func private @chunk
// CHECK-SAME: (%[[S:.*]]: memref<4x8xf32, strided<[8, 1], offset: ?>>) -> memref<4x8xf32>
func.func private @chunk(%s: tensor<4x8xf32> {bufferization.buffer_layout = strided<[8, 1], offset: ?>}) -> tensor<4x8xf32> {
  %e = tensor.empty() : tensor<4x8xf32>
  %r = linalg.copy ins(%s : tensor<4x8xf32>) outs(%e : tensor<4x8xf32>) -> tensor<4x8xf32>
  return %r : tensor<4x8xf32>
}

// A slice of whole rows has the argument's strides: its buffer is cast,
// not copied. A slice of columns has others: it is copied into a buffer
// allocated with the identity layout, then cast (upstream's
// one-shot-bufferize allocated that buffer with the argument's layout,
// which memref.alloc refuses for a dynamic offset).
// CHECK-LABEL: func.func @caller
// CHECK-SAME: (%[[A:.*]]: memref<16x8xf32>, %[[B:.*]]: memref<4x16xf32>, %[[I:.*]]: index)
// CHECK: %[[ROWS:.*]] = memref.subview %[[A]][%[[I]], 0] [4, 8] [1, 1]
// CHECK-NOT: memref.copy
// CHECK: call @chunk(%[[ROWS]])
// CHECK: %[[COLS:.*]] = memref.subview %[[B]][0, %[[I]]] [4, 8] [1, 1]
// CHECK: %[[NEW:.*]] = memref.alloc() {alignment = 64 : i64} : memref<4x8xf32>
// CHECK: %[[CAST:.*]] = memref.cast %[[NEW]] : memref<4x8xf32> to memref<4x8xf32, strided<[8, 1], offset: ?>>
// CHECK: memref.copy %[[COLS]], %[[CAST]]
// CHECK: call @chunk(%[[CAST]])
func.func @caller(%a: tensor<16x8xf32>, %b: tensor<4x16xf32>, %i: index) -> (tensor<4x8xf32>, tensor<4x8xf32>) {
  %rows = tensor.extract_slice %a[%i, 0] [4, 8] [1, 1] : tensor<16x8xf32> to tensor<4x8xf32>
  %x = func.call @chunk(%rows) : (tensor<4x8xf32>) -> tensor<4x8xf32>
  %cols = tensor.extract_slice %b[0, %i] [4, 8] [1, 1] : tensor<4x16xf32> to tensor<4x8xf32>
  %y = func.call @chunk(%cols) : (tensor<4x8xf32>) -> tensor<4x8xf32>
  return %x, %y : tensor<4x8xf32>, tensor<4x8xf32>
}
