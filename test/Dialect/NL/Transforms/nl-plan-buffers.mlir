// RUN: nl-opt --pass-pipeline='builtin.module(func.func(nl-plan-buffers))' %s | FileCheck %s
// RUN: nl-opt --pass-pipeline='builtin.module(func.func(nl-plan-buffers{stack-limit=4096}))' %s | FileCheck %s --check-prefix=LIMIT
// RUN: nl-opt --pass-pipeline='builtin.module(func.func(nl-plan-buffers{max-buffer=1024}))' %s | FileCheck %s --check-prefix=SMALL

// Three temporaries of 2 KiB; %a is freed before %c is allocated, so %c
// takes %a's slot: two slots on the stack, no heap allocation left, every
// deallocation gone.
// CHECK-LABEL: func.func @reuse(
// CHECK-DAG: %[[S0:.*]] = memref.alloca() {alignment = 64 : i64} : memref<2048xi8>
// CHECK-DAG: %[[S1:.*]] = memref.alloca() {alignment = 64 : i64} : memref<2048xi8>
// CHECK-DAG: %[[C0:.*]] = arith.constant 0 : index
// CHECK: %[[A:.*]] = memref.view %[[S0]][%[[C0]]][] : memref<2048xi8> to memref<16x32xf32>
// CHECK: linalg.fill ins(%{{.*}} : f32) outs(%[[A]] : memref<16x32xf32>)
// CHECK: %[[B:.*]] = memref.view %[[S1]][%[[C0]]][] : memref<2048xi8> to memref<16x32xf32>
// CHECK: linalg.add ins(%[[A]], %arg0 : {{.*}}) outs(%[[B]] :
// CHECK: %[[C:.*]] = memref.view %[[S0]][%[[C0]]][] : memref<2048xi8> to memref<16x32xf32>
// CHECK: linalg.add ins(%[[B]], %arg0 : {{.*}}) outs(%[[C]] :
// CHECK-NOT: memref.alloc(
// CHECK-NOT: memref.dealloc
// CHECK: return
// With a stack budget of 4 KiB both slots still fit.
// LIMIT-LABEL: func.func @reuse(
// LIMIT-COUNT-2: memref.alloca()
// LIMIT-NOT: memref.alloc(
func.func @reuse(%x: memref<16x32xf32>, %out: memref<16x32xf32>) {
  %zero = arith.constant 0.0 : f32
  %a = memref.alloc() {alignment = 64 : i64} : memref<16x32xf32>
  linalg.fill ins(%zero : f32) outs(%a : memref<16x32xf32>)
  %b = memref.alloc() {alignment = 64 : i64} : memref<16x32xf32>
  linalg.add ins(%a, %x : memref<16x32xf32>, memref<16x32xf32>) outs(%b : memref<16x32xf32>)
  memref.dealloc %a : memref<16x32xf32>
  %c = memref.alloc() {alignment = 64 : i64} : memref<16x32xf32>
  linalg.add ins(%b, %x : memref<16x32xf32>, memref<16x32xf32>) outs(%c : memref<16x32xf32>)
  memref.dealloc %b : memref<16x32xf32>
  memref.copy %c, %out : memref<16x32xf32> to memref<16x32xf32>
  memref.dealloc %c : memref<16x32xf32>
  return
}

// A buffer takes the smallest free slot that holds it (%d the 4 KiB slot,
// not the 8 KiB one), else grows the largest free one (%e grows the 8 KiB
// slot to 16 KiB). With stack-limit=4096 only the smallest slot fits on the
// stack; the other is a heap allocation freed before the return.
// CHECK-LABEL: func.func @best_fit(
// CHECK-DAG: %[[S16:.*]] = memref.alloca() {alignment = 64 : i64} : memref<16384xi8>
// CHECK-DAG: %[[S4:.*]] = memref.alloca() {alignment = 64 : i64} : memref<4096xi8>
// CHECK: memref.view %[[S16]][{{.*}}] : memref<16384xi8> to memref<2048xf32>
// CHECK: memref.view %[[S4]][{{.*}}] : memref<4096xi8> to memref<1024xf32>
// CHECK: memref.view %[[S4]][{{.*}}] : memref<4096xi8> to memref<1024xf32>
// CHECK: memref.view %[[S16]][{{.*}}] : memref<16384xi8> to memref<4096xf32>
// LIMIT-LABEL: func.func @best_fit(
// LIMIT-DAG: %[[H16:.*]] = memref.alloc() {alignment = 64 : i64} : memref<16384xi8>
// LIMIT-DAG: memref.alloca() {alignment = 64 : i64} : memref<4096xi8>
// LIMIT: memref.dealloc %[[H16]] : memref<16384xi8>
// LIMIT-NEXT: return
func.func @best_fit(%out: memref<1024xf32>) {
  %zero = arith.constant 0.0 : f32
  %big = memref.alloc() : memref<2048xf32>
  %small = memref.alloc() : memref<1024xf32>
  linalg.fill ins(%zero : f32) outs(%big : memref<2048xf32>)
  linalg.fill ins(%zero : f32) outs(%small : memref<1024xf32>)
  memref.dealloc %small : memref<1024xf32>
  memref.dealloc %big : memref<2048xf32>
  %d = memref.alloc() : memref<1024xf32>
  linalg.fill ins(%zero : f32) outs(%d : memref<1024xf32>)
  memref.copy %d, %out : memref<1024xf32> to memref<1024xf32>
  memref.dealloc %d : memref<1024xf32>
  %e = memref.alloc() : memref<4096xf32>
  linalg.fill ins(%zero : f32) outs(%e : memref<4096xf32>)
  memref.dealloc %e : memref<4096xf32>
  return
}

