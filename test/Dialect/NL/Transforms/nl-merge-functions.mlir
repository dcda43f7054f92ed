// RUN: nl-opt --nl-merge-functions --split-input-file %s | FileCheck %s

// Two private functions that differ only in their names (and locations):
// the later one goes, its calls call the earlier one.
// CHECK-LABEL: func.func @caller(
// CHECK: call @scale(%{{.*}}) : (memref<4xf32>) -> ()
// CHECK-NEXT: call @scale(%{{.*}}) : (memref<4xf32>) -> ()
// CHECK-NEXT: return
// CHECK: func.func private @scale(
// CHECK-NOT: func.func private @scale_copy
func.func @caller(%a: memref<4xf32>, %b: memref<4xf32>) {
  call @scale(%a) : (memref<4xf32>) -> ()
  call @scale_copy(%b) : (memref<4xf32>) -> ()
  return
}
func.func private @scale(%m: memref<4xf32>) {
  %c0 = arith.constant 0 : index
  %two = arith.constant 2.0 : f32
  %v = memref.load %m[%c0] : memref<4xf32>
  %w = arith.mulf %v, %two : f32
  memref.store %w, %m[%c0] : memref<4xf32>
  return
}
func.func private @scale_copy(%m: memref<4xf32>) {
  %c0 = arith.constant 0 : index loc("elsewhere.nl":3:4)
  %two = arith.constant 2.0 : f32
  %v = memref.load %m[%c0] : memref<4xf32>
  %w = arith.mulf %v, %two : f32
  memref.store %w, %m[%c0] : memref<4xf32>
  return
}

// -----

// A constant, an operand order, a type or an attribute that differs keeps
// both functions.
// CHECK-LABEL: func.func @kept(
// CHECK: call @three(
// CHECK: call @swapped(
// CHECK: call @f64(
// CHECK: call @noinline(
// CHECK-DAG: func.func private @two(
// CHECK-DAG: func.func private @three(
// CHECK-DAG: func.func private @swapped(
// CHECK-DAG: func.func private @f64(
// CHECK-DAG: func.func private @noinline(
func.func @kept(%x: f32, %y: f32, %z: f64) -> (f32, f32, f32, f64, f32) {
  %a = call @two(%x, %y) : (f32, f32) -> f32
  %b = call @three(%x, %y) : (f32, f32) -> f32
  %c = call @swapped(%x, %y) : (f32, f32) -> f32
  %d = call @f64(%z, %z) : (f64, f64) -> f64
  %e = call @noinline(%x, %y) : (f32, f32) -> f32
  return %a, %b, %c, %d, %e : f32, f32, f32, f64, f32
}
func.func private @two(%x: f32, %y: f32) -> f32 {
  %k = arith.constant 2.0 : f32
  %p = arith.subf %x, %y : f32
  %r = arith.mulf %p, %k : f32
  return %r : f32
}
func.func private @three(%x: f32, %y: f32) -> f32 {
  %k = arith.constant 3.0 : f32
  %p = arith.subf %x, %y : f32
  %r = arith.mulf %p, %k : f32
  return %r : f32
}
func.func private @swapped(%x: f32, %y: f32) -> f32 {
  %k = arith.constant 2.0 : f32
  %p = arith.subf %y, %x : f32
  %r = arith.mulf %p, %k : f32
  return %r : f32
}
func.func private @f64(%x: f64, %y: f64) -> f64 {
  %k = arith.constant 2.0 : f64
  %p = arith.subf %x, %y : f64
  %r = arith.mulf %p, %k : f64
  return %r : f64
}
func.func private @noinline(%x: f32, %y: f32) -> f32 attributes {no_inline} {
  %k = arith.constant 2.0 : f32
  %p = arith.subf %x, %y : f32
  %r = arith.mulf %p, %k : f32
  return %r : f32
}

// -----

// Merging two callees makes their callers equal, and the next round merges
// those too. Public functions (entry points) are never merged, and a
// function named by anything but a call (here func.constant) keeps its
// own copy.
// CHECK-LABEL: func.func @entry(
// CHECK: call @outer_a(
// CHECK-NEXT: call @outer_a(
// CHECK-NEXT: call @pub_b(
// CHECK-NEXT: constant @inner_c
// CHECK-LABEL: func.func @pub_a(
// CHECK-LABEL: func.func @pub_b(
// CHECK-LABEL: func.func private @outer_a(
// CHECK-NEXT: call @inner_a(
// CHECK-LABEL: func.func private @inner_a(
// CHECK-NOT: @outer_b
// CHECK-NOT: @inner_b
// CHECK: func.func private @inner_c(
func.func @entry(%x: f32) -> (f32, f32, f32, (f32) -> f32) {
  %a = call @outer_a(%x) : (f32) -> f32
  %b = call @outer_b(%x) : (f32) -> f32
  %c = call @pub_b(%x) : (f32) -> f32
  %f = constant @inner_c : (f32) -> f32
  return %a, %b, %c, %f : f32, f32, f32, (f32) -> f32
}
func.func @pub_a(%x: f32) -> f32 {
  %r = arith.negf %x : f32
  return %r : f32
}
func.func @pub_b(%x: f32) -> f32 {
  %r = arith.negf %x : f32
  return %r : f32
}
func.func private @outer_a(%x: f32) -> f32 {
  %r = call @inner_a(%x) : (f32) -> f32
  return %r : f32
}
func.func private @outer_b(%x: f32) -> f32 {
  %r = call @inner_b(%x) : (f32) -> f32
  return %r : f32
}
func.func private @inner_a(%x: f32) -> f32 {
  %r = arith.negf %x : f32
  return %r : f32
}
func.func private @inner_b(%x: f32) -> f32 {
  %r = arith.negf %x : f32
  return %r : f32
}
func.func private @inner_c(%x: f32) -> f32 {
  %r = arith.negf %x : f32
  return %r : f32
}
