// RUN: nl-opt --nl-split-functions="max-ops=8 min-ops=3" --split-input-file %s | FileCheck %s
// RUN: nl-opt --nl-split-functions="max-ops=100" %s --split-input-file | FileCheck %s --check-prefix=LARGE
// RUN: nl-opt --nl-split-functions="max-ops=14 min-ops=3" --split-input-file %s | FileCheck %s --check-prefix=STACK
// RUN: not nl-opt --nl-split-functions="max-ops=0" %s --split-input-file 2>&1 | FileCheck %s --check-prefix=ZERO

// Three loops of four or six ops each (counted over the walk: the loop, its
// body, the yield), and three constants: runs of at most eight ops. Each
// part takes the values it reads from before it as arguments, in the order
// of their uses (the scalar, the buffer, the loop bound); its constants are
// cloned, and the caller keeps none.
// CHECK-LABEL: func.func @loops(
// CHECK-SAME: %[[M:.*]]: memref<8xf32>, %[[X:.*]]: f32, %[[N:.*]]: index)
// CHECK-NEXT: call @loops.part0(%[[X]], %[[M]]) : (f32, memref<8xf32>) -> ()
// CHECK-NEXT: call @loops.part1(%[[N]], %[[X]], %[[M]]) : (index, f32, memref<8xf32>) -> ()
// CHECK-NEXT: return
// LARGE-LABEL: func.func @loops(
// LARGE-NOT: call
// LARGE: scf.for
// LARGE-NOT: func.func private
func.func @loops(%m: memref<8xf32>, %x: f32, %n: index) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c8 = arith.constant 8 : index
  scf.for %i = %c0 to %c8 step %c1 {
    memref.store %x, %m[%i] : memref<8xf32>
  }
  scf.for %i = %c0 to %n step %c1 {
    memref.store %x, %m[%i] : memref<8xf32>
  }
  scf.for %i = %c0 to %c8 step %c1 {
    %v = memref.load %m[%i] : memref<8xf32>
    %w = arith.addf %v, %v : f32
    memref.store %w, %m[%i] : memref<8xf32>
  }
  return
}
// CHECK-LABEL: func.func private @loops.part0(
// CHECK-SAME: %[[B:.*]]: f32, %[[A:.*]]: memref<8xf32>)
// CHECK-DAG: arith.constant 0 : index
// CHECK-DAG: arith.constant 1 : index
// CHECK-DAG: arith.constant 8 : index
// CHECK: scf.for
// CHECK-NEXT: memref.store %[[B]], %[[A]]
// CHECK-NOT: scf.for
// CHECK: return
// CHECK-LABEL: func.func private @loops.part1(
// CHECK-SAME: %[[BOUND:.*]]: index, %{{.*}}: f32, %{{.*}}: memref<8xf32>)
// CHECK: scf.for %{{.*}} = %{{.*}} to %[[BOUND]]
// CHECK: scf.for
// CHECK: arith.addf
// CHECK: return

// -----

// A view that a part defines and a later part uses is recomputed by the
// caller after the first part's call (it has no memory effects); the first
// part keeps its own copy.
// CHECK-LABEL: func.func @views(
// CHECK-SAME: %[[M:.*]]: memref<2x4xf32>, %[[X:.*]]: f32)
// CHECK-NEXT: call @views.part0(%[[M]], %[[X]])
// CHECK-NEXT: %[[C:.*]] = memref.collapse_shape %[[M]]
// CHECK-NEXT: call @views.part1(%[[C]])
// CHECK-NEXT: return
func.func @views(%m: memref<2x4xf32>, %x: f32) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c8 = arith.constant 8 : index
  %flat = memref.collapse_shape %m [[0, 1]] : memref<2x4xf32> into memref<8xf32>
  scf.for %i = %c0 to %c8 step %c1 {
    memref.store %x, %flat[%i] : memref<8xf32>
  }
  scf.for %i = %c0 to %c8 step %c1 {
    %v = memref.load %flat[%i] : memref<8xf32>
    %w = arith.mulf %v, %v : f32
    memref.store %w, %flat[%i] : memref<8xf32>
  }
  return
}
// CHECK-LABEL: func.func private @views.part0(
// CHECK-SAME: %[[A:.*]]: memref<2x4xf32>, %{{.*}}: f32)
// CHECK: memref.collapse_shape %[[A]]
// CHECK: scf.for
// CHECK-LABEL: func.func private @views.part1(
// CHECK-SAME: %{{.*}}: memref<8xf32>)
// CHECK: arith.mulf

// -----

// An allocation used after its run cannot be recomputed: it is the part's
// result. The dealloc is a run under min-ops and stays in the caller.
// CHECK-LABEL: func.func @alloc(
// CHECK-SAME: %[[M:.*]]: memref<8xf32>, %[[X:.*]]: f32)
// CHECK-NEXT: %[[B:.*]] = call @alloc.part0(%[[X]], %[[M]]) : (f32, memref<8xf32>) -> memref<8xf32>
// CHECK-NEXT: call @alloc.part1(%[[M]], %[[B]])
// CHECK-NEXT: memref.dealloc %[[B]]
// CHECK-NEXT: return
func.func @alloc(%m: memref<8xf32>, %x: f32) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c8 = arith.constant 8 : index
  scf.for %i = %c0 to %c8 step %c1 {
    memref.store %x, %m[%i] : memref<8xf32>
  }
  %b = memref.alloc() : memref<8xf32>
  scf.for %i = %c0 to %c8 step %c1 {
    %v = memref.load %m[%i] : memref<8xf32>
    memref.store %v, %b[%i] : memref<8xf32>
  }
  scf.for %i = %c0 to %c8 step %c1 {
    %v = memref.load %b[%i] : memref<8xf32>
    memref.store %v, %m[%i] : memref<8xf32>
  }
  memref.dealloc %b : memref<8xf32>
  return
}
// CHECK-LABEL: func.func private @alloc.part0(
// CHECK-SAME: -> memref<8xf32>
// CHECK: scf.for
// CHECK: %[[A:.*]] = memref.alloc() : memref<8xf32>
// CHECK-NEXT: return %[[A]] : memref<8xf32>
// CHECK-LABEL: func.func private @alloc.part1(
// CHECK-SAME: %{{.*}}: memref<8xf32>, %{{.*}}: memref<8xf32>)
// CHECK-NOT: memref.alloc
// CHECK: return

