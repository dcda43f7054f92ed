// RUN: nl-opt --convert-copies-to-memcpy --canonicalize %s | FileCheck %s
// RUN: nl-opt --convert-copies-to-memcpy=min-bytes=4096 %s | FileCheck %s --check-prefix=MIN

// A copy whose buffers are contiguous throughout (a dynamic outermost size
// included): one memcpy of n * 4 * 32 floats, no loop; the target's offset
// is 0 (identity layout), the source's is read from its metadata.
// CHECK-LABEL: func.func @whole
// CHECK-DAG: %[[C4:.*]] = arith.constant 4 : index
// CHECK-DAG: %[[C512:.*]] = arith.constant 512 : index
// CHECK-DAG: %[[C0:.*]] = arith.constant 0 : index
// CHECK-NOT: scf.for
// CHECK: %[[N:.*]] = memref.dim %arg1, %[[C0]]
// CHECK: %[[BYTES:.*]] = arith.muli %[[N]], %[[C512]]
// CHECK: %[[LEN:.*]] = arith.index_cast %[[BYTES]] : index to i64
// CHECK: %[[PB:.*]] = memref.extract_aligned_pointer_as_index %arg1
// CHECK: %[[PA:.*]] = memref.extract_aligned_pointer_as_index %arg0
// CHECK: %{{.*}}, %[[OFF:.*]], %{{.*}}:3, %{{.*}}:3 = memref.extract_strided_metadata %arg0
// CHECK: %[[B64:.*]] = arith.index_cast %[[PB]] : index to i64
// CHECK: %[[TO:.*]] = llvm.inttoptr %[[B64]] : i64 to !llvm.ptr
// CHECK: %[[OFFB:.*]] = arith.muli %[[OFF]], %[[C4]]
// CHECK: %[[A:.*]] = arith.addi %[[PA]], %[[OFFB]]
// CHECK: %[[A64:.*]] = arith.index_cast %[[A]] : index to i64
// CHECK: %[[FROM:.*]] = llvm.inttoptr %[[A64]] : i64 to !llvm.ptr
// CHECK: "llvm.intr.memcpy"(%[[TO]], %[[FROM]], %[[LEN]]) <{isVolatile = false}>
// CHECK-NOT: linalg.copy
// Under min-bytes=4096 it stays: only the block's static sizes count
// (4 x 32 floats, 512 bytes).
// MIN-LABEL: func.func @whole
// MIN-NOT: llvm.intr.memcpy
// MIN: linalg.copy
func.func @whole(%a: memref<?x4x32xf32, strided<[128, 32, 1], offset: ?>>,
                 %b: memref<?x4x32xf32>) {
  linalg.copy ins(%a : memref<?x4x32xf32, strided<[128, 32, 1], offset: ?>>)
              outs(%b : memref<?x4x32xf32>)
  return
}

// Rows of 4 x 32 floats at different outer strides (128 and 256): a loop
// over the outer dimension, one 512-byte memcpy per row, each address
// offset + i * stride (in elements) times 4 bytes.
// CHECK-LABEL: func.func @rows
// CHECK-DAG: %[[C128:.*]] = arith.constant 128 : index
// CHECK-DAG: %[[C256:.*]] = arith.constant 256 : index
// CHECK-DAG: %[[C4:.*]] = arith.constant 4 : index
// CHECK-DAG: %[[LEN:.*]] = arith.constant 512 : i64
// CHECK: %[[PB:.*]] = memref.extract_aligned_pointer_as_index %arg1
// CHECK: %{{.*}}, %[[OB:.*]], %{{.*}}:3, %{{.*}}:3 = memref.extract_strided_metadata %arg1
// CHECK: %[[PA:.*]] = memref.extract_aligned_pointer_as_index %arg0
// CHECK: %{{.*}}, %[[OA:.*]], %{{.*}}:3, %{{.*}}:3 = memref.extract_strided_metadata %arg0
// CHECK: scf.for %[[I:.*]] = %{{.*}} to %{{.*}} step %{{.*}} {
// CHECK:   %[[SB:.*]] = arith.muli %[[I]], %[[C256]]
// CHECK:   %[[EB:.*]] = arith.addi %[[OB]], %[[SB]]
// CHECK:   arith.muli %[[EB]], %[[C4]]
// CHECK:   %[[SA:.*]] = arith.muli %[[I]], %[[C128]]
// CHECK:   %[[EA:.*]] = arith.addi %[[OA]], %[[SA]]
// CHECK:   arith.muli %[[EA]], %[[C4]]
// CHECK:   "llvm.intr.memcpy"(%{{.*}}, %{{.*}}, %[[LEN]])
// CHECK: }
// CHECK-NOT: linalg.copy
// The block of 512 bytes is under min-bytes=4096.
// MIN-LABEL: func.func @rows
// MIN-NOT: llvm.intr.memcpy
// MIN: linalg.copy
func.func @rows(%a: memref<?x4x32xf32, strided<[128, 32, 1], offset: ?>>,
                %b: memref<?x4x32xf32, strided<[256, 32, 1], offset: ?>>) {
  linalg.copy ins(%a : memref<?x4x32xf32, strided<[128, 32, 1], offset: ?>>)
              outs(%b : memref<?x4x32xf32, strided<[256, 32, 1], offset: ?>>)
  return
}

