//===- Bufferize.cpp - one-shot bufferization with strided arguments ------===//
//
// Upstream's one-shot module bufferization, configured as the pipelines
// use it, allocating buffers of a non-identity layout with the identity
// layout and a cast. See the pass description in Passes.td.
//
//===----------------------------------------------------------------------===//

#include "nl/Dialect/NL/Transforms/Passes.h"

#include "mlir/Dialect/Bufferization/IR/Bufferization.h"
#include "mlir/Dialect/Bufferization/Transforms/OneShotAnalysis.h"
#include "mlir/Dialect/Bufferization/Transforms/OneShotModuleBufferize.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"

namespace mlir::nl {
#define GEN_PASS_DEF_BUFFERIZE
#include "nl/Dialect/NL/Transforms/Passes.h.inc"
} // namespace mlir::nl

using namespace mlir;
using namespace mlir::bufferization;

namespace {

/// A buffer of `type`: an identity-layout allocation, cast to `type` when
/// its layout is another (strided, row-major where static).
FailureOr<Value> allocate(OpBuilder &b, Location loc, MemRefType type,
                          ValueRange dynamicSizes, unsigned alignment) {
  MemRefType identity =
      MemRefType::get(type.getShape(), type.getElementType(),
                      MemRefLayoutAttrInterface(), type.getMemorySpace());
  Value buffer = memref::AllocOp::create(b, loc, identity, dynamicSizes,
                                         b.getI64IntegerAttr(alignment));
  if (identity == type)
    return buffer;
  if (!memref::CastOp::areCastCompatible(identity, type))
    return emitError(loc) << "cannot allocate a buffer of type " << type;
  return memref::CastOp::create(b, loc, type, buffer).getResult();
}

struct BufferizePass : public mlir::nl::impl::BufferizeBase<BufferizePass> {
  void runOnOperation() override {
    OneShotBufferizationOptions options;
    options.bufferizeFunctionBoundaries = true;
    options.setFunctionBoundaryTypeConversion(
        LayoutMapOption::IdentityLayoutMap);
    options.allowReturnAllocsFromLoops = true;
    options.unknownTypeConverterFn = [](TensorType type, Attribute memorySpace,
                                        const BufferizationOptions &) {
      return getMemRefTypeWithFullyDynamicLayout(type, memorySpace);
    };
    options.allocationFn = allocate;
    BufferizationState state;
    if (failed(runOneShotModuleBufferize(getOperation(), options, state)))
      signalPassFailure();
  }
};

} // namespace
