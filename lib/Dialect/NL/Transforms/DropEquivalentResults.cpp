//===- DropEquivalentResults.cpp - results that are arguments, dropped ----===//
//
// After one-shot bufferization, a private function's memref result that is
// one of its arguments (through casts and loops that carry it unchanged) is
// dropped, and its callers use the argument's buffer. See the pass
// description in Passes.td.
//
//===----------------------------------------------------------------------===//

#include "nl/Dialect/NL/Transforms/Calls.h"
#include "nl/Dialect/NL/Transforms/Passes.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "llvm/ADT/BitVector.h"

namespace mlir::nl {
#define GEN_PASS_DEF_DROPEQUIVALENTRESULTS
#include "nl/Dialect/NL/Transforms/Passes.h.inc"
} // namespace mlir::nl

using namespace mlir;

namespace {

/// The buffer `v` is: through `memref.cast`, and through the results of
/// `scf.for` loops that yield their iteration argument unchanged in the
/// same position (to the loop's initial value).
Value root(Value v) {
  while (true) {
    if (auto cast = v.getDefiningOp<memref::CastOp>()) {
      v = cast.getSource();
      continue;
    }
    auto loop = v.getDefiningOp<scf::ForOp>();
    if (!loop)
      return v;
    unsigned i = cast<OpResult>(v).getResultNumber();
    if (root(loop.getYieldedValues()[i]) != loop.getRegionIterArgs()[i])
      return v;
    v = loop.getInitArgs()[i];
  }
}

struct DropEquivalentResultsPass
    : public mlir::nl::impl::DropEquivalentResultsBase<
          DropEquivalentResultsPass> {
  void runOnOperation() override {
    ModuleOp module = getOperation();
    for (auto fn : module.getOps<func::FuncOp>()) {
      if (!fn.isPrivate() || fn.isExternal() || !fn.getBody().hasOneBlock())
        continue;
      auto ret = cast<func::ReturnOp>(fn.getBody().front().getTerminator());
      // Result i is argument argOf[i], or -1.
      SmallVector<int64_t> argOf(ret.getNumOperands(), -1);
      llvm::BitVector dropped(ret.getNumOperands());
      for (auto [i, value] : llvm::enumerate(ret.getOperands())) {
        if (!isa<BaseMemRefType>(value.getType()))
          continue;
        auto arg = dyn_cast<BlockArgument>(root(value));
        if (arg && arg.getOwner() == &fn.getBody().front()) {
          argOf[i] = arg.getArgNumber();
          dropped.set(i);
        }
      }
      if (dropped.none())
        continue;
      std::optional<SmallVector<func::CallOp>> calls = nl::callsOf(fn, module);
      if (!calls)
        continue;

      if (failed(fn.eraseResults(dropped)))
        return signalPassFailure();
      ret->eraseOperands(dropped);

      for (func::CallOp call : *calls) {
        OpBuilder b(call);
        auto shorter =
            func::CallOp::create(b, call.getLoc(), fn, call.getOperands());
        unsigned next = 0;
        for (auto [i, result] : llvm::enumerate(call.getResults())) {
          if (argOf[i] < 0) {
            result.replaceAllUsesWith(shorter.getResult(next++));
            continue;
          }
          Value buffer = call.getOperand(argOf[i]);
          if (buffer.getType() != result.getType())
            buffer = memref::CastOp::create(b, call.getLoc(), result.getType(),
                                            buffer);
          result.replaceAllUsesWith(buffer);
        }
        call.erase();
      }
      numDropped += dropped.count();
    }
  }
};

} // namespace
