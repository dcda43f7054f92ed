// RUN: nl-opt --nl-vectorize-contractions %s | FileCheck %s
// RUN: nl-opt --nl-vectorize-contractions="tile-m=4 tile-n=16 tile-k=2" %s | FileCheck %s --check-prefix=SMALL
// RUN: nl-opt --nl-vectorize-contractions %s | FileCheck %s --check-prefix=DEDUP
// RUN: nl-opt --nl-vectorize-contractions %s | FileCheck %s --check-prefix=NARROW
// RUN: nl-opt --nl-vectorize-contractions="tile-n-narrow=0" %s | FileCheck %s --check-prefix=NONARROW
// RUN: not nl-opt --nl-vectorize-contractions="tile-n-narrow=-16" %s 2>&1 | FileCheck %s --check-prefix=BAD
// BAD: nl-vectorize-contractions: tile sizes must be positive, got tile-m=8 tile-n=32 tile-k=4 tile-n-narrow=-16

#lhs = affine_map<(i, k, j) -> (i, k)>
#rhs = affine_map<(i, k, j) -> (k, j)>
#out = affine_map<(i, k, j) -> (i, j)>

// A 16 x 64 x 8 product in nlc's loop order (i, k, j): a call of a private
// kernel (lhs, rhs, init), in which it is tiled 8 x 32 x 4; the 8 x 32
// accumulator block starts at zero in vector registers (the init's fill is
// gone: the caller passes it unfilled), is carried through the k loop, and
// written after it; the block product is 8 broadcast FMAs per k step on
// rows of 32.
// CHECK-LABEL: func.func private @nl.matmul_kernel_zero(
// CHECK-NOT: linalg.fill
// CHECK: %[[ZERO:.*]] = arith.constant dense<0.000000e+00> : vector<8x32xf32>
// CHECK: scf.for %[[I:.*]] = %{{.*}} to %{{.*}} step %[[C8:.*]] iter_args
// CHECK: scf.for %[[J:.*]] = %{{.*}} to %{{.*}} step %[[C32:.*]] iter_args
// CHECK-NOT: vector.transfer_read {{.*}} : tensor<16x64xf32>
// CHECK: %[[R:.*]] = scf.for %{{.*}} = %{{.*}} to %{{.*}} step %[[C4:.*]] iter_args(%[[A:.*]] = %[[ZERO]]) -> (vector<8x32xf32>)
// CHECK: vector.transfer_read {{.*}} : tensor<16x8xf32>, vector<8x4xf32>
// CHECK: vector.transfer_read {{.*}} : tensor<8x64xf32>, vector<4x32xf32>
// CHECK-COUNT-32: vector.fma {{.*}} : vector<32xf32>
// CHECK-NOT: vector.fma
// CHECK: scf.yield {{.*}} : vector<8x32xf32>
// CHECK: vector.transfer_write %[[R]], {{.*}}[%[[I]], %[[J]]]{{.*}} : vector<8x32xf32>, tensor<16x64xf32>
// An init that is not +0 (an argument, a fill with -0) is the accumulator's
// start: the kernel reads its block before the k loop.
// CHECK-LABEL: func.func private @nl.matmul_kernel(
// CHECK: scf.for %[[I:.*]] = %{{.*}} to %{{.*}} step %{{.*}} iter_args
// CHECK: scf.for %[[J:.*]] = %{{.*}} to %{{.*}} step %{{.*}} iter_args
// CHECK: %[[ACC:.*]] = vector.transfer_read %{{.*}}[%[[I]], %[[J]]]{{.*}} : tensor<16x64xf32>, vector<8x32xf32>
// CHECK: scf.for %{{.*}} = %{{.*}} to %{{.*}} step %{{.*}} iter_args(%{{.*}} = %[[ACC]]) -> (vector<8x32xf32>)
// CHECK-LABEL: func.func @product(
// CHECK: %[[E:.*]] = tensor.empty
// CHECK-NOT: linalg.fill
// CHECK: call @nl.matmul_kernel_zero(%arg0, %arg1, %[[E]])
// CHECK-NOT: linalg.generic
// SMALL-LABEL: func.func private @nl.matmul_kernel_zero(
// SMALL: vector.transfer_read {{.*}} vector<4x16xf32>
// SMALL-COUNT-8: vector.fma {{.*}} : vector<16xf32>
func.func @product(%a: tensor<16x8xf32>, %b: tensor<8x64xf32>) -> tensor<16x64xf32> {
  %cst = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<16x64xf32>
  %f = linalg.fill ins(%cst : f32) outs(%e : tensor<16x64xf32>) -> tensor<16x64xf32>
  %r = linalg.generic {indexing_maps = [#lhs, #rhs, #out], iterator_types = ["parallel", "reduction", "parallel"]} ins(%a, %b : tensor<16x8xf32>, tensor<8x64xf32>) outs(%f : tensor<16x64xf32>) {
  ^bb0(%x: f32, %y: f32, %acc: f32):
    %m = arith.mulf %x, %y : f32
    %s = arith.addf %acc, %m fastmath<reassoc> : f32
    linalg.yield %s : f32
  } -> tensor<16x64xf32>
  return %r : tensor<16x64xf32>
}

// Sizes neither tile divides (N = 40), f64 and a product with a batch dim
// keep their generic loops.
// CHECK-LABEL: func.func @left(
// CHECK-COUNT-3: linalg.generic
// CHECK-NOT: call
func.func @left(%a: tensor<16x8xf32>, %b: tensor<8x40xf32>, %c: tensor<16x8xf64>, %d: tensor<8x64xf64>, %e3: tensor<2x16x8xf32>, %f3: tensor<2x8x64xf32>) -> (tensor<16x40xf32>, tensor<16x64xf64>, tensor<2x16x64xf32>) {
  %cst = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<16x40xf32>
  %f = linalg.fill ins(%cst : f32) outs(%e : tensor<16x40xf32>) -> tensor<16x40xf32>
  %r = linalg.generic {indexing_maps = [#lhs, #rhs, #out], iterator_types = ["parallel", "reduction", "parallel"]} ins(%a, %b : tensor<16x8xf32>, tensor<8x40xf32>) outs(%f : tensor<16x40xf32>) {
  ^bb0(%x: f32, %y: f32, %acc: f32):
    %m = arith.mulf %x, %y : f32
    %s = arith.addf %acc, %m : f32
    linalg.yield %s : f32
  } -> tensor<16x40xf32>
  %cst64 = arith.constant 0.0 : f64
  %e64 = tensor.empty() : tensor<16x64xf64>
  %f64 = linalg.fill ins(%cst64 : f64) outs(%e64 : tensor<16x64xf64>) -> tensor<16x64xf64>
  %r64 = linalg.generic {indexing_maps = [#lhs, #rhs, #out], iterator_types = ["parallel", "reduction", "parallel"]} ins(%c, %d : tensor<16x8xf64>, tensor<8x64xf64>) outs(%f64 : tensor<16x64xf64>) {
  ^bb0(%x: f64, %y: f64, %acc: f64):
    %m = arith.mulf %x, %y : f64
    %s = arith.addf %acc, %m : f64
    linalg.yield %s : f64
  } -> tensor<16x64xf64>
  %e3o = tensor.empty() : tensor<2x16x64xf32>
  %f3o = linalg.fill ins(%cst : f32) outs(%e3o : tensor<2x16x64xf32>) -> tensor<2x16x64xf32>
  %r3 = linalg.generic {indexing_maps = [affine_map<(b, i, k, j) -> (b, i, k)>, affine_map<(b, i, k, j) -> (b, k, j)>, affine_map<(b, i, k, j) -> (b, i, j)>], iterator_types = ["parallel", "parallel", "reduction", "parallel"]} ins(%e3, %f3 : tensor<2x16x8xf32>, tensor<2x8x64xf32>) outs(%f3o : tensor<2x16x64xf32>) {
  ^bb0(%x: f32, %y: f32, %acc: f32):
    %m = arith.mulf %x, %y : f32
    %s = arith.addf %acc, %m : f32
    linalg.yield %s : f32
  } -> tensor<2x16x64xf32>
  return %r, %r64, %r3 : tensor<16x40xf32>, tensor<16x64xf64>, tensor<2x16x64xf32>
}

// Products of the same shape and init share one kernel: the 16 x 8 x 64
// product here calls @product's kernel, and only the 16 x 8 x 32 product
// gets a kernel of its own (and @narrow's product one more, and
// @accumulate's two products one for an init that is not +0): 4 kernels
// for the 6 products of this file.
// DEDUP: func.func private @nl.matmul_kernel_zero(%{{.*}}: tensor<16x8xf32>, %{{.*}}: tensor<8x64xf32>
// DEDUP: func.func private @nl.matmul_kernel_zero_{{[0-9]+}}(%{{.*}}: tensor<16x8xf32>, %{{.*}}: tensor<8x32xf32>
// DEDUP: func.func private @nl.matmul_kernel_zero_{{[0-9]+}}(%{{.*}}: tensor<16x8xf32>, %{{.*}}: tensor<8x16xf32>
// DEDUP: func.func private @nl.matmul_kernel(%{{.*}}: tensor<16x8xf32>, %{{.*}}: tensor<8x64xf32>
// DEDUP-NOT: func.func private @nl.matmul_kernel
// CHECK-LABEL: func.func @shared(
// DEDUP-LABEL: func.func @shared(
// DEDUP: call @product(
// DEDUP: call @nl.matmul_kernel_zero(%arg0, %arg1,
// DEDUP: call @nl.matmul_kernel_zero_{{[0-9]+}}(%arg0, %arg3,
func.func @shared(%a: tensor<16x8xf32>, %b: tensor<8x64xf32>, %c: tensor<16x8xf32>, %d: tensor<8x32xf32>) -> (tensor<16x64xf32>, tensor<16x64xf32>, tensor<16x32xf32>) {
  %r1 = call @product(%a, %b) : (tensor<16x8xf32>, tensor<8x64xf32>) -> tensor<16x64xf32>
  %cst = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<16x64xf32>
  %f = linalg.fill ins(%cst : f32) outs(%e : tensor<16x64xf32>) -> tensor<16x64xf32>
  %r2 = linalg.generic {indexing_maps = [#lhs, #rhs, #out], iterator_types = ["parallel", "reduction", "parallel"]} ins(%a, %b : tensor<16x8xf32>, tensor<8x64xf32>) outs(%f : tensor<16x64xf32>) {
  ^bb0(%x: f32, %y: f32, %acc: f32):
    %m = arith.mulf %x, %y : f32
    %s = arith.addf %acc, %m fastmath<reassoc> : f32
    linalg.yield %s : f32
  } -> tensor<16x64xf32>
  %e32 = tensor.empty() : tensor<16x32xf32>
  %f32 = linalg.fill ins(%cst : f32) outs(%e32 : tensor<16x32xf32>) -> tensor<16x32xf32>
  %r3 = linalg.generic {indexing_maps = [#lhs, #rhs, #out], iterator_types = ["parallel", "reduction", "parallel"]} ins(%a, %d : tensor<16x8xf32>, tensor<8x32xf32>) outs(%f32 : tensor<16x32xf32>) {
  ^bb0(%x: f32, %y: f32, %acc: f32):
    %m = arith.mulf %x, %y : f32
    %s = arith.addf %acc, %m fastmath<reassoc> : f32
    linalg.yield %s : f32
  } -> tensor<16x32xf32>
  return %r1, %r2, %r3 : tensor<16x64xf32>, tensor<16x64xf32>, tensor<16x32xf32>
}

// A product whose N the wide tile (32) does not divide but the narrow one
// (16) does: a chunk of 16 tokens as the product's columns. It gets a
// kernel of its own, tiled 8 x 16 x 4: 8 accumulator rows of 16, 4 FMAs
// per row and k block.
// NARROW-LABEL: func.func private @nl.matmul_kernel_zero{{.*}}(%{{.*}}: tensor<16x8xf32>, %{{.*}}: tensor<8x16xf32>
// NARROW: %[[NZ:.*]] = arith.constant dense<0.000000e+00> : vector<8x16xf32>
// NARROW: scf.for {{.*}} iter_args(%{{.*}} = %[[NZ]]) -> (vector<8x16xf32>)
// NARROW-COUNT-32: vector.fma {{.*}} : vector<16xf32>
// NARROW-NOT: vector.fma
// NARROW-LABEL: func.func private @nl.matmul_kernel(
// NARROW-LABEL: func.func @narrow(
// NARROW: call @nl.matmul_kernel
// NARROW-NOT: linalg.generic
// With tile-n-narrow=0 it keeps its loops.
// NONARROW-LABEL: func.func @narrow(
// NONARROW: linalg.generic
// NONARROW-NOT: call
func.func @narrow(%a: tensor<16x8xf32>, %b: tensor<8x16xf32>) -> tensor<16x16xf32> {
  %cst = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<16x16xf32>
  %f = linalg.fill ins(%cst : f32) outs(%e : tensor<16x16xf32>) -> tensor<16x16xf32>
  %r = linalg.generic {indexing_maps = [#lhs, #rhs, #out], iterator_types = ["parallel", "reduction", "parallel"]} ins(%a, %b : tensor<16x8xf32>, tensor<8x16xf32>) outs(%f : tensor<16x16xf32>) {
  ^bb0(%x: f32, %y: f32, %acc: f32):
    %m = arith.mulf %x, %y : f32
    %s = arith.addf %acc, %m fastmath<reassoc> : f32
    linalg.yield %s : f32
  } -> tensor<16x16xf32>
  return %r : tensor<16x16xf32>
}

// Products into an argument and into a fill with -0 keep their init: both
// call the kernel that reads it.
// CHECK-LABEL: func.func @accumulate(
// NONARROW-LABEL: func.func @accumulate(
// CHECK: call @nl.matmul_kernel(%arg0, %arg1, %arg2)
// CHECK: %[[NEG:.*]] = linalg.fill
// CHECK: call @nl.matmul_kernel(%arg0, %arg1, %[[NEG]])
func.func @accumulate(%a: tensor<16x8xf32>, %b: tensor<8x64xf32>, %acc: tensor<16x64xf32>) -> (tensor<16x64xf32>, tensor<16x64xf32>) {
  %r = linalg.generic {indexing_maps = [#lhs, #rhs, #out], iterator_types = ["parallel", "reduction", "parallel"]} ins(%a, %b : tensor<16x8xf32>, tensor<8x64xf32>) outs(%acc : tensor<16x64xf32>) {
  ^bb0(%x: f32, %y: f32, %o: f32):
    %m = arith.mulf %x, %y : f32
    %s = arith.addf %o, %m fastmath<reassoc> : f32
    linalg.yield %s : f32
  } -> tensor<16x64xf32>
  %neg = arith.constant -0.0 : f32
  %e = tensor.empty() : tensor<16x64xf32>
  %f = linalg.fill ins(%neg : f32) outs(%e : tensor<16x64xf32>) -> tensor<16x64xf32>
  %r2 = linalg.generic {indexing_maps = [#lhs, #rhs, #out], iterator_types = ["parallel", "reduction", "parallel"]} ins(%a, %b : tensor<16x8xf32>, tensor<8x64xf32>) outs(%f : tensor<16x64xf32>) {
  ^bb0(%x: f32, %y: f32, %o: f32):
    %m = arith.mulf %x, %y : f32
    %s = arith.addf %o, %m fastmath<reassoc> : f32
    linalg.yield %s : f32
  } -> tensor<16x64xf32>
  return %r, %r2 : tensor<16x64xf32>, tensor<16x64xf32>
}