// Buffers that stay what they were: one returned, one with a dynamic size,
// one of i1 (no byte address per element), one aligned beyond a slot's 64
// bytes, one freed only under a condition
// (the ownership-based deallocation's form), one whose view is used after
// the buffer is freed, and, with max-buffer=1024, those of 2 KiB.
// CHECK-LABEL: func.func @kept(
// CHECK: %[[R:.*]] = memref.alloc() : memref<4xf32>
// CHECK: memref.alloc(%arg0) : memref<?xf32>
// CHECK: memref.alloc() : memref<8xi1>
// CHECK: memref.alloc() {alignment = 128 : i64} : memref<4xf32>
// CHECK: %[[COND:.*]] = memref.alloc() : memref<4xf32>
// CHECK: scf.if %arg1 {
// CHECK-NEXT: memref.dealloc %[[COND]]
// CHECK: memref.alloc() : memref<2x2xf32>
// CHECK: memref.view
// CHECK: return %[[R]]
// SMALL-LABEL: func.func @kept(
// SMALL-NOT: memref.view
// SMALL: memref.alloc() : memref<512xf32>
// SMALL: memref.alloc() : memref<512xf32>
// SMALL: return
func.func @kept(%n: index, %flag: i1) -> memref<4xf32> {
  %zero = arith.constant 0.0 : f32
  %false = arith.constant false
  %r = memref.alloc() : memref<4xf32>
  linalg.fill ins(%zero : f32) outs(%r : memref<4xf32>)
  %dyn = memref.alloc(%n) : memref<?xf32>
  linalg.fill ins(%zero : f32) outs(%dyn : memref<?xf32>)
  memref.dealloc %dyn : memref<?xf32>
  %mask = memref.alloc() : memref<8xi1>
  linalg.fill ins(%false : i1) outs(%mask : memref<8xi1>)
  memref.dealloc %mask : memref<8xi1>
  %wide = memref.alloc() {alignment = 128 : i64} : memref<4xf32>
  linalg.fill ins(%zero : f32) outs(%wide : memref<4xf32>)
  memref.dealloc %wide : memref<4xf32>
  %cond = memref.alloc() : memref<4xf32>
  linalg.fill ins(%zero : f32) outs(%cond : memref<4xf32>)
  scf.if %flag {
    memref.dealloc %cond : memref<4xf32>
  }
  %late = memref.alloc() : memref<2x2xf32>
  %flat = memref.collapse_shape %late [[0, 1]] : memref<2x2xf32> into memref<4xf32>
  memref.dealloc %late : memref<2x2xf32>
  linalg.fill ins(%zero : f32) outs(%flat : memref<4xf32>)
  %large = memref.alloc() : memref<512xf32>
  linalg.fill ins(%zero : f32) outs(%large : memref<512xf32>)
  memref.dealloc %large : memref<512xf32>
  %other = memref.alloc() : memref<512xf32>
  linalg.fill ins(%zero : f32) outs(%other : memref<512xf32>)
  memref.dealloc %other : memref<512xf32>
  return %r : memref<4xf32>
}

// A loop body's temporaries (%w reuses %t's slot) get slots of their own
// in the body, on the
// heap (a stack allocation there would grow the stack on every iteration),
// freed before the yield; a buffer yielded to the next iteration is kept.
// CHECK-LABEL: func.func @loop(
// CHECK: scf.for
// CHECK-DAG: %[[H0:.*]] = memref.alloc() {alignment = 64 : i64} : memref<2048xi8>
// CHECK-DAG: %[[H1:.*]] = memref.alloc() {alignment = 64 : i64} : memref<2048xi8>
// CHECK: memref.view %[[H0]]
// CHECK: memref.view %[[H1]]
// CHECK: memref.view %[[H0]]
// CHECK: %[[NEXT:.*]] = memref.alloc() : memref<16xf32>
// CHECK-DAG: memref.dealloc %[[H0]] : memref<2048xi8>
// CHECK-DAG: memref.dealloc %[[H1]] : memref<2048xi8>
// CHECK-NEXT: scf.yield %[[NEXT]]
func.func @loop(%x: memref<16x32xf32>, %init: memref<16xf32>) -> memref<16xf32> {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c4 = arith.constant 4 : index
  %zero = arith.constant 0.0 : f32
  %r = scf.for %i = %c0 to %c4 step %c1 iter_args(%acc = %init) -> (memref<16xf32>) {
    %t = memref.alloc() : memref<16x32xf32>
    linalg.add ins(%x, %x : memref<16x32xf32>, memref<16x32xf32>) outs(%t : memref<16x32xf32>)
    %u = memref.alloc() : memref<16x32xf32>
    linalg.add ins(%t, %x : memref<16x32xf32>, memref<16x32xf32>) outs(%u : memref<16x32xf32>)
    memref.dealloc %t : memref<16x32xf32>
    %w = memref.alloc() : memref<16x32xf32>
    linalg.add ins(%u, %x : memref<16x32xf32>, memref<16x32xf32>) outs(%w : memref<16x32xf32>)
    memref.dealloc %w : memref<16x32xf32>
    %next = memref.alloc() : memref<16xf32>
    linalg.fill ins(%zero : f32) outs(%next : memref<16xf32>)
    memref.dealloc %u : memref<16x32xf32>
    scf.yield %next : memref<16xf32>
  }
  return %r : memref<16xf32>
}

