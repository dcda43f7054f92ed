//===- UpdateInPlace.cpp - scans that update their carried tensor ---------===//
//
// See the pass description in Passes.td.
//
//===----------------------------------------------------------------------===//

#include "nl/Dialect/NL/Transforms/Passes.h"

#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"

namespace mlir::nl {
#define GEN_PASS_DEF_UPDATEINPLACE
#include "nl/Dialect/NL/Transforms/Passes.h.inc"
} // namespace mlir::nl

using namespace mlir;

namespace {

bool isReshape(Operation *op) {
  return isa<tensor::CollapseShapeOp, tensor::ExpandShapeOp>(op);
}

/// The scf.for whose iteration argument `arg` is, and `arg`'s position
/// among its iteration arguments (= its init's and its yield operand's).
std::pair<scf::ForOp, unsigned> carriedBy(BlockArgument arg) {
  auto loop = cast<scf::ForOp>(arg.getOwner()->getParentOp());
  return {loop, arg.getArgNumber() - loop.getNumInductionVars()};
}

/// Follows `value` through reshapes to its source while each value on the
/// way has one use; returns the iteration argument of an scf.for it ends
/// at, else null.
BlockArgument carriedSource(Value value) {
  while (value.hasOneUse()) {
    Operation *def = value.getDefiningOp();
    if (!def) {
      auto arg = cast<BlockArgument>(value);
      auto loop = dyn_cast<scf::ForOp>(arg.getOwner()->getParentOp());
      if (loop && arg.getArgNumber() >= loop.getNumInductionVars())
        return arg;
      return {};
    }
    if (!isReshape(def))
      return {};
    value = def->getOperand(0);
  }
  return {};
}

/// True when `value` reaches, through reshapes, the yield of `arg`'s loop
/// at `arg`'s position (it may have other uses besides: they read the new
/// value within the same iteration).
bool yieldedAs(Value value, BlockArgument arg) {
  auto [loop, position] = carriedBy(arg);
  for (OpOperand &use : value.getUses()) {
    Operation *user = use.getOwner();
    if (user == loop.getBody()->getTerminator() &&
        use.getOperandNumber() == position)
      return true;
    if (isReshape(user) && yieldedAs(user->getResult(0), arg))
      return true;
  }
  return false;
}

/// True when the loop's initial value for `arg` is computed in the
/// function, not (through reshapes, slices and casts) a block argument: a
/// function argument's buffer belongs to the caller, and an entry point's
/// caller is the runtime, which one-shot bufferization's analysis of the
/// module does not see.
bool computedInit(BlockArgument arg) {
  auto [loop, position] = carriedBy(arg);
  Value value = loop.getInitArgs()[position];
  while (Operation *def = value.getDefiningOp()) {
    if (!isReshape(def) && !isa<tensor::ExtractSliceOp, tensor::CastOp>(def))
      return true;
    value = def->getOperand(0);
  }
  return false;
}

struct UpdateInPlacePass
    : public mlir::nl::impl::UpdateInPlaceBase<UpdateInPlacePass> {
  void runOnOperation() override {
    SmallVector<Operation *> empties; // inits replaced; erased when unused
    getOperation()->walk([&](linalg::GenericOp op) {
      if (!op.hasPureTensorSemantics() || op.getNumDpsInits() != 1 ||
          op.getNumLoops() != op.getNumParallelLoops())
        return;
      OpOperand &init = op.getDpsInitsMutable()[0];
      if (!init.get().getDefiningOp<tensor::EmptyOp>() ||
          op.payloadUsesValueFromOperand(&init))
        return;
      AffineMap initMap = op.getMatchingIndexingMap(&init);
      for (OpOperand *input : op.getDpsInputOperands()) {
        if (input->get().getType() != init.get().getType() ||
            op.getMatchingIndexingMap(input) != initMap)
          continue;
        BlockArgument arg = carriedSource(input->get());
        if (!arg || !computedInit(arg) || !yieldedAs(op.getResult(0), arg))
          continue;
        empties.push_back(init.get().getDefiningOp());
        init.set(input->get());
        ++numUpdated;
        return;
      }
    });
    for (Operation *empty : empties)
      if (empty->use_empty())
        empty->erase();
  }
};

} // namespace
