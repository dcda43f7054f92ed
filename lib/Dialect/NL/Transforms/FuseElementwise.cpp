//===- FuseElementwise.cpp - elementwise fusion that keeps products pure --===//
//
// Upstream's elementwise fusion (the patterns of linalg-fuse-elementwise-ops)
// with a control function that never fuses a producer into a reduction
// through a broadcast, so that matrix products stay plain multiply-adds for
// nl-vectorize-contractions and convert-contractions-to-blas. See the pass
// description in Passes.td.
//
//===----------------------------------------------------------------------===//

#include "nl/Dialect/NL/Transforms/Passes.h"

#include "mlir/Dialect/Affine/IR/AffineOps.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Linalg/Transforms/Transforms.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Dialect/Tensor/Transforms/Transforms.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

namespace mlir::nl {
#define GEN_PASS_DEF_FUSEELEMENTWISE
#include "nl/Dialect/NL/Transforms/Passes.h.inc"
} // namespace mlir::nl

using namespace mlir;

namespace {

/// Whether fusing the producer of `operand` into its owner would compute
/// the producer's payload inside a reduction once per point of loops the
/// operand does not index (a broadcast into a reduction: the activation of
/// a matrix product's input, the normalization before a projection).
bool broadcastIntoReduction(OpOperand *operand) {
  auto consumer = dyn_cast<linalg::LinalgOp>(operand->getOwner());
  if (!consumer || consumer.getNumReductionLoops() == 0)
    return false;
  return !consumer.getMatchingIndexingMap(operand).isPermutation();
}

struct FuseElementwise
    : public mlir::nl::impl::FuseElementwiseBase<FuseElementwise> {
  void runOnOperation() override {
    MLIRContext *ctx = &getContext();
    // Upstream's rule (a producer with one use) and ours.
    linalg::ControlFusionFn control = [this](OpOperand *operand) {
      Operation *producer = operand->get().getDefiningOp();
      if (!producer || !producer->hasOneUse())
        return false;
      if (isa<linalg::LinalgOp>(producer) && broadcastIntoReduction(operand)) {
        ++numKeptApart;
        return false;
      }
      return true;
    };
    // The pattern set of upstream's linalg-fuse-elementwise-ops.
    RewritePatternSet patterns(ctx);
    linalg::populateElementwiseOpsFusionPatterns(patterns, control);
    linalg::populateFoldReshapeOpsByExpansionPatterns(patterns, control);
    tensor::populateBubbleUpExpandShapePatterns(patterns);
    affine::AffineApplyOp::getCanonicalizationPatterns(patterns, ctx);
    linalg::GenericOp::getCanonicalizationPatterns(patterns, ctx);
    tensor::ExpandShapeOp::getCanonicalizationPatterns(patterns, ctx);
    tensor::CollapseShapeOp::getCanonicalizationPatterns(patterns, ctx);
    ctx->getLoadedDialect<linalg::LinalgDialect>()->getCanonicalizationPatterns(
        patterns);
    linalg::populateConstantFoldLinalgOperations(patterns, control);
    if (failed(applyPatternsGreedily(
            getOperation(), std::move(patterns),
            GreedyRewriteConfig().setUseTopDownTraversal())))
      return signalPassFailure();
  }
};

} // namespace
