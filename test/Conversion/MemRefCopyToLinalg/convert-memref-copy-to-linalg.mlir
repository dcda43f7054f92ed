// RUN: nl-opt --convert-memref-copy-to-linalg %s | FileCheck %s

// A copy into a strided view (a chunk written into its sequence) becomes
// linalg.copy; a copy of dynamic shapes stays a memref.copy.
// CHECK-LABEL: func.func @static
// CHECK-NEXT: linalg.copy ins(%arg0 : memref<2x4xf32>) outs(%arg1 : memref<2x4xf32, strided<[8, 1], offset: 4>>)
// CHECK-NOT: memref.copy
func.func @static(%a: memref<2x4xf32>, %v: memref<2x4xf32, strided<[8, 1], offset: 4>>) {
  memref.copy %a, %v : memref<2x4xf32> to memref<2x4xf32, strided<[8, 1], offset: 4>>
  return
}

// CHECK-LABEL: func.func @dynamic
// CHECK-NEXT: memref.copy
func.func @dynamic(%a: memref<?xf32>, %b: memref<?xf32>) {
  memref.copy %a, %b : memref<?xf32> to memref<?xf32>
  return
}
