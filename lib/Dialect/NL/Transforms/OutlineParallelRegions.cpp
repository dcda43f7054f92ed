//===- OutlineParallelRegions.cpp - one omp.parallel per function ---------===//
//
// See the pass description in Passes.td.
//
//===----------------------------------------------------------------------===//

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

/// A value that the outlined function recomputes instead of taking as an
/// argument: a constant (its op has no operands and no regions).
bool isClonedConstant(Value v) {
  Operation *def = v.getDefiningOp();
  return def && def->hasTrait<OpTrait::ConstantLike>() &&
         def->getNumOperands() == 0 && def->getNumRegions() == 0;
}

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
    SmallVector<Value> arguments, constants;
    for (Value v : used)
      (isClonedConstant(v) ? constants : arguments).push_back(v);

    OpBuilder builder(parent);
    builder.setInsertionPointAfter(after);
    auto type = builder.getFunctionType(ValueRange(arguments).getTypes(), {});
    auto callee = func::FuncOp::create(
        builder, op.getLoc(),
        (parent.getSymName() + ".parallel" + Twine(index)).str(), type);
    callee.setPrivate();
    symbols.insert(callee, builder.getInsertionPoint()); // renamed if taken

    Block *entry = callee.addEntryBlock();
    IRMapping mapping;
    mapping.map(arguments, entry->getArguments());
    OpBuilder body = OpBuilder::atBlockBegin(entry);
    for (Value c : constants)
      body.clone(*c.getDefiningOp(), mapping);
    body.clone(*op, mapping);
    func::ReturnOp::create(body, op.getLoc());

    builder.setInsertionPoint(op);
    func::CallOp::create(builder, op.getLoc(), callee, arguments);
    op->erase();
    ++numOutlined;
    return callee;
  }
};

} // namespace
