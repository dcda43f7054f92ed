// RUN: nl-opt --nl-update-in-place %s | FileCheck %s
// RUN: nl-opt --nl-update-in-place --one-shot-bufferize="bufferize-function-boundaries allow-return-allocs-from-loops" %s | FileCheck %s --check-prefix=BUF

#id = affine_map<(i) -> (i)>
#scalar = affine_map<(i) -> ()>

// A scan acc = a_t * acc + x_t: the generic's init becomes the carried
// tensor it reads (through the collapse), and bufferized, the loop body
// allocates nothing.
// CHECK-LABEL: func.func @scan(
// CHECK: scf.for {{.*}} iter_args(%[[ACC:.*]] = %{{.*}})
// CHECK: %[[A:.*]] = tensor.collapse_shape %[[ACC]]
// CHECK-NOT: tensor.empty() : tensor<16xf32>
// CHECK: linalg.generic {{.*}} ins(%{{.*}}, %{{.*}}, %[[A]] : {{.*}}) outs(%[[A]] : tensor<16xf32>)
// BUF-LABEL: func.func @scan(
// BUF: scf.for
// BUF-NOT: memref.alloc
// BUF: scf.yield
func.func @scan(%gate: tensor<4xf32>, %x: tensor<4x16xf32>) -> tensor<1x16xf32> {
  %zero = arith.constant 0.0 : f32
  %e0 = tensor.empty() : tensor<1x16xf32>
  %init = linalg.fill ins(%zero : f32) outs(%e0 : tensor<1x16xf32>) -> tensor<1x16xf32>
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c4 = arith.constant 4 : index
  %r = scf.for %t = %c0 to %c4 step %c1 iter_args(%acc = %init) -> (tensor<1x16xf32>) {
    %g = tensor.extract_slice %gate[%t] [1] [1] : tensor<4xf32> to tensor<f32>
    %xt = tensor.extract_slice %x[%t, 0] [1, 16] [1, 1] : tensor<4x16xf32> to tensor<16xf32>
    %a = tensor.collapse_shape %acc [[0, 1]] : tensor<1x16xf32> into tensor<16xf32>
    %e = tensor.empty() : tensor<16xf32>
    %n = linalg.generic {indexing_maps = [#scalar, #id, #id, #id], iterator_types = ["parallel"]}
        ins(%g, %xt, %a : tensor<f32>, tensor<16xf32>, tensor<16xf32>) outs(%e : tensor<16xf32>) {
    ^bb0(%gi: f32, %xi: f32, %ai: f32, %out: f32):
      %m = arith.mulf %gi, %ai : f32
      %s = arith.addf %m, %xi : f32
      linalg.yield %s : f32
    } -> tensor<16xf32>
    %next = tensor.expand_shape %n [[0, 1]] output_shape [1, 16] : tensor<16xf32> into tensor<1x16xf32>
    scf.yield %next : tensor<1x16xf32>
  }
  return %r : tensor<1x16xf32>
}

// Left alone: the carried tensor read again after the update (%a has a
// second use), a payload that reads its init, a result yielded in another
// position, an input read through another indexing map, and (@arg_init) a
// loop that starts from a function argument, the caller's buffer.
// CHECK-LABEL: func.func @kept(
// CHECK: scf.for
// CHECK: %[[E:.*]] = tensor.empty() : tensor<16xf32>
// CHECK-COUNT-4: outs(%[[E]] : tensor<16xf32>)
func.func @kept(%x: tensor<16xf32>) -> (tensor<16xf32>, tensor<16xf32>, tensor<16xf32>, tensor<16xf32>) {
  %init = linalg.copy ins(%x : tensor<16xf32>) outs(%x : tensor<16xf32>) -> tensor<16xf32>
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c4 = arith.constant 4 : index
  %r:4 = scf.for %t = %c0 to %c4 step %c1 iter_args(%a = %init, %b = %init, %c = %init, %d = %init)
      -> (tensor<16xf32>, tensor<16xf32>, tensor<16xf32>, tensor<16xf32>) {
    %e = tensor.empty() : tensor<16xf32>
    // %a also feeds the second generic.
    %na = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel"]}
        ins(%a : tensor<16xf32>) outs(%e : tensor<16xf32>) {
    ^bb0(%ai: f32, %out: f32):
      %s = arith.addf %ai, %ai : f32
      linalg.yield %s : f32
    } -> tensor<16xf32>
    // Reads its init.
    %nb = linalg.generic {indexing_maps = [#id, #id, #id], iterator_types = ["parallel"]}
        ins(%b, %a : tensor<16xf32>, tensor<16xf32>) outs(%e : tensor<16xf32>) {
    ^bb0(%bi: f32, %ai: f32, %out: f32):
      %s = arith.addf %bi, %out : f32
      linalg.yield %s : f32
    } -> tensor<16xf32>
    // Yielded in %d's position, not %c's.
    %nc = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel"]}
        ins(%c : tensor<16xf32>) outs(%e : tensor<16xf32>) {
    ^bb0(%ci: f32, %out: f32):
      %s = arith.mulf %ci, %ci : f32
      linalg.yield %s : f32
    } -> tensor<16xf32>
    // Reads %d reversed.
    %nd = linalg.generic {indexing_maps = [affine_map<(i) -> (15 - i)>, #id], iterator_types = ["parallel"]}
        ins(%d : tensor<16xf32>) outs(%e : tensor<16xf32>) {
    ^bb0(%di: f32, %out: f32):
      linalg.yield %di : f32
    } -> tensor<16xf32>
    scf.yield %na, %nb, %nd, %nc : tensor<16xf32>, tensor<16xf32>, tensor<16xf32>, tensor<16xf32>
  }
  return %r#0, %r#1, %r#2, %r#3 : tensor<16xf32>, tensor<16xf32>, tensor<16xf32>, tensor<16xf32>
}

// CHECK-LABEL: func.func @arg_init(
// CHECK: %[[E:.*]] = tensor.empty() : tensor<16xf32>
// CHECK: outs(%[[E]] : tensor<16xf32>)
func.func @arg_init(%init: tensor<1x16xf32>) -> tensor<1x16xf32> {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c4 = arith.constant 4 : index
  %r = scf.for %t = %c0 to %c4 step %c1 iter_args(%acc = %init) -> (tensor<1x16xf32>) {
    %a = tensor.collapse_shape %acc [[0, 1]] : tensor<1x16xf32> into tensor<16xf32>
    %e = tensor.empty() : tensor<16xf32>
    %n = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel"]}
        ins(%a : tensor<16xf32>) outs(%e : tensor<16xf32>) {
    ^bb0(%ai: f32, %out: f32):
      %s = arith.mulf %ai, %ai : f32
      linalg.yield %s : f32
    } -> tensor<16xf32>
    %next = tensor.expand_shape %n [[0, 1]] output_shape [1, 16] : tensor<16xf32> into tensor<1x16xf32>
    scf.yield %next : tensor<1x16xf32>
  }
  return %r : tensor<1x16xf32>
}
