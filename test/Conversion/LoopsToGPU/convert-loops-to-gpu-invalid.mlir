// RUN: nl-opt %s --convert-loops-to-gpu --split-input-file --verify-diagnostics

// A kernel cannot free a buffer of the host.
func.func @outside(%x: memref<2xf32>) {
  %s = memref.alloc() : memref<4xf32>
  scf.forall (%b) in (2) {
    %v = memref.load %x[%b] : memref<2xf32>
    memref.store %v, %s[%b] : memref<4xf32>
    // expected-error @+1 {{'memref.dealloc' op inside a GPU kernel of a buffer allocated outside it is not supported by the cuda target}}
    memref.dealloc %s : memref<4xf32>
  }
  return
}

// -----

// The runtime's free function, declared with another type.
// expected-error @+1 {{matched function 'nlrt_gpu_free' but with different type: '(i32) -> ()' (expected '(index) -> ()')}}
func.func private @nlrt_gpu_free(i32)

// -----

// A loop with a reduction has no thread mapping.
func.func @reduce(%x: memref<4xf32>) -> f32 {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c4 = arith.constant 4 : index
  %z = arith.constant 0.0 : f32
  // expected-error @+1 {{'scf.parallel' op with reductions is not supported by the cuda target}}
  %r = scf.parallel (%i) = (%c0) to (%c4) step (%c1) init (%z) -> f32 {
    %v = memref.load %x[%i] : memref<4xf32>
    scf.reduce(%v : f32) {
    ^bb0(%a: f32, %b: f32):
      %s = arith.addf %a, %b : f32
      scf.reduce.return %s : f32
    }
  }
  return %r : f32
}
