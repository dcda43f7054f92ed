// RUN: nl-opt --nl-slice-argument-layouts %s | FileCheck %s

#id2 = affine_map<(i, j) -> (i, j)>

// A kernel that reads its first argument and accumulates into its second.
// Its first argument gets a layout because @chunk passes it a reshape of an
// argument that got one; its second is written and keeps the identity.
// CHECK-LABEL: func.func private @kernel
// CHECK-SAME: %{{.*}}: tensor<4x8xf32> {bufferization.buffer_layout = strided<[8, 1], offset: ?>}
// CHECK-SAME: %{{[^:]*}}: tensor<4x8xf32>)
func.func private @kernel(%a: tensor<4x8xf32>, %acc: tensor<4x8xf32>) -> tensor<4x8xf32> {
  %r = linalg.generic {indexing_maps = [#id2, #id2], iterator_types = ["parallel", "parallel"]}
      ins(%a : tensor<4x8xf32>) outs(%acc : tensor<4x8xf32>) {
  ^bb0(%x: f32, %y: f32):
    %s = arith.addf %x, %y : f32
    linalg.yield %s : f32
  } -> tensor<4x8xf32>
  return %r : tensor<4x8xf32>
}

// The per-slice chunk function: its state is a (batch, head) slice, unit
// dimensions first, whose strides there are dynamic.
// CHECK-LABEL: func.func private @chunk
// CHECK-SAME: %{{.*}}: tensor<1x1x4x8xf32> {bufferization.buffer_layout = strided<[?, ?, 8, 1], offset: ?>}
func.func private @chunk(%s: tensor<1x1x4x8xf32>) -> tensor<4x8xf32> {
  %c = tensor.collapse_shape %s [[0, 1, 2], [3]] : tensor<1x1x4x8xf32> into tensor<4x8xf32>
  %z = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<4x8xf32>
  %f = linalg.fill ins(%z : f32) outs(%e : tensor<4x8xf32>) -> tensor<4x8xf32>
  %r = func.call @kernel(%c, %f) : (tensor<4x8xf32>, tensor<4x8xf32>) -> tensor<4x8xf32>
  return %r : tensor<4x8xf32>
}

// An argument that the function returns is not only read: no layout.
// CHECK-LABEL: func.func private @returned
// CHECK-NOT: buffer_layout
// CHECK: return
func.func private @returned(%s: tensor<4x8xf32>) -> tensor<4x8xf32> {
  return %s : tensor<4x8xf32>
}

// An argument that no call passes as a slice keeps the identity.
// CHECK-LABEL: func.func private @fresh
// CHECK-NOT: buffer_layout
// CHECK: return
func.func private @fresh(%s: tensor<4x8xf32>) -> tensor<4x8xf32> {
  %e = tensor.empty() : tensor<4x8xf32>
  %r = linalg.copy ins(%s : tensor<4x8xf32>) outs(%e : tensor<4x8xf32>) -> tensor<4x8xf32>
  return %r : tensor<4x8xf32>
}

// A function whose symbol is used by something other than a call is left
// alone (its calls may not all be known).
// CHECK-LABEL: func.func private @escaping
// CHECK-NOT: buffer_layout
// CHECK: return
func.func private @escaping(%s: tensor<4x8xf32>) -> tensor<4x8xf32> attributes {nl.also = @escaping} {
  %e = tensor.empty() : tensor<4x8xf32>
  %r = linalg.copy ins(%s : tensor<4x8xf32>) outs(%e : tensor<4x8xf32>) -> tensor<4x8xf32>
  return %r : tensor<4x8xf32>
}

// CHECK-LABEL: func.func @caller
// CHECK-NOT: buffer_layout
func.func @caller(%states: tensor<3x5x4x8xf32>, %i: index, %j: index, %m: tensor<4x8xf32>) -> (tensor<4x8xf32>, tensor<4x8xf32>, tensor<4x8xf32>, tensor<4x8xf32>) {
  %sl = tensor.extract_slice %states[%i, %j, 0, 0] [1, 1, 4, 8] [1, 1, 1, 1] : tensor<3x5x4x8xf32> to tensor<4x8xf32>
  %ex = tensor.expand_shape %sl [[0, 1, 2], [3]] output_shape [1, 1, 4, 8] : tensor<4x8xf32> into tensor<1x1x4x8xf32>
  %a = func.call @chunk(%ex) : (tensor<1x1x4x8xf32>) -> tensor<4x8xf32>
  %b = func.call @returned(%sl) : (tensor<4x8xf32>) -> tensor<4x8xf32>
  %c = func.call @fresh(%m) : (tensor<4x8xf32>) -> tensor<4x8xf32>
  %d = func.call @escaping(%sl) : (tensor<4x8xf32>) -> tensor<4x8xf32>
  return %a, %b, %c, %d : tensor<4x8xf32>, tensor<4x8xf32>, tensor<4x8xf32>, tensor<4x8xf32>
}
