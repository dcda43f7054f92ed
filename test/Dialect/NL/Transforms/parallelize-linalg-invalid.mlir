// RUN: nl-opt --nl-parallelize-linalg %s --verify-diagnostics

// A function named like OpenMP's thread count with another type is not
// called.
module {
  // expected-error @+1 {{matched function 'omp_get_max_threads' but with different type: '() -> i64'}}
  func.func private @omp_get_max_threads() -> i64
  func.func @elementwise(%x: memref<256x128xf32>, %y: memref<256x128xf32>) {
    linalg.generic {indexing_maps = [affine_map<(i, j) -> (i, j)>, affine_map<(i, j) -> (i, j)>],
                    iterator_types = ["parallel", "parallel"]}
        ins(%x : memref<256x128xf32>) outs(%y : memref<256x128xf32>) {
    ^bb0(%a: f32, %b: f32):
      linalg.yield %a : f32
    }
    return
  }
}