// 32 x 32 floats are 4096 bytes: one call, at min-bytes=4096 too.
// CHECK-LABEL: func.func @block
// CHECK: "llvm.intr.memcpy"
// MIN-LABEL: func.func @block
// MIN: "llvm.intr.memcpy"
// MIN-NOT: linalg.copy
func.func @block(%a: memref<32x32xf32>, %b: memref<32x32xf32>) {
  linalg.copy ins(%a : memref<32x32xf32>) outs(%b : memref<32x32xf32>)
  return
}

// A size-1 dimension fits any stride: the 1 x 64 block (256 bytes) is
// contiguous although its outer stride (1000) is not 64.
// CHECK-LABEL: func.func @unit
// MIN-LABEL: func.func @unit
// CHECK-NOT: scf.for
// CHECK: "llvm.intr.memcpy"(%{{.*}}, %{{.*}}, %{{.*}})
// CHECK-NOT: linalg.copy
func.func @unit(%a: memref<1x64xf32, strided<[1000, 1], offset: ?>>,
                %b: memref<1x64xf32>) {
  linalg.copy ins(%a : memref<1x64xf32, strided<[1000, 1], offset: ?>>)
              outs(%b : memref<1x64xf32>)
  return
}

// A fill with +0.0 of rows of 16 f64 (128 bytes) at stride 32: a memset
// per row. Fills with 1.0 and with -0.0 (whose bytes are not all zero)
// stay.
// CHECK-LABEL: func.func @fill
// CHECK-DAG: %[[ZERO:.*]] = llvm.mlir.constant(0 : i8) : i8
// CHECK-DAG: %[[C8:.*]] = arith.constant 8 : index
// CHECK-DAG: %[[LEN:.*]] = arith.constant 128 : i64
// CHECK: scf.for %{{.*}} = %{{.*}} to %[[C8]]
// CHECK:   "llvm.intr.memset"(%{{.*}}, %[[ZERO]], %[[LEN]]) <{isVolatile = false}>
// CHECK: linalg.fill ins(%{{.*}} : f32)
// CHECK: linalg.fill ins(%{{.*}} : f64)
func.func @fill(%b: memref<8x16xf64, strided<[32, 1], offset: ?>>,
                %c: memref<8x16xf32>) {
  %z = arith.constant 0.0 : f64
  %o = arith.constant 1.0 : f32
  %n = arith.constant -0.0 : f64
  linalg.fill ins(%z : f64) outs(%b : memref<8x16xf64, strided<[32, 1], offset: ?>>)
  linalg.fill ins(%o : f32) outs(%c : memref<8x16xf32>)
  linalg.fill ins(%n : f64) outs(%b : memref<8x16xf64, strided<[32, 1], offset: ?>>)
  return
}

// An integer zero fill becomes a memset too.
// CHECK-LABEL: func.func @ints
// CHECK: "llvm.intr.memset"
// CHECK-NOT: linalg.fill
func.func @ints(%b: memref<32xi32>) {
  %z = arith.constant 0 : i32
  linalg.fill ins(%z : i32) outs(%b : memref<32xi32>)
  return
}

// Left alone: a transposed source (inner stride 8), an inner stride of 2,
// a block under 64 bytes (2 x 3 floats), index elements (no byte size) and
// a fill on tensors.
// CHECK-LABEL: func.func @kept
// CHECK-NOT: llvm.intr
// CHECK-COUNT-4: linalg.copy
// CHECK: linalg.fill
// CHECK-NOT: llvm.intr
func.func @kept(%t: memref<8x4xf32, strided<[1, 8]>>, %d: memref<8x4xf32>,
                %s: memref<2x8xf32, strided<[16, 2]>>, %e: memref<2x8xf32>,
                %small: memref<2x3xf32>, %x: memref<2x3xf32>,
                %i: memref<32xindex>, %j: memref<32xindex>,
                %tt: tensor<64xf32>) -> tensor<64xf32> {
  linalg.copy ins(%t : memref<8x4xf32, strided<[1, 8]>>) outs(%d : memref<8x4xf32>)
  linalg.copy ins(%s : memref<2x8xf32, strided<[16, 2]>>) outs(%e : memref<2x8xf32>)
  linalg.copy ins(%small : memref<2x3xf32>) outs(%x : memref<2x3xf32>)
  linalg.copy ins(%i : memref<32xindex>) outs(%j : memref<32xindex>)
  %z = arith.constant 0.0 : f32
  %r = linalg.fill ins(%z : f32) outs(%tt : tensor<64xf32>) -> tensor<64xf32>
  return %r : tensor<64xf32>
}
