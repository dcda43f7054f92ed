//===- OutlineParallelRegions.cpp - one omp.parallel per function ---------===//
//
// See the pass description in Passes.td.
//
//===----------------------------------------------------------------------===//

#include "nl/Dialect/NL/Transforms/Outlining.h"
#include "nl/Dialect/NL/Transforms/Passes.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/OpenMP/OpenMPDialect.h"
#include "mlir/IR/IRMapping.h"
#include "mlir/IR/SymbolTable.h"
#include "mlir/Transforms/RegionUtils.h"

namespace mlir::nl {
#define GEN_PASS_DEF_OUTLINEPARALLELREGIONS
#include "nl/Dialect/NL/Transforms/Passes.h.inc"
} // namespace mlir::nl

using namespace mlir;

namespace {

struct OutlineParallelRegionsPass
    : public mlir::nl::impl::OutlineParallelRegionsBase<
          OutlineParallelRegionsPass> {
  void runOnOperation() override {
    ModuleOp module = getOperation();
    SymbolTable symbols(module);
    SmallVector<func::FuncOp> funcs(module.getOps<func::FuncOp>());
    for (func::FuncOp func : funcs) {
      if (func.isExternal())
        continue;
      // The parallel regions not nested in another one.
      SmallVector<omp::ParallelOp> regions;
      func.walk<WalkOrder::PreOrder>([&](omp::ParallelOp op) {
        regions.push_back(op);
        return WalkResult::skip();
      });
      // A function with a single region already is what this pass makes.
      if (regions.size() < 2)
        continue;
      Operation *after = func; // the functions in the regions' order
      for (auto [index, op] : llvm::enumerate(regions))
        after = outline(symbols, func, after, op, index);
    }
  }

  /// Moves `op` into a new function placed after `after`; returns it.
  Operation *outline(SymbolTable &symbols, func::FuncOp parent,
                     Operation *after, omp::ParallelOp op, size_t index) {
    // What the region reads from outside: the op's operands and the values
    // its regions use from above.
    llvm::SetVector<Value> used(op->operand_begin(), op->operand_end());
    getUsedValuesDefinedAbove(op->getRegions(), used);
    IRMapping mapping;
    SmallVector<Value> arguments;
    func::FuncOp callee = nl::createOutlinedFunction(
        symbols, after, op.getLoc(),
        parent.getSymName() + ".parallel" + Twine(index), used.getArrayRef(),
        mapping, arguments);
    OpBuilder body = OpBuilder::atBlockEnd(&callee.front());
    body.clone(*op, mapping);
    func::ReturnOp::create(body, op.getLoc());

    OpBuilder builder(op);
    func::CallOp::create(builder, op.getLoc(), callee, arguments);
    op->erase();
    ++numOutlined;
    return callee;
  }
};

} // namespace
