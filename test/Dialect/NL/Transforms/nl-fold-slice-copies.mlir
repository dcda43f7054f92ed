// RUN: nl-opt --nl-fold-slice-copies %s | FileCheck %s

// A diagonal block taken as a row block, then a column block, then
// inserted into a stack: both copies go, the insertion copies once.
// CHECK-LABEL: func.func @block
// CHECK-SAME: (%[[M:.*]]: tensor<64x64xf32>, %[[S:.*]]: tensor<4x16x16xf32>)
// CHECK-NOT: linalg.copy
// CHECK: %[[R:.*]] = tensor.extract_slice %[[M]][16, 0] [16, 64] [1, 1]
// CHECK: %[[B:.*]] = tensor.extract_slice %[[R]][0, 16] [16, 16] [1, 1]
// CHECK: %[[X:.*]] = tensor.expand_shape %[[B]]
// CHECK: tensor.insert_slice %[[X]] into %[[S]][1, 0, 0]
func.func @block(%m: tensor<64x64xf32>, %s: tensor<4x16x16xf32>) -> tensor<4x16x16xf32> {
  %r = tensor.extract_slice %m[16, 0] [16, 64] [1, 1] : tensor<64x64xf32> to tensor<16x64xf32>
  %e = tensor.empty() : tensor<16x64xf32>
  %c = linalg.copy ins(%r : tensor<16x64xf32>) outs(%e : tensor<16x64xf32>) -> tensor<16x64xf32>
  %b = tensor.extract_slice %c[0, 16] [16, 16] [1, 1] : tensor<16x64xf32> to tensor<16x16xf32>
  %e2 = tensor.empty() : tensor<16x16xf32>
  %c2 = linalg.copy ins(%b : tensor<16x16xf32>) outs(%e2 : tensor<16x16xf32>) -> tensor<16x16xf32>
  %x = tensor.expand_shape %c2 [[0, 1], [2]] output_shape [1, 16, 16] : tensor<16x16xf32> into tensor<1x16x16xf32>
  %i = tensor.insert_slice %x into %s[1, 0, 0] [1, 16, 16] [1, 1, 1] : tensor<1x16x16xf32> into tensor<4x16x16xf32>
  return %i : tensor<4x16x16xf32>
}

// A slice that another op reads (a product, a return) keeps its copy, so
// that what is kept does not hold its source alive; so does a copy into a
// tensor that is not fresh, and a copy whose result is the destination of
// an insertion.
// CHECK-LABEL: func.func @kept
// CHECK: %[[C1:.*]] = linalg.copy
// CHECK: linalg.matmul ins(%[[C1]]
// CHECK: %[[C2:.*]] = linalg.copy
// CHECK: %[[C3:.*]] = linalg.copy
// CHECK: %[[C4:.*]] = linalg.copy
// CHECK: tensor.insert_slice %{{.*}} into %[[C4]]
// CHECK: return %{{[^,]*}}, %[[C2]], %[[C3]], %{{[^,]*}} :
func.func @kept(%m: tensor<64x64xf32>, %w: tensor<16x16xf32>, %d: tensor<16x16xf32>)
    -> (tensor<16x16xf32>, tensor<16x16xf32>, tensor<16x16xf32>, tensor<16x16xf32>) {
  %b = tensor.extract_slice %m[0, 0] [16, 16] [1, 1] : tensor<64x64xf32> to tensor<16x16xf32>
  %e = tensor.empty() : tensor<16x16xf32>
  %c = linalg.copy ins(%b : tensor<16x16xf32>) outs(%e : tensor<16x16xf32>) -> tensor<16x16xf32>
  %p = linalg.matmul ins(%c, %w : tensor<16x16xf32>, tensor<16x16xf32>) outs(%d : tensor<16x16xf32>) -> tensor<16x16xf32>
  %b2 = tensor.extract_slice %m[16, 16] [16, 16] [1, 1] : tensor<64x64xf32> to tensor<16x16xf32>
  %e2 = tensor.empty() : tensor<16x16xf32>
  %c2 = linalg.copy ins(%b2 : tensor<16x16xf32>) outs(%e2 : tensor<16x16xf32>) -> tensor<16x16xf32>
  %b3 = tensor.extract_slice %m[32, 32] [16, 16] [1, 1] : tensor<64x64xf32> to tensor<16x16xf32>
  %c3 = linalg.copy ins(%b3 : tensor<16x16xf32>) outs(%d : tensor<16x16xf32>) -> tensor<16x16xf32>
  %b4 = tensor.extract_slice %m[48, 48] [16, 16] [1, 1] : tensor<64x64xf32> to tensor<16x16xf32>
  %e4 = tensor.empty() : tensor<16x16xf32>
  %c4 = linalg.copy ins(%b4 : tensor<16x16xf32>) outs(%e4 : tensor<16x16xf32>) -> tensor<16x16xf32>
  %v = tensor.extract_slice %w[0, 0] [8, 16] [1, 1] : tensor<16x16xf32> to tensor<8x16xf32>
  %i = tensor.insert_slice %v into %c4[0, 0] [8, 16] [1, 1] : tensor<8x16xf32> into tensor<16x16xf32>
  return %p, %c2, %c3, %i : tensor<16x16xf32>, tensor<16x16xf32>, tensor<16x16xf32>, tensor<16x16xf32>
}
