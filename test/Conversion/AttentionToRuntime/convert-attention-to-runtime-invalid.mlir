// RUN: nl-opt --convert-attention-to-runtime %s -split-input-file -verify-diagnostics

// Before bufferization there is nothing to call.
func.func @tensors(%q: tensor<1x1x4x2xf32>, %o: tensor<1x1x4x2xf32>) -> tensor<1x1x4x2xf32> {
  // expected-error @below {{must be bufferized before convert-attention-to-runtime}}
  %0 = nl.attention_kernel ins(%q, %q, %q : tensor<1x1x4x2xf32>, tensor<1x1x4x2xf32>, tensor<1x1x4x2xf32>) outs(%o : tensor<1x1x4x2xf32>) scale = 1.0 -> tensor<1x1x4x2xf32>
  return %0 : tensor<1x1x4x2xf32>
}

// -----

// The runtime has float32 and float64 kernels only.
func.func @half(%q: memref<1x1x4x2xf16>, %o: memref<1x1x4x2xf16>) {
  // expected-error @below {{has no runtime kernel for element type 'f16' (f32 and f64 only)}}
  nl.attention_kernel ins(%q, %q, %q : memref<1x1x4x2xf16>, memref<1x1x4x2xf16>, memref<1x1x4x2xf16>) outs(%o : memref<1x1x4x2xf16>) scale = 1.0
  return
}

// -----

// A dynamic size is not known when the call is built.
func.func @dynamic(%q: memref<1x1x?x2xf32>, %o: memref<1x1x?x2xf32>) {
  // expected-error @below {{needs static shapes}}
  nl.attention_kernel ins(%q, %q, %q : memref<1x1x?x2xf32>, memref<1x1x?x2xf32>, memref<1x1x?x2xf32>) outs(%o : memref<1x1x?x2xf32>) scale = 1.0
  return
}
