// RUN: nl-opt --nl-inline-alloca-scopes %s | FileCheck %s

// A scope without stack allocations (what convert-scf-to-openmp puts around
// a parallel loop body) is inlined; one with a memref.alloca, or with
// results, is kept.
// CHECK-LABEL: func.func @scopes(
// CHECK-NEXT: memref.store %{{.*}}, %{{.*}}[] : memref<f32>
// CHECK-NEXT: memref.alloca_scope {
// CHECK-NEXT:   memref.alloca() : memref<4xf32>
// CHECK: %[[R:.*]] = memref.alloca_scope -> (f32) {
// CHECK: return %[[R]]
func.func @scopes(%m: memref<f32>, %x: f32) -> f32 {
  memref.alloca_scope {
    memref.store %x, %m[] : memref<f32>
  }
  memref.alloca_scope {
    %a = memref.alloca() : memref<4xf32>
    %c0 = arith.constant 0 : index
    memref.store %x, %a[%c0] : memref<4xf32>
  }
  %r = memref.alloca_scope -> (f32) {
    memref.alloca_scope.return %x : f32
  }
  return %r : f32
}

// An alloca_scope inside an OpenMP loop with loops in it: after
// convert-scf-to-cf the region would hold several blocks.
// CHECK-LABEL: func.func @in_parallel_loop(
// CHECK-NOT: memref.alloca_scope
// CHECK: omp.loop_nest
// CHECK-NEXT: scf.for
func.func @in_parallel_loop(%m: memref<8x4xf32>, %x: f32) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c4 = arith.constant 4 : index
  %c8 = arith.constant 8 : index
  omp.parallel {
    omp.wsloop {
      omp.loop_nest (%i) : index = (%c0) to (%c8) step (%c1) {
        memref.alloca_scope {
          scf.for %j = %c0 to %c4 step %c1 {
            memref.store %x, %m[%i, %j] : memref<8x4xf32>
          }
        }
        omp.yield
      }
    }
    omp.terminator
  }
  return
}
