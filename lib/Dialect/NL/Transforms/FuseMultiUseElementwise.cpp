//===- FuseMultiUseElementwise.cpp - fuse producers with several uses -----===//
//
// The upstream elementwise-fusion patterns, applied to producers with
// several uses (the fused op yields the producer's result for the others),
// so that an optimizer step that returns its new state and also reads it is
// one loop per parameter. See the pass description in Passes.td.
//
//===----------------------------------------------------------------------===//

#include "nl/Dialect/NL/Transforms/Passes.h"

#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Linalg/Transforms/Transforms.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

namespace mlir::nl {
#define GEN_PASS_DEF_FUSEMULTIUSEELEMENTWISE
#include "nl/Dialect/NL/Transforms/Passes.h.inc"
} // namespace mlir::nl

using namespace mlir;

namespace {

bool allParallel(linalg::GenericOp op) {
  return op.getNumParallelLoops() == op.getNumLoops();
}

/// Whether fusing the producer of `operand` into its owner computes nothing
/// twice and keeps every use dominated (the conditions in Passes.td).
bool fusable(OpOperand *operand) {
  auto producer = operand->get().getDefiningOp<linalg::GenericOp>();
  auto consumer = dyn_cast<linalg::GenericOp>(operand->getOwner());
  if (!producer || !consumer || !allParallel(producer) ||
      !allParallel(consumer) || producer->getBlock() != consumer->getBlock())
    return false;
  if (!consumer.getMatchingIndexingMap(operand).isPermutation())
    return false;
  // The fused op keeps the consumer's other operands: one that the producer
  // defines too would become a use of the fused op's own result.
  for (OpOperand &other : consumer->getOpOperands())
    if (&other != operand && other.get().getDefiningOp() == producer)
      return false;
  for (Operation *user : producer->getUsers())
    if (user != consumer && (user->getBlock() != consumer->getBlock() ||
                             !consumer->isBeforeInBlock(user)))
      return false;
  return true;
}

/// Fuses the producer of one operand of a linalg.generic into it. Unlike
/// upstream's pattern, which keeps the producer for its other uses (so the
/// fused op computes it a second time), the producer's other uses read the
/// fused op's copy of its result and the producer goes.
struct FuseProducerWithSeveralUses : OpRewritePattern<linalg::GenericOp> {
  FuseProducerWithSeveralUses(MLIRContext *ctx, llvm::Statistic &fused)
      : OpRewritePattern(ctx), fused(fused) {}

  LogicalResult matchAndRewrite(linalg::GenericOp consumer,
                                PatternRewriter &rewriter) const override {
    for (OpOperand &operand : consumer->getOpOperands()) {
      if (!fusable(&operand) || !linalg::areElementwiseOpsFusable(&operand))
        continue;
      Operation *producer = operand.get().getDefiningOp();
      bool severalUses = !operand.get().hasOneUse();
      FailureOr<linalg::ElementwiseOpFusionResult> result =
          linalg::fuseElementwiseOps(rewriter, &operand);
      if (failed(result))
        continue;
      for (auto [original, replacement] : result->replacements)
        rewriter.replaceAllUsesWith(original, replacement);
      rewriter.eraseOp(consumer);
      if (producer->use_empty())
        rewriter.eraseOp(producer);
      if (severalUses)
        ++fused;
      return success();
    }
    return failure();
  }

  llvm::Statistic &fused;
};

struct FuseMultiUseElementwise
    : public mlir::nl::impl::FuseMultiUseElementwiseBase<
          FuseMultiUseElementwise> {
  void runOnOperation() override {
    RewritePatternSet patterns(&getContext());
    patterns.add<FuseProducerWithSeveralUses>(&getContext(), numFused);
    if (failed(applyPatternsGreedily(getOperation(), std::move(patterns))))
      return signalPassFailure();
  }
};

} // namespace
