// RUN: nl-opt %s --nl-count-flops -verify-diagnostics -o /dev/null 2>&1 | FileCheck %s
// RUN: nl-opt %s --nl-count-flops=output=%t.txt -verify-diagnostics -o /dev/null
// RUN: FileCheck %s --input-file=%t.txt
// RUN: not nl-opt %s --nl-count-flops="output=%t.nodir/x/flops" -o /dev/null 2>&1 | FileCheck %s --check-prefix=BADPATH
// BADPATH: error: nl-count-flops: {{.*}}

// Each count below is derived by hand from the shapes. Public functions
// only, in order; private ones are counted where they are called.

// A [4, 8] x [8, 16] product: 2 * 4 * 8 * 16 = 1024.
// CHECK: @matmul contractions=1024 attention=0 elementwise=0 total=1024{{$}}
func.func @matmul(%a: tensor<4x8xf32>, %b: tensor<8x16xf32>,
                  %c: tensor<4x16xf32>) -> tensor<4x16xf32> {
  %r = linalg.matmul ins(%a, %b : tensor<4x8xf32>, tensor<8x16xf32>)
                     outs(%c : tensor<4x16xf32>) -> tensor<4x16xf32>
  return %r : tensor<4x16xf32>
}

#xk = affine_map<(i, j, k) -> (i, k)>
#xi = affine_map<(i, j, k) -> (i)>
#kj = affine_map<(i, j, k) -> (k, j)>
#ij = affine_map<(i, j, k) -> (i, j)>
// A row scaling fused into the same product (as linalg-fuse-elementwise-ops
// leaves a normalization in front of a projection): the scaling depends on
// (i, k) only, 4 * 8 = 32; the product's multiply and add 512 each. The
// cast and the select are not arithmetic.
// CHECK: @fused contractions=1024 attention=0 elementwise=32 total=1056{{$}}
func.func @fused(%x: tensor<4x8xf32>, %s: tensor<4xf32>, %w: tensor<8x16xf32>,
                 %c: tensor<4x16xf32>) -> tensor<4x16xf32> {
  %r = linalg.generic {indexing_maps = [#xk, #xi, #kj, #ij],
                       iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%x, %s, %w : tensor<4x8xf32>, tensor<4xf32>, tensor<8x16xf32>)
      outs(%c : tensor<4x16xf32>) {
  ^bb0(%xv: f32, %sv: f32, %wv: f32, %acc: f32):
    %a = arith.mulf %xv, %sv : f32
    %h = arith.truncf %a : f32 to f16
    %e = arith.extf %h : f16 to f32
    %p = arith.mulf %e, %wv : f32
    %t = arith.addf %acc, %p : f32
    %z = arith.constant 0.0 : f32
    %pos = arith.cmpf ogt, %t, %z : f32
    %y = arith.select %pos, %t, %z : f32
    linalg.yield %y : f32
  } -> tensor<4x16xf32>
  return %r : tensor<4x16xf32>
}

#row = affine_map<(i, k) -> (i, k)>
#red = affine_map<(i, k) -> (i)>
// A sum of squares multiplies a value by itself: a reduction, not a
// product of two operands: 2 * 4 * 8 = 64 elementwise.
// CHECK: @squares contractions=0 attention=0 elementwise=64 total=64{{$}}
func.func @squares(%x: tensor<4x8xf32>, %c: tensor<4xf32>) -> tensor<4xf32> {
  %r = linalg.generic {indexing_maps = [#row, #red],
                       iterator_types = ["parallel", "reduction"]}
      ins(%x : tensor<4x8xf32>) outs(%c : tensor<4xf32>) {
  ^bb0(%xv: f32, %acc: f32):
    %sq = arith.mulf %xv, %xv : f32
    %t = arith.addf %acc, %sq : f32
    linalg.yield %t : f32
  } -> tensor<4xf32>
  return %r : tensor<4xf32>
}

func.func private @product(%a: tensor<4x8xf32>, %b: tensor<8x16xf32>,
                           %c: tensor<4x16xf32>) -> tensor<4x16xf32> {
  %r = linalg.matmul ins(%a, %b : tensor<4x8xf32>, tensor<8x16xf32>)
                     outs(%c : tensor<4x16xf32>) -> tensor<4x16xf32>
  return %r : tensor<4x16xf32>
}

#id = affine_map<(i, j) -> (i, j)>
// scf.for 1 to 7 step 2 (3 iterations) calling the product: 3 * 1024;
// scf.forall over 2 x 3 of a [4, 4] add: 6 * 16 = 96; scf.parallel over 5
// of the add: 80; the costlier branch of the scf.if (the product): 1024.
// CHECK: @loops contractions=4096 attention=0 elementwise=176 total=4272{{$}}
func.func @loops(%a: tensor<4x8xf32>, %b: tensor<8x16xf32>,
                 %c: tensor<4x16xf32>, %m: memref<4x4xf32>,
                 %flag: i1) -> tensor<4x16xf32> {
  %c1 = arith.constant 1 : index
  %c2 = arith.constant 2 : index
  %c7 = arith.constant 7 : index
  %r = scf.for %i = %c1 to %c7 step %c2 iter_args(%acc = %c) -> tensor<4x16xf32> {
    %p = func.call @product(%a, %b, %acc)
        : (tensor<4x8xf32>, tensor<8x16xf32>, tensor<4x16xf32>) -> tensor<4x16xf32>
    scf.yield %p : tensor<4x16xf32>
  }
  scf.forall (%i, %j) in (2, 3) {
    linalg.generic {indexing_maps = [#id, #id],
                    iterator_types = ["parallel", "parallel"]}
        ins(%m : memref<4x4xf32>) outs(%m : memref<4x4xf32>) {
    ^bb0(%x: f32, %y: f32):
      %s = arith.addf %x, %y : f32
      linalg.yield %s : f32
    }
  }
  %c0 = arith.constant 0 : index
  %c5 = arith.constant 5 : index
  scf.parallel (%i) = (%c0) to (%c5) step (%c1) {
    linalg.generic {indexing_maps = [#id, #id],
                    iterator_types = ["parallel", "parallel"]}
        ins(%m : memref<4x4xf32>) outs(%m : memref<4x4xf32>) {
    ^bb0(%x: f32, %y: f32):
      %s = arith.addf %x, %y : f32
      linalg.yield %s : f32
    }
    scf.reduce
  }
  %q = scf.if %flag -> tensor<4x16xf32> {
    %p = func.call @product(%a, %b, %r)
        : (tensor<4x8xf32>, tensor<8x16xf32>, tensor<4x16xf32>) -> tensor<4x16xf32>
    scf.yield %p : tensor<4x16xf32>
  } else {
    scf.yield %r : tensor<4x16xf32>
  }
  return %q : tensor<4x16xf32>
}

// The runtime's attention kernels, on buffers: B = 1, H = 2, T = S = 8,
// dk = 4, dv = 2. Forward 2 B H T S (dk + dv) = 1536; backward
// 2 B H T S (3 dk + 2 dv) = 4096.
// CHECK: @attention contractions=0 attention=5632 elementwise=0 total=5632{{$}}
func.func @attention(%q: memref<1x2x8x4xf32>, %k: memref<1x2x8x4xf32>,
                     %v: memref<1x2x8x2xf32>, %o: memref<1x2x8x2xf32>,
                     %do: memref<1x2x8x2xf32>, %dq: memref<1x2x8x4xf32>,
                     %dk: memref<1x2x8x4xf32>, %dv: memref<1x2x8x2xf32>) {
  nl.attention_kernel ins(%q, %k, %v : memref<1x2x8x4xf32>, memref<1x2x8x4xf32>, memref<1x2x8x2xf32>)
      outs(%o : memref<1x2x8x2xf32>) scale = 5.000000e-01
  nl.attention_grad_kernel ins(%q, %k, %v, %o, %do : memref<1x2x8x4xf32>, memref<1x2x8x4xf32>, memref<1x2x8x2xf32>, memref<1x2x8x2xf32>, memref<1x2x8x2xf32>)
      outs(%dq, %dk, %dv : memref<1x2x8x4xf32>, memref<1x2x8x4xf32>, memref<1x2x8x2xf32>) scale = 5.000000e-01
  return
}

// What cannot be counted is warned about at its location, and the line
// says so: a loop with a dynamic trip count counts its body once.
// CHECK: @dynamic contractions=1024 attention=0 elementwise=0 total=1024 (lower bound){{$}}
func.func @dynamic(%a: tensor<4x8xf32>, %b: tensor<8x16xf32>,
                   %c: tensor<4x16xf32>, %n: index) -> tensor<4x16xf32> {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  // expected-warning @below {{nl-count-flops: a loop without a static trip count: its body is counted once}}
  %r = scf.for %i = %c0 to %n step %c1 iter_args(%acc = %c) -> tensor<4x16xf32> {
    %p = func.call @product(%a, %b, %acc)
        : (tensor<4x8xf32>, tensor<8x16xf32>, tensor<4x16xf32>) -> tensor<4x16xf32>
    scf.yield %p : tensor<4x16xf32>
  }
  return %r : tensor<4x16xf32>
}

// A dynamic iteration space is not counted; neither is a function without
// a body.
// CHECK: @unknown contractions=0 attention=0 elementwise=0 total=0 (lower bound){{$}}
func.func private @external(tensor<4xf32>) -> tensor<4xf32>
func.func @unknown(%x: tensor<?xf32>, %y: tensor<4xf32>) -> tensor<?xf32> {
  // expected-warning @below {{nl-count-flops: a dynamic iteration space: not counted}}
  %r = linalg.generic {indexing_maps = [affine_map<(i) -> (i)>, affine_map<(i) -> (i)>],
                       iterator_types = ["parallel"]}
      ins(%x : tensor<?xf32>) outs(%x : tensor<?xf32>) {
  ^bb0(%a: f32, %b: f32):
    %s = arith.addf %a, %b : f32
    linalg.yield %s : f32
  } -> tensor<?xf32>
  // expected-warning @+1 {{nl-count-flops: @external has no body here: not counted}}
  %e = func.call @external(%y) : (tensor<4xf32>) -> tensor<4xf32>
  return %r : tensor<?xf32>
}