// -----

// A view of an allocation that a later run uses: the part returns the
// allocation, and the caller makes the view again from the call's result
// (the second part, which frees the allocation, takes both).
// CHECK-LABEL: func.func @view_of_alloc(
// CHECK-NEXT: %[[B:.*]] = call @view_of_alloc.part0(
// CHECK-NEXT: %[[V:.*]] = memref.collapse_shape %[[B]]
// CHECK-NEXT: call @view_of_alloc.part1(%[[V]], %[[B]])
// CHECK-NEXT: return
func.func @view_of_alloc(%x: f32) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c8 = arith.constant 8 : index
  %b = memref.alloc() : memref<2x4xf32>
  %v = memref.collapse_shape %b [[0, 1]] : memref<2x4xf32> into memref<8xf32>
  scf.for %i = %c0 to %c8 step %c1 {
    memref.store %x, %v[%i] : memref<8xf32>
  }
  scf.for %i = %c0 to %c8 step %c1 {
    %y = memref.load %v[%i] : memref<8xf32>
    %z = arith.mulf %y, %y : f32
    memref.store %z, %v[%i] : memref<8xf32>
  }
  memref.dealloc %b : memref<2x4xf32>
  return
}
// CHECK-LABEL: func.func private @view_of_alloc.part0(
// CHECK-SAME: -> memref<2x4xf32>
// CHECK: memref.alloc() : memref<2x4xf32>
// CHECK: memref.collapse_shape
// CHECK: scf.for

// -----

// A stack allocation used after its run would be freed by the part's
// return: the run ends before it, and it stays in the caller.
// CHECK-LABEL: func.func @alloca(
// CHECK-SAME: %[[M:.*]]: memref<8xf32>, %[[X:.*]]: f32)
// CHECK-NEXT: call @alloca.part0(%[[X]], %[[M]]) : (f32, memref<8xf32>) -> ()
// CHECK-NEXT: %[[B:.*]] = memref.alloca() : memref<8xf32>
// CHECK-NEXT: call @alloca.part1(%[[M]], %[[B]])
// CHECK-NEXT: return
func.func @alloca(%m: memref<8xf32>, %x: f32) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c8 = arith.constant 8 : index
  scf.for %i = %c0 to %c8 step %c1 {
    memref.store %x, %m[%i] : memref<8xf32>
  }
  %b = memref.alloca() : memref<8xf32>
  scf.for %i = %c0 to %c8 step %c1 {
    %v = memref.load %m[%i] : memref<8xf32>
    memref.store %v, %b[%i] : memref<8xf32>
  }
  scf.for %i = %c0 to %c8 step %c1 {
    %v = memref.load %b[%i] : memref<8xf32>
    memref.store %v, %m[%i] : memref<8xf32>
  }
  return
}

// A run that holds a stack allocation hands on no buffer (one it returned
// might be a view of the allocation, freed by the part's return): the run
// ends before the heap allocation that a later op needs, which the next
// part makes and frees. (At max-ops=14 both would otherwise fit in one
// part, the buffer its result.)
// STACK-LABEL: func.func @stack_in_run(
// STACK-NEXT: call @stack_in_run.part0(%{{.*}}, %{{.*}}) : (f32, memref<8xf32>) -> ()
// STACK-NEXT: call @stack_in_run.part1(%{{.*}}) : (memref<8xf32>) -> ()
// STACK-NEXT: return
// STACK-LABEL: func.func private @stack_in_run.part0(
// STACK: memref.alloca
// STACK-NOT: memref.alloc()
// STACK: return{{$}}
// STACK-LABEL: func.func private @stack_in_run.part1(
// STACK: memref.alloc()
// STACK: memref.dealloc
// STACK: return{{$}}
func.func @stack_in_run(%m: memref<8xf32>, %x: f32) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c8 = arith.constant 8 : index
  %s = memref.alloca() : memref<8xf32>
  scf.for %i = %c0 to %c8 step %c1 {
    memref.store %x, %s[%i] : memref<8xf32>
    %v = memref.load %s[%i] : memref<8xf32>
    memref.store %v, %m[%i] : memref<8xf32>
  }
  %b = memref.alloc() : memref<8xf32>
  scf.for %i = %c0 to %c8 step %c1 {
    %v = memref.load %m[%i] : memref<8xf32>
    memref.store %v, %b[%i] : memref<8xf32>
  }
  scf.for %i = %c0 to %c8 step %c1 {
    %v = memref.load %b[%i] : memref<8xf32>
    %w = arith.addf %v, %v : f32
    memref.store %w, %m[%i] : memref<8xf32>
  }
  memref.dealloc %b : memref<8xf32>
  return
}

// -----

// ZERO: error: nl-split-functions: max-ops must be positive
