//===- OutlineCheckpoints.cpp - one function per distinct checkpoint body -===//
//
// Replaces every nl.checkpoint by a call to a private function holding its
// body; bodies that are equal op for op share one function. See the pass
// description in Passes.td.
//
//===----------------------------------------------------------------------===//

#include "nl/Dialect/NL/IR/NLDialect.h"
#include "nl/Dialect/NL/Transforms/Autodiff.h"
#include "nl/Dialect/NL/Transforms/Passes.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/SymbolTable.h"
#include "llvm/ADT/StringMap.h"

namespace mlir::nl {
#define GEN_PASS_DEF_OUTLINECHECKPOINTS
#include "nl/Dialect/NL/Transforms/Passes.h.inc"
} // namespace mlir::nl

using namespace mlir;
using namespace mlir::nl;

namespace {

struct OutlineCheckpointsPass
    : public mlir::nl::impl::OutlineCheckpointsBase<OutlineCheckpointsPass> {
  void runOnOperation() override {
    // Every function, wherever its symbol table is (the module or an
    // nl.model); the walk is over before any function is added.
    SmallVector<func::FuncOp> funcs;
    getOperation().walk([&](func::FuncOp f) { funcs.push_back(f); });
    // Per symbol table: a call can only name a function of its own table.
    DenseMap<Operation *, llvm::StringMap<func::FuncOp>> outlinedIn;
    for (func::FuncOp f : funcs) {
      // Innermost first, so that a body holding checkpoints calls them.
      SmallVector<CheckpointOp> checkpoints;
      f.walk<WalkOrder::PostOrder>(
          [&](CheckpointOp cp) { checkpoints.push_back(cp); });
      if (checkpoints.empty())
        continue;
      Operation *tableOp = SymbolTable::getNearestSymbolTable(f);
      SymbolTable table(tableOp);
      llvm::StringMap<func::FuncOp> &outlined = outlinedIn[tableOp];
      unsigned counter = 0;
      Operation *last = f; // the functions follow f in creation order
      for (CheckpointOp cp : checkpoints) {
        std::string key = checkpointBodyKey(cp);
        func::FuncOp callee = outlined.lookup(key);
        if (!callee) {
          OpBuilder b(f);
          b.setInsertionPointAfter(last);
          auto type =
              b.getFunctionType(cp.getInputs().getTypes(), cp.getResultTypes());
          callee = func::FuncOp::create(
              b, cp.getLoc(),
              (f.getSymName() + ".chunk" + Twine(counter++)).str(), type);
          callee.setPrivate();
          callee.getBody().takeBody(cp.getBody());
          Block &body = callee.getBody().front();
          auto yield = cast<YieldOp>(body.getTerminator());
          b.setInsertionPoint(yield);
          func::ReturnOp::create(b, yield.getLoc(), yield.getValues());
          yield.erase();
          table.insert(callee); // renames on a clash
          last = callee;
          outlined[key] = callee;
        }
        OpBuilder b(cp);
        auto call =
            func::CallOp::create(b, cp.getLoc(), callee, cp.getInputs());
        cp.replaceAllUsesWith(call.getResults());
        cp.erase();
      }
    }
  }
};

} // namespace
