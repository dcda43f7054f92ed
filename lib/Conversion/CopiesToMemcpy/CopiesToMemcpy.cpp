//===- CopiesToMemcpy.cpp - copies and zero fills as memcpy/memset --------===//
//
// Rewrites the bufferized linalg.copy and zero linalg.fill ops whose
// innermost dimensions are contiguous into llvm.intr.memcpy/memset of those
// blocks, in loops over the outer dimensions. See the pass description in
// Passes.td.
//
//===----------------------------------------------------------------------===//

#include "nl/Conversion/Passes.h"

#include "../RuntimeCalls.h"

#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinTypes.h"
#include "mlir/IR/Matchers.h"

namespace mlir::nl {
#define GEN_PASS_DEF_CONVERTCOPIESTOMEMCPY
#include "nl/Conversion/Passes.h.inc"
} // namespace mlir::nl

using namespace mlir;

namespace {

/// The bytes of one element of `type`, or 0 when it has no whole byte size
/// (index, i1, vectors).
int64_t elementBytes(Type type) {
  if (!type.isIntOrFloat() || type.getIntOrFloatBitWidth() % 8 != 0)
    return 0;
  return type.getIntOrFloatBitWidth() / 8;
}

/// How many innermost dimensions of `type` form one contiguous row-major
/// block: each one's static stride is the product of the static sizes of
/// the dimensions inside it (a dimension of size 1 fits any stride). The
/// outermost of them may have a dynamic size; none outside it can join.
unsigned contiguousDims(MemRefType type) {
  SmallVector<int64_t> strides;
  int64_t offset;
  if (failed(type.getStridesAndOffset(strides, offset)))
    return 0;
  int64_t expected = 1;
  unsigned dims = 0;
  for (int64_t i = type.getRank() - 1; i >= 0; --i) {
    int64_t size = type.getDimSize(i);
    if (size != 1 && strides[i] != expected)
      break;
    ++dims;
    if (ShapedType::isDynamic(size))
      break;
    expected *= size;
  }
  return dims;
}

/// A buffer as integers (RuntimeCalls.h: its aligned pointer, element
/// offset and strides), read once before the loops.
struct Buffer {
  SmallVector<Value> parts;

  Buffer(OpBuilder &b, Location loc, Value memref) {
    nl::appendBuffer(b, loc, memref, parts, /*strides=*/true);
  }

  /// The pointer to the element at `outer` (indices of the leading
  /// dimensions, zero in the others), of `bytes` bytes each.
  Value pointer(OpBuilder &b, Location loc, ValueRange outer,
                int64_t bytes) const {
    Value element = parts[1];
    for (auto [stride, index] :
         llvm::zip(ArrayRef(parts).drop_front(2), outer)) {
      Value step = arith::MulIOp::create(b, loc, index, stride);
      element = arith::AddIOp::create(b, loc, element, step);
    }
    Value size = arith::ConstantIndexOp::create(b, loc, bytes);
    Value offset = arith::MulIOp::create(b, loc, element, size);
    Value address = arith::AddIOp::create(b, loc, parts[0], offset);
    Value address64 =
        arith::IndexCastOp::create(b, loc, b.getI64Type(), address);
    return LLVM::IntToPtrOp::create(
        b, loc, LLVM::LLVMPointerType::get(b.getContext()), address64);
  }
};

/// Rewrites `op` (a copy of `source`, or a zero fill when `source` is
/// null, of `target`) as calls over its contiguous blocks, or leaves it
/// when the block is smaller than `minBytes`.
void rewrite(Operation *op, Value source, Value target, int64_t minBytes) {
  auto targetType = dyn_cast<MemRefType>(target.getType());
  if (!targetType)
    return;
  int64_t bytes = elementBytes(targetType.getElementType());
  if (bytes == 0)
    return;
  unsigned dims = contiguousDims(targetType);
  if (source) {
    auto sourceType = dyn_cast<MemRefType>(source.getType());
    if (!sourceType ||
        sourceType.getElementType() != targetType.getElementType())
      return;
    dims = std::min(dims, contiguousDims(sourceType));
  }
  int64_t rank = targetType.getRank();
  // The block's static bytes (its dynamic outermost size, if any, aside).
  int64_t blockBytes = bytes;
  for (int64_t i = rank - dims; i < rank; ++i)
    if (!targetType.isDynamicDim(i))
      blockBytes *= targetType.getDimSize(i);
  if (dims == 0 || blockBytes < minBytes)
    return;

  OpBuilder b(op);
  Location loc = op->getLoc();
  auto dimSize = [&](int64_t i) -> Value {
    if (targetType.isDynamicDim(i))
      return memref::DimOp::create(b, loc, target, i);
    return arith::ConstantIndexOp::create(b, loc, targetType.getDimSize(i));
  };
  Value length = arith::ConstantIndexOp::create(b, loc, blockBytes);
  int64_t outerDims = rank - dims;
  if (targetType.isDynamicDim(outerDims))
    length = arith::MulIOp::create(b, loc, length, dimSize(outerDims));
  Value length64 = arith::IndexCastOp::create(b, loc, b.getI64Type(), length);

  // The buffers' metadata, then one loop per outer dimension, the call in
  // the innermost.
  Buffer to(b, loc, target);
  std::optional<Buffer> from;
  if (source)
    from.emplace(b, loc, source);
  SmallVector<Value> indices;
  Value zero = arith::ConstantIndexOp::create(b, loc, 0);
  Value one = arith::ConstantIndexOp::create(b, loc, 1);
  for (int64_t i = 0; i < outerDims; ++i) {
    auto loop = scf::ForOp::create(b, loc, zero, dimSize(i), one);
    indices.push_back(loop.getInductionVar());
    b.setInsertionPoint(loop.getBody()->getTerminator());
  }
  Value toPointer = to.pointer(b, loc, indices, bytes);
  if (source) {
    LLVM::MemcpyOp::create(b, loc, toPointer,
                           from->pointer(b, loc, indices, bytes), length64,
                           /*isVolatile=*/false);
  } else {
    Value byte =
        LLVM::ConstantOp::create(b, loc, b.getI8Type(), b.getI8IntegerAttr(0));
    LLVM::MemsetOp::create(b, loc, toPointer, byte, length64,
                           /*isVolatile=*/false);
  }
  op->erase();
}

/// Whether `value` is a constant whose bytes are all zero (+0.0 or 0).
bool isZeroBits(Value value) {
  Attribute attr;
  if (!matchPattern(value, m_Constant(&attr)))
    return false;
  if (auto f = dyn_cast<FloatAttr>(attr))
    return f.getValue().isPosZero();
  if (auto i = dyn_cast<IntegerAttr>(attr))
    return i.getValue().isZero();
  return false;
}

struct ConvertCopiesToMemcpyPass
    : public mlir::nl::impl::ConvertCopiesToMemcpyBase<
          ConvertCopiesToMemcpyPass> {
  using Base::Base;

  void runOnOperation() override {
    SmallVector<Operation *> ops;
    getOperation().walk([&](Operation *op) {
      if (isa<linalg::CopyOp, linalg::FillOp>(op))
        ops.push_back(op);
    });
    for (Operation *op : ops) {
      if (auto copy = dyn_cast<linalg::CopyOp>(op)) {
        if (copy.hasPureBufferSemantics())
          rewrite(op, copy.getInputs()[0], copy.getOutputs()[0], minBytes);
        continue;
      }
      auto fill = cast<linalg::FillOp>(op);
      if (fill.hasPureBufferSemantics() && isZeroBits(fill.value()))
        rewrite(op, Value(), fill.output(), minBytes);
    }
  }
};

} // namespace
