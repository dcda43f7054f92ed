// The registered CPU pipeline reaches the LLVM dialect for every compute op.
// RUN: nl-opt --nl-generate-gradients --nl-lower-to-llvm %S/../../Autodiff/vjp-tensor.mlir | FileCheck %s
// RUN: nl-opt --nl-generate-gradients --nl-lower-to-llvm %S/../../Autodiff/vjp-elementwise.mlir | FileCheck %s
// CHECK-NOT: nl.
// CHECK-NOT: linalg.
// CHECK-NOT: memref.
// CHECK: llvm.func
