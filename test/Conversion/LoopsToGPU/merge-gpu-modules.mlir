// RUN: nl-opt %s --nl-merge-gpu-modules --split-input-file --verify-diagnostics | FileCheck %s

// Every kernel in the first gpu.module, named after the module it came
// from with PTX's characters; a constant both kernels read kept once; each
// launch pointed at its kernel's new place.
// CHECK-LABEL: module attributes {gpu.container_module}
// CHECK: gpu.module @f_kernel {
// CHECK-NEXT: gpu.func @f_kernel
// CHECK: memref.global "private" constant @c
// CHECK: gpu.func @f_chunk0_kernel
// CHECK-NOT: memref.global
// CHECK-NOT: gpu.module
// CHECK: func.func @f
// CHECK: gpu.launch_func @f_kernel::@f_kernel
// CHECK: gpu.launch_func @f_kernel::@f_chunk0_kernel
module attributes {gpu.container_module} {
  gpu.module @f_kernel {
    gpu.func @f_kernel(%x: memref<4xf32>) kernel {
      gpu.return
    }
    memref.global "private" constant @c : memref<4xf32> = dense<1.0>
  }
  gpu.module @f.chunk0_kernel {
    memref.global "private" constant @c : memref<4xf32> = dense<1.0>
    gpu.func @f.chunk0_kernel(%x: memref<4xf32>) kernel {
      %g = memref.get_global @c : memref<4xf32>
      gpu.return
    }
  }
  func.func @f(%x: memref<4xf32>) {
    %c1 = arith.constant 1 : index
    gpu.launch_func @f_kernel::@f_kernel blocks in (%c1, %c1, %c1) threads in (%c1, %c1, %c1) args(%x : memref<4xf32>)
    gpu.launch_func @f.chunk0_kernel::@f.chunk0_kernel blocks in (%c1, %c1, %c1) threads in (%c1, %c1, %c1) args(%x : memref<4xf32>)
    return
  }
}

// -----

// Only the modules of gpu-kernel-outlining (one kernel each) are merged.
module attributes {gpu.container_module} {
  gpu.module @a {
    gpu.func @k(%x: memref<4xf32>) kernel {
      gpu.return
    }
  }
  // expected-error @+1 {{'gpu.module' op holds more than one kernel; only the modules of gpu-kernel-outlining (one kernel each) are merged}}
  gpu.module @b {
    gpu.func @k1(%x: memref<4xf32>) kernel {
      gpu.return
    }
    gpu.func @k2(%x: memref<4xf32>) kernel {
      gpu.return
    }
  }
}
