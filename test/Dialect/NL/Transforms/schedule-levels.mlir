// RUN: nl-opt --split-input-file --schedule-levels="remarks" --verify-diagnostics %s | FileCheck %s
// RUN: nl-opt --split-input-file --schedule-levels="roll-chunks=0" %s | FileCheck %s --check-prefix=NOROLL
// Sums of disjoint paddings become insertions into one zero tensor.
// CHECK-LABEL: func.func @pads(
// CHECK-NEXT: %[[Z0:.*]] = arith.constant dense<0.000000e+00> : tensor<f32>
// CHECK-NEXT: %[[Z:.*]] = nl.broadcast %[[Z0]] : tensor<f32> -> tensor<2x12xf32>
// CHECK-NEXT: %[[I0:.*]] = tensor.insert_slice %arg0 into %[[Z]][0, 0] [2, 4] [1, 1]
// CHECK-NEXT: %[[I1:.*]] = tensor.insert_slice %arg1 into %[[I0]][0, 4] [2, 4] [1, 1]
// CHECK-NEXT: %[[I2:.*]] = tensor.insert_slice %arg2 into %[[I1]][0, 8] [2, 4] [1, 1]
// CHECK-NEXT: return %[[I2]]
func.func @pads(%a: tensor<2x4xf32>, %b: tensor<2x4xf32>, %c: tensor<2x4xf32>) -> tensor<2x12xf32> {
  %pa = nl.pad %a dim = 1 offset = 0 size = 12 : tensor<2x4xf32> -> tensor<2x12xf32>
  %pb = nl.pad %b dim = 1 offset = 4 size = 12 : tensor<2x4xf32> -> tensor<2x12xf32>
  %s = nl.add %pa, %pb : (tensor<2x12xf32>, tensor<2x12xf32>) -> tensor<2x12xf32>
  %pc = nl.pad %c dim = 1 offset = 8 size = 12 : tensor<2x4xf32> -> tensor<2x12xf32>
  %t = nl.add %s, %pc : (tensor<2x12xf32>, tensor<2x12xf32>) -> tensor<2x12xf32>
  return %t : tensor<2x12xf32>
}

// Overlapping windows are a real sum: left alone.
// CHECK-LABEL: func.func @overlap(
// CHECK: nl.pad
// CHECK: nl.pad
// CHECK: nl.add
// CHECK-NOT: tensor.insert_slice
func.func @overlap(%a: tensor<2x4xf32>, %b: tensor<2x4xf32>) -> tensor<2x12xf32> {
  %pa = nl.pad %a dim = 1 offset = 0 size = 12 : tensor<2x4xf32> -> tensor<2x12xf32>
  %pb = nl.pad %b dim = 1 offset = 2 size = 12 : tensor<2x4xf32> -> tensor<2x12xf32>
  %s = nl.add %pa, %pb : (tensor<2x12xf32>, tensor<2x12xf32>) -> tensor<2x12xf32>
  return %s : tensor<2x12xf32>
}

// A full-size term in the sum: (x + pad) + pad -> x + (pad + pad).
// CHECK-LABEL: func.func @reassociate(
// CHECK: %[[Z:.*]] = nl.broadcast
// CHECK-NEXT: %[[I0:.*]] = tensor.insert_slice %arg1 into %[[Z]][0, 0] [2, 4] [1, 1]
// CHECK-NEXT: %[[I1:.*]] = tensor.insert_slice %arg2 into %[[I0]][0, 4] [2, 4] [1, 1]
// CHECK-NEXT: %[[S:.*]] = nl.add %arg0, %[[I1]]
// CHECK-NEXT: return %[[S]]
func.func @reassociate(%x: tensor<2x12xf32>, %a: tensor<2x4xf32>, %b: tensor<2x4xf32>) -> tensor<2x12xf32> {
  %pa = nl.pad %a dim = 1 offset = 0 size = 12 : tensor<2x4xf32> -> tensor<2x12xf32>
  %s = nl.add %x, %pa : (tensor<2x12xf32>, tensor<2x12xf32>) -> tensor<2x12xf32>
  %pb = nl.pad %b dim = 1 offset = 4 size = 12 : tensor<2x4xf32> -> tensor<2x12xf32>
  %t = nl.add %s, %pb : (tensor<2x12xf32>, tensor<2x12xf32>) -> tensor<2x12xf32>
  return %t : tensor<2x12xf32>
}

