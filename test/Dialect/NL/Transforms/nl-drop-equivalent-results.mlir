// RUN: nl-opt --nl-drop-equivalent-results %s | FileCheck %s

// A kernel that accumulates into its third argument through two loops that
// carry it unchanged (the shape of nl.matmul_kernel after bufferization):
// its result is dropped and the call's result is that argument's buffer.
// CHECK-LABEL: func.func private @kernel
// CHECK-SAME: (%{{.*}}: memref<4x8xf32>, %[[INIT:.*]]: memref<4x8xf32>){{ *}}{
// CHECK: scf.for
// CHECK: scf.for
// CHECK: return{{$}}
func.func private @kernel(%a: memref<4x8xf32>, %init: memref<4x8xf32>) -> memref<4x8xf32> {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c4 = arith.constant 4 : index
  %c8 = arith.constant 8 : index
  %r = scf.for %i = %c0 to %c4 step %c1 iter_args(%x = %init) -> (memref<4x8xf32>) {
    %s = scf.for %j = %c0 to %c8 step %c1 iter_args(%y = %x) -> (memref<4x8xf32>) {
      %v = memref.load %a[%i, %j] : memref<4x8xf32>
      %w = memref.load %y[%i, %j] : memref<4x8xf32>
      %z = arith.addf %v, %w : f32
      memref.store %z, %y[%i, %j] : memref<4x8xf32>
      scf.yield %y : memref<4x8xf32>
    }
    scf.yield %s : memref<4x8xf32>
  }
  return %r : memref<4x8xf32>
}

// CHECK-LABEL: func.func @caller
// CHECK-SAME: (%[[A:.*]]: memref<4x8xf32>, %[[B:.*]]: memref<4x8xf32>)
// CHECK: call @kernel(%[[A]], %[[B]]) : (memref<4x8xf32>, memref<4x8xf32>) -> ()
// CHECK: memref.load %[[B]]
func.func @caller(%a: memref<4x8xf32>, %b: memref<4x8xf32>) -> f32 {
  %c0 = arith.constant 0 : index
  %r = call @kernel(%a, %b) : (memref<4x8xf32>, memref<4x8xf32>) -> memref<4x8xf32>
  %v = memref.load %r[%c0, %c0] : memref<4x8xf32>
  return %v : f32
}

// A result that is a cast of an argument is dropped, and the caller casts;
// a fresh buffer and a non-memref result stay, in order.
// CHECK-LABEL: func.func private @mixed
// CHECK-SAME: -> (memref<4xf32>, index)
// CHECK: return %{{.*}}, %{{.*}} : memref<4xf32>, index
func.func private @mixed(%a: memref<4xf32>, %n: index) -> (memref<?xf32>, memref<4xf32>, index) {
  %c = memref.cast %a : memref<4xf32> to memref<?xf32>
  %fresh = memref.alloc() : memref<4xf32>
  return %c, %fresh, %n : memref<?xf32>, memref<4xf32>, index
}

// CHECK-LABEL: func.func @mixed_caller
// CHECK-SAME: (%[[A:.*]]: memref<4xf32>
// CHECK: %[[R:.*]]:2 = call @mixed(%[[A]], %{{.*}}) : (memref<4xf32>, index) -> (memref<4xf32>, index)
// CHECK: %[[C:.*]] = memref.cast %[[A]] : memref<4xf32> to memref<?xf32>
// CHECK: return %[[C]], %[[R]]#0, %[[R]]#1
func.func @mixed_caller(%a: memref<4xf32>, %n: index) -> (memref<?xf32>, memref<4xf32>, index) {
  %r:3 = call @mixed(%a, %n) : (memref<4xf32>, index) -> (memref<?xf32>, memref<4xf32>, index)
  return %r#0, %r#1, %r#2 : memref<?xf32>, memref<4xf32>, index
}

// A loop that yields another buffer than its iteration argument: the
// result is not the argument, and stays.
// CHECK-LABEL: func.func private @swap
// CHECK-SAME: -> memref<4xf32>
// CHECK: return %{{.*}} : memref<4xf32>
func.func private @swap(%a: memref<4xf32>, %b: memref<4xf32>) -> memref<4xf32> {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %r = scf.for %i = %c0 to %c1 step %c1 iter_args(%x = %a) -> (memref<4xf32>) {
    scf.yield %b : memref<4xf32>
  }
  return %r : memref<4xf32>
}

// Public functions keep their calling convention.
// CHECK-LABEL: func.func @public_identity
// CHECK-SAME: -> memref<4xf32>
// CHECK: return %arg0 : memref<4xf32>
func.func @public_identity(%a: memref<4xf32>) -> memref<4xf32> {
  return %a : memref<4xf32>
}

// A function whose symbol is used other than by func.call keeps its
// results.
// CHECK-LABEL: func.func private @referenced
// CHECK-SAME: -> memref<4xf32>
func.func private @referenced(%a: memref<4xf32>) -> memref<4xf32> {
  return %a : memref<4xf32>
}
func.func @takes_address() {
  %f = func.constant @referenced : (memref<4xf32>) -> memref<4xf32>
  return
}
