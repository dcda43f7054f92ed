//===- AttentionToRuntime.cpp - attention on the runtime's kernels --------===//
//
// Rewrites the bufferized nl.attention_kernel and nl.attention_grad_kernel
// into calls of the runtime's fused flash-style kernels
// (runtime/lib/Attention.cpp), split over an scf.forall of threads. See
// the pass description in Passes.td.
//
//===----------------------------------------------------------------------===//

#include "nl/Conversion/Passes.h"
#include "nl/Dialect/NL/IR/NLDialect.h"

#include "../RuntimeCalls.h"

#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinTypes.h"

namespace mlir::nl {
#define GEN_PASS_DEF_CONVERTATTENTIONTORUNTIME
#include "nl/Conversion/Passes.h.inc"
} // namespace mlir::nl

using namespace mlir;

namespace {

struct ConvertAttentionToRuntime
    : public mlir::nl::impl::ConvertAttentionToRuntimeBase<
          ConvertAttentionToRuntime> {
  using Base::Base;

  void runOnOperation() override {
    ModuleOp module = getOperation();
    SmallVector<Operation *> found;
    module.walk([&](Operation *op) {
      if (isa<nl::AttentionKernelOp, nl::AttentionGradKernelOp>(op))
        found.push_back(op);
    });
    for (Operation *op : found)
      if (failed(rewrite(module, op)))
        return signalPassFailure();
  }

  LogicalResult rewrite(ModuleOp module, Operation *op) {
    auto memref = [](Value v) { return dyn_cast<MemRefType>(v.getType()); };
    if (!llvm::all_of(op->getOperands(),
                      [&](Value v) { return bool(memref(v)); }))
      return op->emitOpError()
             << "must be bufferized before convert-attention-to-runtime";
    bool grad = isa<nl::AttentionGradKernelOp>(op);
    MemRefType q = memref(op->getOperand(0)), v = memref(op->getOperand(2));
    Type elt = q.getElementType();
    if (!elt.isF32() && !elt.isF64())
      return op->emitOpError() << "has no runtime kernel for element type "
                               << elt << " (f32 and f64 only)";
    if (!q.hasStaticShape() || !v.hasStaticShape())
      return op->emitOpError() << "needs static shapes";
    auto window = op->getAttrOfType<IntegerAttr>("window");
    auto scale = op->getAttrOfType<FloatAttr>("scale");

    OpBuilder b(op);
    Location loc = op->getLoc();
    Type idx = b.getIndexType();
    auto cst = [&](int64_t n) -> Value {
      return arith::ConstantIndexOp::create(b, loc, n);
    };
    // B, H, T, dk, dv, the window (0: none), the scale (f64).
    SmallVector<Value> args{
        cst(q.getDimSize(0)), cst(q.getDimSize(1)),
        cst(q.getDimSize(2)), cst(q.getDimSize(3)),
        cst(v.getDimSize(3)), cst(window ? window.getInt() : 0)};
    args.push_back(arith::ConstantOp::create(
        b, loc, b.getF64FloatAttr(scale.getValueAsDouble())));
    for (Value operand : op->getOperands())
      nl::appendBuffer(b, loc, operand, args, /*strides=*/true);

    std::string name = std::string("nlrt_attention") + (grad ? "_grad" : "") +
                       (elt.isF32() ? "_f32" : "_f64");
    SmallVector<Type> types(2, idx);
    for (Value a : args)
      types.push_back(a.getType());
    FailureOr<func::FuncOp> kernel =
        nl::declareRuntimeFunction(module, name, types, {});
    if (failed(kernel))
      return failure();
    auto call = [&](OpBuilder &nb, Value part, Value parts) {
      SmallVector<Value> all{part, parts};
      all.append(args);
      func::CallOp::create(nb, loc, *kernel, all);
    };
    if (!parallel) {
      call(b, cst(0), cst(1));
    } else {
      FailureOr<func::FuncOp> partsFn = nl::declareRuntimeFunction(
          module, "nlrt_attention_parts", {idx, idx}, {idx});
      if (failed(partsFn))
        return failure();
      Value parts =
          func::CallOp::create(b, loc, *partsFn, ValueRange{args[0], args[1]})
              .getResult(0);
      auto forall = scf::ForallOp::create(
          b, loc, ArrayRef<OpFoldResult>{OpFoldResult(parts)}, ValueRange{},
          std::nullopt);
      OpBuilder nb = OpBuilder::atBlockBegin(forall.getBody());
      call(nb, forall.getInductionVar(0), parts);
    }
    op->erase();
    return success();
  }
};

} // namespace
