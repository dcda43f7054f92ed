// RUN: nl-opt --convert-contractions-to-blas %s --verify-diagnostics

// A function of the runtime's name with another type is not called.
module {
  // expected-error @+1 {{matched function 'nlrt_sgemm' but with different type: '(i32) -> ()'}}
  func.func private @nlrt_sgemm(i32)
  func.func @projection(%a: memref<64x32xf32>, %b: memref<32x48xf32>, %c: memref<64x48xf32>) {
    linalg.generic {indexing_maps = [affine_map<(m, k, n) -> (m, k)>,
                                     affine_map<(m, k, n) -> (k, n)>,
                                     affine_map<(m, k, n) -> (m, n)>],
                    iterator_types = ["parallel", "reduction", "parallel"]}
        ins(%a, %b : memref<64x32xf32>, memref<32x48xf32>) outs(%c : memref<64x48xf32>) {
    ^bb0(%x: f32, %y: f32, %acc: f32):
      %p = arith.mulf %x, %y : f32
      %s = arith.addf %acc, %p : f32
      linalg.yield %s : f32
    }
    return
  }
}
