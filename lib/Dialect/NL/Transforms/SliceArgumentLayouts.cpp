//===- SliceArgumentLayouts.cpp - slices passed to calls without copies ---===//
//
// A private function's read-only tensor argument that some call passes as
// a slice gets a strided buffer layout (bufferization.buffer_layout), so
// that one-shot bufferization casts the slice's buffer instead of copying
// it. See the pass description in Passes.td.
//
//===----------------------------------------------------------------------===//

#include "nl/Dialect/NL/Transforms/Calls.h"
#include "nl/Dialect/NL/Transforms/Passes.h"

#include "mlir/Dialect/Bufferization/IR/Bufferization.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/IR/SymbolTable.h"
#include "llvm/ADT/DenseMap.h"
#include "llvm/ADT/DenseSet.h"

namespace mlir::nl {
#define GEN_PASS_DEF_SLICEARGUMENTLAYOUTS
#include "nl/Dialect/NL/Transforms/Passes.h.inc"
} // namespace mlir::nl

using namespace mlir;

namespace {

/// `strided<[s...], offset: ?>` for `type`: its row-major strides, dynamic
/// for its unit dimensions (a slice's stride there is whatever its source's
/// was), and a dynamic offset.
StridedLayoutAttr sliceLayout(RankedTensorType type) {
  ArrayRef<int64_t> shape = type.getShape();
  SmallVector<int64_t> strides(shape.size());
  int64_t stride = 1;
  for (int64_t d = shape.size() - 1; d >= 0; --d) {
    strides[d] = shape[d] == 1 ? ShapedType::kDynamic : stride;
    stride *= shape[d];
  }
  return StridedLayoutAttr::get(type.getContext(), ShapedType::kDynamic,
                                strides);
}

struct Analysis {
  explicit Analysis(ModuleOp module) : module(module), symbols(module) {}

  ModuleOp module;
  SymbolTable symbols;
  /// The private functions with a body whose every use is a call, and those
  /// calls.
  llvm::DenseMap<func::FuncOp, SmallVector<func::CallOp>> calls;
  /// (function, argument) -> only read; absent while being decided.
  llvm::DenseMap<std::pair<Operation *, unsigned>, bool> readOnly;
  /// (function, argument) pairs given a layout.
  llvm::DenseSet<std::pair<Operation *, unsigned>> annotated;

  func::FuncOp callee(func::CallOp call) {
    auto fn = symbols.lookup<func::FuncOp>(call.getCallee());
    return fn && calls.count(fn) ? fn : func::FuncOp();
  }

  /// Every use of `v` reads it and nothing writes it in place.
  bool onlyRead(Value v) {
    for (OpOperand &use : v.getUses()) {
      Operation *user = use.getOwner();
      if (isa<tensor::ExtractSliceOp, tensor::CollapseShapeOp,
              tensor::ExpandShapeOp, tensor::CastOp>(user)) {
        if (!onlyRead(user->getResult(0)))
          return false;
        continue;
      }
      if (isa<tensor::ExtractOp, tensor::DimOp, vector::TransferReadOp>(user))
        continue;
      if (auto linalgOp = dyn_cast<linalg::LinalgOp>(user)) {
        if (linalgOp.isDpsInput(&use))
          continue;
        return false;
      }
      if (auto call = dyn_cast<func::CallOp>(user)) {
        func::FuncOp fn = callee(call);
        if (fn && argumentOnlyRead(fn, use.getOperandNumber()))
          continue;
        return false;
      }
      return false;
    }
    return true;
  }

  /// Argument `i` of `fn` is only read (false while it is being decided:
  /// a recursive call is not followed).
  bool argumentOnlyRead(func::FuncOp fn, unsigned i) {
    auto key = std::make_pair(fn.getOperation(), i);
    auto it = readOnly.find(key);
    if (it != readOnly.end())
      return it->second;
    readOnly[key] = false;
    bool result = onlyRead(fn.getArgument(i));
    readOnly[key] = result;
    return result;
  }

  /// `v` is a slice: an extract_slice, a reshape or cast of a slice, or an
  /// argument given a layout.
  bool isSlice(Value v) {
    while (true) {
      if (auto arg = dyn_cast<BlockArgument>(v)) {
        auto fn = dyn_cast<func::FuncOp>(arg.getOwner()->getParentOp());
        return fn && arg.getOwner() == &fn.getBody().front() &&
               annotated.contains({fn.getOperation(), arg.getArgNumber()});
      }
      Operation *def = v.getDefiningOp();
      if (isa<tensor::ExtractSliceOp>(def))
        return true;
      if (!isa<tensor::CollapseShapeOp, tensor::ExpandShapeOp, tensor::CastOp>(
              def))
        return false;
      v = def->getOperand(0);
    }
  }
};

struct SliceArgumentLayoutsPass
    : public mlir::nl::impl::SliceArgumentLayoutsBase<
          SliceArgumentLayoutsPass> {
  void runOnOperation() override {
    Analysis a(getOperation());
    SmallVector<func::FuncOp> functions;
    for (auto fn : a.module.getOps<func::FuncOp>()) {
      if (!fn.isPrivate() || fn.isExternal())
        continue;
      if (std::optional<SmallVector<func::CallOp>> calls =
              nl::callsOf(fn, a.module)) {
        a.calls[fn] = std::move(*calls);
        functions.push_back(fn);
      }
    }
    // To a fixed point: an argument given a layout makes the slices of it
    // that its function passes on slices too.
    bool changed = true;
    while (changed) {
      changed = false;
      for (func::FuncOp fn : functions) {
        for (BlockArgument arg : fn.getArguments()) {
          unsigned i = arg.getArgNumber();
          auto type = dyn_cast<RankedTensorType>(arg.getType());
          if (!type || type.getRank() == 0 || !type.hasStaticShape() ||
              a.annotated.contains({fn.getOperation(), i}) ||
              !a.argumentOnlyRead(fn, i))
            continue;
          if (llvm::none_of(a.calls[fn], [&](func::CallOp call) {
                return a.isSlice(call.getOperand(i));
              }))
            continue;
          fn.setArgAttr(
              i, bufferization::BufferizationDialect::kBufferLayoutAttrName,
              sliceLayout(type));
          a.annotated.insert({fn.getOperation(), i});
          ++numAnnotated;
          changed = true;
        }
      }
    }
  }
};

} // namespace
