// RUN: nl-opt --nl-outline-parallel-regions %s | FileCheck %s

// Each of the two parallel regions moves into a function of its own, called
// in its place: the values it reads from outside (the buffer, the scalar,
// the loop bound computed in the caller) become arguments, in the order of
// their uses; its constants are cloned.
// CHECK-LABEL: func.func @two(
// CHECK-SAME: %[[M:.*]]: memref<8x4xf32>, %[[X:.*]]: f32, %[[N:.*]]: index)
// CHECK-NOT: omp.parallel
// CHECK: call @two.parallel0(%[[X]], %[[M]]) : (f32, memref<8x4xf32>) -> ()
// CHECK: %[[N2:.*]] = arith.addi %[[N]], %[[N]]
// CHECK: call @two.parallel1(%[[M]], %[[N2]]) : (memref<8x4xf32>, index) -> ()
// CHECK-NEXT: return
func.func @two(%m: memref<8x4xf32>, %x: f32, %n: index) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c8 = arith.constant 8 : index
  omp.parallel {
    omp.wsloop {
      omp.loop_nest (%i) : index = (%c0) to (%c8) step (%c1) {
        memref.store %x, %m[%i, %c0] : memref<8x4xf32>
        omp.yield
      }
    }
    omp.terminator
  }
  %n2 = arith.addi %n, %n : index
  omp.parallel {
    omp.wsloop {
      omp.loop_nest (%i) : index = (%c0) to (%n2) step (%c1) {
        %v = memref.load %m[%i, %c1] : memref<8x4xf32>
        memref.store %v, %m[%i, %c0] : memref<8x4xf32>
        omp.yield
      }
    }
    omp.terminator
  }
  return
}

// CHECK-LABEL: func.func private @two.parallel0(
// CHECK-SAME: %[[B:.*]]: f32, %[[A:.*]]: memref<8x4xf32>)
// CHECK-DAG: arith.constant 0 : index
// CHECK-DAG: arith.constant 1 : index
// CHECK-DAG: arith.constant 8 : index
// CHECK: omp.parallel
// CHECK: memref.store %[[B]], %[[A]]
// CHECK: return
// CHECK-LABEL: func.func private @two.parallel1(
// CHECK-SAME: %{{.*}}: memref<8x4xf32>, %{{.*}}: index)

// A function with a single region is already what the pass makes; nested
// regions move with the region that holds them.
// CHECK-LABEL: func.func @one(
// CHECK-NEXT: arith.constant
// CHECK-NEXT: omp.parallel
func.func @one(%m: memref<8xf32>, %x: f32) {
  %c0 = arith.constant 0 : index
  omp.parallel {
    memref.store %x, %m[%c0] : memref<8xf32>
    omp.terminator
  }
  return
}

// A name that is taken gets another.
// CHECK-LABEL: func.func @taken(
// CHECK: call @taken.parallel0_0(
// CHECK: call @taken.parallel1(
func.func private @taken.parallel0()
func.func @taken(%m: memref<8xf32>, %x: f32) {
  %c0 = arith.constant 0 : index
  omp.parallel {
    memref.store %x, %m[%c0] : memref<8xf32>
    omp.terminator
  }
  omp.parallel {
    omp.parallel {
      memref.store %x, %m[%c0] : memref<8xf32>
      omp.terminator
    }
    omp.terminator
  }
  return
}
