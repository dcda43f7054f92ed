// RUN: nl-opt --nl-parallelize-linalg %s | FileCheck %s

#id2 = affine_map<(i, j) -> (i, j)>
#row = affine_map<(i, j) -> (i)>

// A large elementwise op: an scf.forall of omp_get_max_threads() tiles
// along its first dim, the op on subviews of whole rows.
// CHECK-LABEL: func.func @elementwise
// CHECK: %[[N:.*]] = call @omp_get_max_threads() : () -> i32
// CHECK: %[[NI:.*]] = arith.index_cast %[[N]] : i32 to index
// CHECK: scf.forall (%{{.*}}) in (%[[NI]])
// CHECK: memref.subview %arg0[%{{.*}}, 0] [%{{.*}}, 128] [1, 1]
// CHECK: linalg.generic
// CHECK-SAME: iterator_types = ["parallel", "parallel"]
// CHECK: math.exp
func.func @elementwise(%x: memref<256x128xf32>, %y: memref<256x128xf32>) {
  linalg.generic {indexing_maps = [#id2, #id2], iterator_types = ["parallel", "parallel"]}
      ins(%x : memref<256x128xf32>) outs(%y : memref<256x128xf32>) {
  ^bb0(%a: f32, %b: f32):
    %e = math.exp %a : f32
    linalg.yield %e : f32
  }
  return
}

// A row reduction (parallel first dim, reduction inner): split by rows, so
// each row's sum is computed whole by one thread.
// CHECK-LABEL: func.func @row_sum
// CHECK: scf.forall
// CHECK: linalg.generic
// CHECK-SAME: iterator_types = ["parallel", "reduction"]
func.func @row_sum(%x: memref<256x128xf32>, %s: memref<256xf32>) {
  linalg.generic {indexing_maps = [#id2, #row], iterator_types = ["parallel", "reduction"]}
      ins(%x : memref<256x128xf32>) outs(%s : memref<256xf32>) {
  ^bb0(%a: f32, %b: f32):
    %r = arith.addf %a, %b : f32
    linalg.yield %r : f32
  }
  return
}

// Left alone: rank 1 (the vectorized loop itself), a first dim that is a
// reduction, a small op, an op inside a fused kernel's scf.forall.
// CHECK-LABEL: func.func @left_alone
// CHECK-NOT: omp_get_max_threads
// CHECK: scf.forall (%{{.*}}) in (2)
// CHECK-NOT: scf.forall
// CHECK-NOT: omp_get_max_threads
// CHECK: return
func.func @left_alone(%v: memref<65536xf32>, %w: memref<65536xf32>,
                      %x: memref<256x128xf32>, %c: memref<128xf32>,
                      %sx: memref<8x8xf32>, %sy: memref<8x8xf32>) {
  linalg.generic {indexing_maps = [affine_map<(i) -> (i)>, affine_map<(i) -> (i)>], iterator_types = ["parallel"]}
      ins(%v : memref<65536xf32>) outs(%w : memref<65536xf32>) {
  ^bb0(%a: f32, %b: f32):
    linalg.yield %a : f32
  }
  linalg.generic {indexing_maps = [#id2, affine_map<(i, j) -> (j)>], iterator_types = ["reduction", "parallel"]}
      ins(%x : memref<256x128xf32>) outs(%c : memref<128xf32>) {
  ^bb0(%a: f32, %b: f32):
    %r = arith.addf %a, %b : f32
    linalg.yield %r : f32
  }
  linalg.generic {indexing_maps = [#id2, #id2], iterator_types = ["parallel", "parallel"]}
      ins(%sx : memref<8x8xf32>) outs(%sy : memref<8x8xf32>) {
  ^bb0(%a: f32, %b: f32):
    linalg.yield %a : f32
  }
  scf.forall (%i) in (2) {
    linalg.generic {indexing_maps = [#id2, #id2], iterator_types = ["parallel", "parallel"]}
        ins(%x : memref<256x128xf32>) outs(%x : memref<256x128xf32>) {
    ^bb0(%a: f32, %b: f32):
      linalg.yield %a : f32
    }
  }
  return
}

// A function called only inside a parallel loop (a fused kernel's chunk
// function, once per slice), and a function it calls in turn: left alone,
// their ops would run in a nested, serialized region. A function called
// both there and at the top level is split as usual.
// CHECK-LABEL: func.func private @per_slice
// CHECK-NOT: omp_get_max_threads
// CHECK: call @per_slice_helper
// CHECK-LABEL: func.func private @per_slice_helper
// CHECK-NOT: omp_get_max_threads
// CHECK: return
// CHECK-LABEL: func.func private @also_top_level
// CHECK: omp_get_max_threads
// CHECK: scf.forall
// CHECK-LABEL: func.func @slices
func.func private @per_slice(%x: memref<256x128xf32>, %y: memref<256x128xf32>) {
  linalg.generic {indexing_maps = [#id2, #id2], iterator_types = ["parallel", "parallel"]}
      ins(%x : memref<256x128xf32>) outs(%y : memref<256x128xf32>) {
  ^bb0(%a: f32, %b: f32):
    %e = math.exp %a : f32
    linalg.yield %e : f32
  }
  call @per_slice_helper(%x, %y) : (memref<256x128xf32>, memref<256x128xf32>) -> ()
  return
}
func.func private @per_slice_helper(%x: memref<256x128xf32>, %y: memref<256x128xf32>) {
  linalg.generic {indexing_maps = [#id2, #id2], iterator_types = ["parallel", "parallel"]}
      ins(%x : memref<256x128xf32>) outs(%y : memref<256x128xf32>) {
  ^bb0(%a: f32, %b: f32):
    %e = math.exp %a : f32
    linalg.yield %e : f32
  }
  return
}
func.func private @also_top_level(%x: memref<256x128xf32>, %y: memref<256x128xf32>) {
  linalg.generic {indexing_maps = [#id2, #id2], iterator_types = ["parallel", "parallel"]}
      ins(%x : memref<256x128xf32>) outs(%y : memref<256x128xf32>) {
  ^bb0(%a: f32, %b: f32):
    %e = math.exp %a : f32
    linalg.yield %e : f32
  }
  return
}
func.func @slices(%x: memref<256x128xf32>, %y: memref<256x128xf32>) {
  scf.forall (%i) in (2) {
    func.call @per_slice(%x, %y) : (memref<256x128xf32>, memref<256x128xf32>) -> ()
    func.call @also_top_level(%x, %y) : (memref<256x128xf32>, memref<256x128xf32>) -> ()
  }
  call @also_top_level(%x, %y) : (memref<256x128xf32>, memref<256x128xf32>) -> ()
  return
}
