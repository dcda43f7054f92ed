//===- FoldSliceCopies.cpp - copies of slices that are copied again -------===//
//
// A linalg.copy into a tensor.empty whose every use copies the value again
// (an insert_slice source, a linalg.copy input, through slices and
// reshapes) is replaced by its input. See the pass description in
// Passes.td.
//
//===----------------------------------------------------------------------===//

#include "nl/Dialect/NL/Transforms/Passes.h"

#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"

namespace mlir::nl {
#define GEN_PASS_DEF_FOLDSLICECOPIES
#include "nl/Dialect/NL/Transforms/Passes.h.inc"
} // namespace mlir::nl

using namespace mlir;

namespace {

/// Whether every use of `v` copies it: the source of a tensor.insert_slice,
/// the input of a linalg.copy, or a slice or reshape of it whose uses all
/// copy it. A value without uses does not count (nothing to fold for).
bool onlyCopied(Value v) {
  if (v.use_empty())
    return false;
  for (OpOperand &use : v.getUses()) {
    Operation *user = use.getOwner();
    if (auto insert = dyn_cast<tensor::InsertSliceOp>(user)) {
      if (use.get() != insert.getSource())
        return false;
      continue;
    }
    if (auto copy = dyn_cast<linalg::CopyOp>(user)) {
      if (!copy.isDpsInput(&use))
        return false;
      continue;
    }
    if (isa<tensor::ExtractSliceOp, tensor::ExpandShapeOp,
            tensor::CollapseShapeOp>(user) &&
        use.getOperandNumber() == 0 && onlyCopied(user->getResult(0)))
      continue;
    return false;
  }
  return true;
}

struct FoldSliceCopiesPass
    : public mlir::nl::impl::FoldSliceCopiesBase<FoldSliceCopiesPass> {
  void runOnOperation() override {
    SmallVector<linalg::CopyOp> copies;
    getOperation().walk([&](linalg::CopyOp copy) {
      if (copy.hasPureTensorSemantics() && copy->getNumResults() == 1 &&
          copy.getDpsInits()[0].getDefiningOp<tensor::EmptyOp>() &&
          copy.getInputs()[0].getType() == copy->getResult(0).getType())
        copies.push_back(copy);
    });
    for (linalg::CopyOp copy : copies) {
      if (!onlyCopied(copy->getResult(0)))
        continue;
      copy->getResult(0).replaceAllUsesWith(copy.getInputs()[0]);
      copy->erase();
      ++numFolded;
    }
  }
};

} // namespace
