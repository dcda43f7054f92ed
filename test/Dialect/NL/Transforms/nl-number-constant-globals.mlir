// RUN: nl-opt --nl-number-constant-globals %s | FileCheck %s

// The globals one-shot-bufferize made, in an order and with suffixes that
// vary between runs, are renamed in the order of their first use (per
// shape: no suffix, then _1, _2) and moved to the top in that order; an
// unused one is erased; a global of another kind (@mask, public or not
// named __constant_) keeps its name and place; a name another symbol
// holds is skipped.

// CHECK-LABEL: module {
// CHECK-NEXT: memref.global "private" constant @__constant_4xf32 : memref<4xf32> = dense<2.000000e+00>
// CHECK-NEXT: memref.global "private" constant @__constant_2x2xf32 : memref<2x2xf32> = dense<3.000000e+00>
// CHECK-NEXT: memref.global "private" constant @__constant_4xf32_2 : memref<4xf32> = dense<1.000000e+00>
// CHECK-NEXT: memref.global "private" constant @__constant_4xf32_3 : memref<4xf32> = dense<4.000000e+00>
// CHECK-NEXT: memref.global "private" constant @mask : memref<4xf32> = dense<5.000000e+00>
// CHECK-NEXT: memref.global constant @__constant_4xf32_9 : memref<4xf32> = dense<6.000000e+00>
// CHECK-NEXT: func.func private @__constant_4xf32_1()
// CHECK-NOT: memref.global
// CHECK-NOT: dense<7.0

memref.global "private" constant @__constant_4xf32 : memref<4xf32> = dense<1.0>
memref.global "private" constant @__constant_4xf32_0 : memref<4xf32> = dense<2.0>
memref.global "private" constant @mask : memref<4xf32> = dense<5.0>
memref.global constant @__constant_4xf32_9 : memref<4xf32> = dense<6.0>
func.func private @__constant_4xf32_1()
memref.global "private" constant @__constant_2x2xf32_0 : memref<2x2xf32> = dense<3.0>
memref.global "private" constant @__constant_4xf32_7 : memref<4xf32> = dense<4.0>
memref.global "private" constant @__constant_4xf32_4 : memref<4xf32> = dense<7.0>

// CHECK-LABEL: func.func @first(
// CHECK: memref.get_global @__constant_4xf32 :
// CHECK: scf.for
// CHECK:   memref.get_global @__constant_2x2xf32 :
// CHECK: memref.get_global @__constant_4xf32_2 :
// CHECK: memref.get_global @__constant_4xf32 :
// CHECK: memref.get_global @mask :
func.func @first(%n: index) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %a = memref.get_global @__constant_4xf32_0 : memref<4xf32>
  scf.for %i = %c0 to %n step %c1 {
    %b = memref.get_global @__constant_2x2xf32_0 : memref<2x2xf32>
  }
  %c = memref.get_global @__constant_4xf32 : memref<4xf32>
  %d = memref.get_global @__constant_4xf32_0 : memref<4xf32>
  %e = memref.get_global @mask : memref<4xf32>
  return
}

// CHECK-LABEL: func.func @second(
// CHECK: memref.get_global @__constant_4xf32_3 :
// CHECK: memref.get_global @__constant_4xf32_9 :
func.func @second() {
  %a = memref.get_global @__constant_4xf32_7 : memref<4xf32>
  %b = memref.get_global @__constant_4xf32_9 : memref<4xf32>
  return
}
