// RUN: nl-opt %s --convert-loops-to-gpu --canonicalize | FileCheck %s

memref.global "private" constant @mask : memref<4xf32> = dense<1.0>

// A product whose reduction dim comes first: interchanged, one thread per
// output element, the reduction in order inside it.
// CHECK-LABEL: func.func @product
// CHECK-DAG: %[[C32:.*]] = arith.constant 32 : index
// CHECK-DAG: %[[C16:.*]] = arith.constant 16 : index
// CHECK: gpu.launch blocks({{.*}}) in ({{.*}} = %c1, {{.*}} = %c1, {{.*}} = %c1) threads(%[[T:.*]], %{{.*}}, %{{.*}}) in ({{.*}} = %[[C32]],
// CHECK: scf.if
// CHECK: %[[N:.*]] = arith.remui %[[T]], %c4
// CHECK: %[[MQ:.*]] = arith.divui %[[T]], %c4
// CHECK: %[[M:.*]] = arith.remui %[[MQ]], %c8
// CHECK: scf.for %[[K:.*]] = %c0 to %[[C16]]
// CHECK: memref.load %arg0[%[[M]], %[[K]]]
// CHECK: memref.load %arg1[%[[K]], %[[N]]]
// CHECK: memref.store {{.*}}, %arg2[%[[M]], %[[N]]]
// CHECK-NOT: gpu.launch
// CHECK: return
func.func @product(%a: memref<8x16xf32>, %b: memref<16x4xf32>, %c: memref<8x4xf32>) {
  linalg.generic {indexing_maps = [affine_map<(k, m, n) -> (m, k)>, affine_map<(k, m, n) -> (k, n)>, affine_map<(k, m, n) -> (m, n)>],
                  iterator_types = ["reduction", "parallel", "parallel"]}
      ins(%a, %b : memref<8x16xf32>, memref<16x4xf32>) outs(%c : memref<8x4xf32>) {
  ^bb0(%x: f32, %y: f32, %acc: f32):
    %p = arith.mulf %x, %y : f32
    %s = arith.addf %acc, %p : f32
    linalg.yield %s : f32
  }
  return
}

// A full reduction runs on one thread; every buffer of the host is managed
// memory, freed by the runtime (the deallocation of a view or a loop's
// argument cannot tell the host's buffers from the device's).
// CHECK-LABEL: func.func @total
// CHECK: %[[T:.*]] = gpu.alloc host_shared () : memref<64xf32>
// CHECK: gpu.launch
// CHECK: memref.store {{.*}}, %[[T]]
// CHECK: gpu.launch {{.*}} threads({{.*}}) in ({{.*}} = %c1, {{.*}} = %c1, {{.*}} = %c1)
// CHECK-NEXT: scf.for
// CHECK: %[[P:.*]] = memref.extract_aligned_pointer_as_index %[[T]]
// CHECK: call @nlrt_gpu_free(%[[P]])
// CHECK: %[[H:.*]] = gpu.alloc host_shared () : memref<2xindex>
// CHECK: memref.load %[[H]]
// CHECK: %[[Q:.*]] = memref.extract_aligned_pointer_as_index %[[H]]
// CHECK: call @nlrt_gpu_free(%[[Q]])
// CHECK-NOT: memref.dealloc
func.func @total(%x: memref<64xf32>, %out: memref<f32>) -> index {
  %t = memref.alloc() : memref<64xf32>
  linalg.copy ins(%x : memref<64xf32>) outs(%t : memref<64xf32>)
  linalg.generic {indexing_maps = [affine_map<(i) -> (i)>, affine_map<(i) -> ()>],
                  iterator_types = ["reduction"]}
      ins(%t : memref<64xf32>) outs(%out : memref<f32>) {
  ^bb0(%v: f32, %acc: f32):
    %s = arith.addf %acc, %v : f32
    linalg.yield %s : f32
  }
  memref.dealloc %t : memref<64xf32>
  %h = memref.alloc() : memref<2xindex>
  %c0 = arith.constant 0 : index
  %v = memref.load %h[%c0] : memref<2xindex>
  memref.dealloc %h : memref<2xindex>
  return %v : index
}

// The fused kernels: one thread per (batch, head) slice; the body's small
// buffers become thread-private, larger ones stay on the device heap.
// CHECK-LABEL: func.func @slices
// CHECK: gpu.launch {{.*}} threads({{.*}}) in ({{.*}} = %c6,
// CHECK: %[[H:.*]] = arith.remui %{{.*}}, %c3
// CHECK: %[[BQ:.*]] = arith.divui %{{.*}}, %c3
// CHECK: %[[B:.*]] = arith.remui %[[BQ]], %c2
// CHECK: memref.alloca() : memref<4xf32>
// CHECK: memref.subview %arg0[%[[B]], %[[H]], 0]
// CHECK-NOT: memref.dealloc %alloca
// CHECK: %[[BIG:.*]] = memref.alloc() : memref<2048xf32>
// CHECK: scf.for
// CHECK: memref.store %arg2, %[[BIG]]
// CHECK: memref.dealloc %[[BIG]]
// CHECK-NOT: gpu.launch
// CHECK: return
func.func @slices(%x: memref<2x3x4xf32>, %y: memref<2x3x4xf32>, %f: f32) {
  scf.forall (%b, %h) in (2, 3) {
    %s = memref.alloc() : memref<4xf32>
    %in = memref.subview %x[%b, %h, 0] [1, 1, 4] [1, 1, 1] : memref<2x3x4xf32> to memref<4xf32, strided<[1], offset: ?>>
    %out = memref.subview %y[%b, %h, 0] [1, 1, 4] [1, 1, 1] : memref<2x3x4xf32> to memref<4xf32, strided<[1], offset: ?>>
    linalg.copy ins(%in : memref<4xf32, strided<[1], offset: ?>>) outs(%s : memref<4xf32>)
    linalg.copy ins(%s : memref<4xf32>) outs(%out : memref<4xf32, strided<[1], offset: ?>>)
    memref.dealloc %s : memref<4xf32>
    %big = memref.alloc() : memref<2048xf32>
    linalg.fill ins(%f : f32) outs(%big : memref<2048xf32>)
    %head = memref.subview %big[0] [4] [1] : memref<2048xf32> to memref<4xf32, strided<[1]>>
    linalg.copy ins(%head : memref<4xf32, strided<[1]>>) outs(%out : memref<4xf32, strided<[1], offset: ?>>)
    memref.dealloc %big : memref<2048xf32>
  }
  return
}

// A constant a kernel reads is copied to managed memory once per call.
// CHECK-LABEL: func.func @constant
// CHECK: %[[G:.*]] = memref.get_global @mask
// CHECK: %[[M:.*]] = gpu.alloc host_shared () : memref<4xf32>
// CHECK: memref.copy %[[G]], %[[M]]
// CHECK: gpu.launch
// CHECK: memref.load %[[M]]
// CHECK: call @nlrt_gpu_free
func.func @constant(%y: memref<4xf32>) {
  %m = memref.get_global @mask : memref<4xf32>
  linalg.copy ins(%m : memref<4xf32>) outs(%y : memref<4xf32>)
  return
}
