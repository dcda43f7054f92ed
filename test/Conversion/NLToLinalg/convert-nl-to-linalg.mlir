// RUN: nl-opt --convert-nl-to-linalg --split-input-file %s | FileCheck %s

// Broadcasting elementwise ops are one linalg.generic with a constant-0 map
// for the repeated dim.
// CHECK-DAG: #[[ID:.*]] = affine_map<(d0, d1) -> (d0, d1)>
// CHECK-DAG: #[[ROW:.*]] = affine_map<(d0, d1) -> (d1)>
// CHECK-DAG: #[[COL:.*]] = affine_map<(d0, d1) -> (d0, 0)>
// CHECK-LABEL: func.func @add
// CHECK: linalg.generic {indexing_maps = [#[[ROW]], #[[COL]], #[[ID]]], iterator_types = ["parallel", "parallel"]}
// CHECK: arith.addf
// CHECK-NOT: nl.
func.func @add(%a: tensor<3xf32>, %b: tensor<2x1xf32>) -> tensor<2x3xf32> {
  %0 = nl.add %a, %b : (tensor<3xf32>, tensor<2x1xf32>) -> tensor<2x3xf32>
  return %0 : tensor<2x3xf32>
}

// -----

// sum_to reduces the repeated dims and reshapes to the target.
// CHECK-LABEL: func.func @sum_to
// CHECK: linalg.generic {{.*}}iterator_types = ["reduction", "parallel", "reduction"]
// CHECK: tensor.expand_shape {{.*}} : tensor<3xf32> into tensor<3x1xf32>
func.func @sum_to(%a: tensor<2x3x4xf32>) -> tensor<3x1xf32> {
  %0 = nl.sum_to %a : tensor<2x3x4xf32> -> tensor<3x1xf32>
  return %0 : tensor<3x1xf32>
}

// -----

// matmul is a contraction with the batch dims parallel, its domain ordered
// (batch, m, k, n): the innermost loop runs along rows (vectorizable).
// CHECK-DAG: #[[LHS:.*]] = affine_map<(d0, d1, d2, d3) -> (d0, d1, d2)>
// CHECK-DAG: #[[RHS:.*]] = affine_map<(d0, d1, d2, d3) -> (d0, d2, d3)>
// CHECK-DAG: #[[OUT:.*]] = affine_map<(d0, d1, d2, d3) -> (d0, d1, d3)>
// CHECK-LABEL: func.func @matmul
// CHECK: linalg.fill
// CHECK: linalg.generic {indexing_maps = [#[[LHS]], #[[RHS]], #[[OUT]]], iterator_types = ["parallel", "parallel", "reduction", "parallel"]}
// CHECK: arith.mulf
// CHECK: arith.addf
func.func @matmul(%a: tensor<2x3x4xf32>, %b: tensor<2x4x5xf32>) -> tensor<2x3x5xf32> {
  %0 = nl.matmul %a, %b : (tensor<2x3x4xf32>, tensor<2x4x5xf32>) -> tensor<2x3x5xf32>
  return %0 : tensor<2x3x5xf32>
}

// -----

// Softmax subtracts the row max before exp.
// CHECK-LABEL: func.func @softmax
// CHECK: arith.maximumf
// CHECK: arith.subf
// CHECK: math.exp
// CHECK: arith.addf
// CHECK: arith.divf
func.func @softmax(%a: tensor<2x5xf32>) -> tensor<2x5xf32> {
  %0 = nl.softmax %a : tensor<2x5xf32>
  return %0 : tensor<2x5xf32>
}

// -----

// Attention is decomposed (scores, mask, softmax, weighted sum) and lowered.
// CHECK-LABEL: func.func @attention
// CHECK: linalg.transpose
// CHECK: arith.cmpi ugt
// CHECK: arith.select
// CHECK: math.exp
// CHECK-NOT: nl.
func.func @attention(%q: tensor<1x2x4x3xf32>, %v: tensor<1x2x4x5xf32>) -> tensor<1x2x4x5xf32> {
  %0 = nl.attention %q, %q, %v : (tensor<1x2x4x3xf32>, tensor<1x2x4x3xf32>, tensor<1x2x4x5xf32>) -> tensor<1x2x4x5xf32>
  return %0 : tensor<1x2x4x5xf32>
}

// -----

// Slices and pads are tensor slices; head split/merge are reshapes and
// transposes.
// CHECK-LABEL: func.func @movement
// CHECK: tensor.extract_slice %{{.*}}[0, 1, 0] [2, 3, 4] [1, 1, 1]
// CHECK: tensor.insert_slice %{{.*}}[0, 2, 0] [2, 3, 4] [1, 1, 1]
// CHECK: tensor.expand_shape
// CHECK: linalg.transpose
func.func @movement(%a: tensor<2x5x4xf32>) -> tensor<2x2x6x2xf32> {
  %0 = nl.slice %a dim = 1 offset = 1 size = 3 : tensor<2x5x4xf32> -> tensor<2x3x4xf32>
  %1 = nl.pad %0 dim = 1 offset = 2 size = 6 : tensor<2x3x4xf32> -> tensor<2x6x4xf32>
  %2 = nl.split_heads %1 heads = 2 : tensor<2x6x4xf32> -> tensor<2x2x6x2xf32>
  return %2 : tensor<2x2x6x2xf32>
}

// -----

// Structure, flows and memories are left for derive-inner-updates.
// CHECK-LABEL: nl.model @m
// CHECK: nl.level @l
func.func private @keep()
nl.model @m {
  nl.level @l every <1 steps> {
    nl.param @w : tensor<2xf32>
    nl.optimizer @opt gd attributes {lr = 1.0e-3 : f64}
  }
}