// Three chunks of 4 tokens: state carried, keys sliced at 0, 4, 8, outputs
// assembled by padding.
func.func private @chunk(tensor<2x3xf32>, tensor<2x4xf32>) -> (tensor<2x3xf32>, tensor<2x4xf32>)
func.func @forward(%w0: tensor<2x3xf32>, %k: tensor<2x12xf32>) -> (tensor<2x3xf32>, tensor<2x12xf32>) {
  %k0 = nl.slice %k dim = 1 offset = 0 size = 4 : tensor<2x12xf32> -> tensor<2x4xf32>
  %r0:2 = call @chunk(%w0, %k0) : (tensor<2x3xf32>, tensor<2x4xf32>) -> (tensor<2x3xf32>, tensor<2x4xf32>)
  %y0 = nl.pad %r0#1 dim = 1 offset = 0 size = 12 : tensor<2x4xf32> -> tensor<2x12xf32>
  %k1 = nl.slice %k dim = 1 offset = 4 size = 4 : tensor<2x12xf32> -> tensor<2x4xf32>
  %r1:2 = call @chunk(%r0#0, %k1) : (tensor<2x3xf32>, tensor<2x4xf32>) -> (tensor<2x3xf32>, tensor<2x4xf32>)
  %y1 = nl.pad %r1#1 dim = 1 offset = 4 size = 12 : tensor<2x4xf32> -> tensor<2x12xf32>
  %s1 = nl.add %y0, %y1 : (tensor<2x12xf32>, tensor<2x12xf32>) -> tensor<2x12xf32>
  %k2 = nl.slice %k dim = 1 offset = 8 size = 4 : tensor<2x12xf32> -> tensor<2x4xf32>
  %r2:2 = call @chunk(%r1#0, %k2) : (tensor<2x3xf32>, tensor<2x4xf32>) -> (tensor<2x3xf32>, tensor<2x4xf32>)
  %y2 = nl.pad %r2#1 dim = 1 offset = 8 size = 12 : tensor<2x4xf32> -> tensor<2x12xf32>
  %s2 = nl.add %s1, %y2 : (tensor<2x12xf32>, tensor<2x12xf32>) -> tensor<2x12xf32>
  return %r2#0, %s2 : tensor<2x3xf32>, tensor<2x12xf32>
}

// Chunk-start states read later (as the backward pass does) are stacked;
// a chain walking the sequence backwards slices at decreasing offsets.
func.func private @back(tensor<2x3xf32>, tensor<2x3xf32>, tensor<2x4xf32>) -> tensor<2x3xf32>
func.func @stacked(%w0: tensor<2x3xf32>, %k: tensor<2x12xf32>) -> tensor<2x3xf32> {
  %k0 = nl.slice %k dim = 1 offset = 0 size = 4 : tensor<2x12xf32> -> tensor<2x4xf32>
  %r0:2 = call @chunk(%w0, %k0) : (tensor<2x3xf32>, tensor<2x4xf32>) -> (tensor<2x3xf32>, tensor<2x4xf32>)
  %k1 = nl.slice %k dim = 1 offset = 4 size = 4 : tensor<2x12xf32> -> tensor<2x4xf32>
  %r1:2 = call @chunk(%r0#0, %k1) : (tensor<2x3xf32>, tensor<2x4xf32>) -> (tensor<2x3xf32>, tensor<2x4xf32>)
  %k2 = nl.slice %k dim = 1 offset = 8 size = 4 : tensor<2x12xf32> -> tensor<2x4xf32>
  %r2:2 = call @chunk(%r1#0, %k2) : (tensor<2x3xf32>, tensor<2x4xf32>) -> (tensor<2x3xf32>, tensor<2x4xf32>)
  %g2 = call @back(%r2#0, %r1#0, %k2) : (tensor<2x3xf32>, tensor<2x3xf32>, tensor<2x4xf32>) -> tensor<2x3xf32>
  %g1 = call @back(%g2, %r0#0, %k1) : (tensor<2x3xf32>, tensor<2x3xf32>, tensor<2x4xf32>) -> tensor<2x3xf32>
  %g0 = call @back(%g1, %w0, %k0) : (tensor<2x3xf32>, tensor<2x3xf32>, tensor<2x4xf32>) -> tensor<2x3xf32>
  return %g0 : tensor<2x3xf32>
}

// Without roll-chunks the calls stay in straight line (the pads still become
// insertions).
// NOROLL-LABEL: func.func @forward(
// NOROLL-NOT: scf.for
// NOROLL-COUNT-3: call @chunk
// NOROLL-NOT: nl.pad

// -----

// Two chunks that read their keys through different ops cannot be one loop
// body: left as they are, with a remark.
func.func private @chunk(tensor<2x3xf32>, tensor<2x4xf32>) -> (tensor<2x3xf32>, tensor<2x4xf32>)
// CHECK-LABEL: func.func @different(
// CHECK-NOT: scf.for
func.func @different(%w0: tensor<2x3xf32>, %k: tensor<2x8xf32>) -> tensor<2x3xf32> {
  %k0 = nl.slice %k dim = 1 offset = 0 size = 4 : tensor<2x8xf32> -> tensor<2x4xf32>
  %e0 = nl.exp %k0 : tensor<2x4xf32>
  // expected-remark @below {{chunks of 'chunk' left unrolled: the chunks read values computed differently}}
  %r0:2 = call @chunk(%w0, %e0) : (tensor<2x3xf32>, tensor<2x4xf32>) -> (tensor<2x3xf32>, tensor<2x4xf32>)
  %k1 = nl.slice %k dim = 1 offset = 4 size = 4 : tensor<2x8xf32> -> tensor<2x4xf32>
  %e1 = nl.sigmoid %k1 : tensor<2x4xf32>
  %r1:2 = call @chunk(%r0#0, %e1) : (tensor<2x3xf32>, tensor<2x4xf32>) -> (tensor<2x3xf32>, tensor<2x4xf32>)
  return %r1#0 : tensor<2x3xf32>
}

// -----

// Slices at uneven offsets (0, 4, 10) are not one progression; the first
// two chunks are.
func.func private @chunk(tensor<2x3xf32>, tensor<2x4xf32>) -> (tensor<2x3xf32>, tensor<2x4xf32>)
// CHECK-LABEL: func.func @uneven(
// CHECK: scf.for %{{.*}} = %{{.*}} to %[[TWO:.*]] step
// CHECK: func.call @chunk
// CHECK: scf.yield
// CHECK: nl.slice %arg1 dim = 1 offset = 10 size = 4
// CHECK: call @chunk
func.func @uneven(%w0: tensor<2x3xf32>, %k: tensor<2x14xf32>) -> tensor<2x3xf32> {
  %k0 = nl.slice %k dim = 1 offset = 0 size = 4 : tensor<2x14xf32> -> tensor<2x4xf32>
  %r0:2 = call @chunk(%w0, %k0) : (tensor<2x3xf32>, tensor<2x4xf32>) -> (tensor<2x3xf32>, tensor<2x4xf32>)
  %k1 = nl.slice %k dim = 1 offset = 4 size = 4 : tensor<2x14xf32> -> tensor<2x4xf32>
  %r1:2 = call @chunk(%r0#0, %k1) : (tensor<2x3xf32>, tensor<2x4xf32>) -> (tensor<2x3xf32>, tensor<2x4xf32>)
  %k2 = nl.slice %k dim = 1 offset = 10 size = 4 : tensor<2x14xf32> -> tensor<2x4xf32>
  %r2:2 = call @chunk(%r1#0, %k2) : (tensor<2x3xf32>, tensor<2x4xf32>) -> (tensor<2x3xf32>, tensor<2x4xf32>)
  return %r2#0 : tensor<2x3xf32>
}
