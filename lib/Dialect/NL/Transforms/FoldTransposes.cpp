//===- FoldTransposes.cpp - read transposed operands in place -------------===//
//
// A linalg.generic that reads the result of a linalg.transpose reads the
// transpose's input instead, through its indexing map composed with the
// permutation, so that the transposed copy is never made. See the pass
// description in Passes.td.
//
//===----------------------------------------------------------------------===//

#include "nl/Dialect/NL/Transforms/Passes.h"
#include "nl/Dialect/NL/Utils/ContractionLayout.h"
#include "nl/Dialect/NL/Utils/Kernels.h"

#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Dialect/Utils/IndexingUtils.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

namespace mlir::nl {
#define GEN_PASS_DEF_FOLDTRANSPOSES
#include "nl/Dialect/NL/Transforms/Passes.h.inc"
} // namespace mlir::nl

using namespace mlir;

namespace {

/// The map that reads the transpose's input where `map` read its result:
/// result[i] = input[perm[i]], so input dim perm[i] is read at map's
/// result i.
AffineMap throughTranspose(AffineMap map, ArrayRef<int64_t> perm) {
  SmallVector<AffineExpr> results(perm.size());
  for (auto [i, p] : llvm::enumerate(perm))
    results[p] = map.getResult(i);
  return AffineMap::get(map.getNumDims(), map.getNumSymbols(), results,
                        map.getContext());
}

/// Whether a contraction `op` that reads `source` (a tensor to be
/// bufferized row-major) through `map` in place of one of its operands
/// still has every dim group of that operand collapsible to one (extent,
/// stride) pair, so that convert-contractions-to-blas keeps it a strided GEMM.
/// A slice of another tensor is not row-major once bufferized: refused.
bool keepsGemmLayout(linalg::GenericOp op, AffineMap map, Value source) {
  if (!linalg::isaContractionOpInterface(op))
    return true;
  auto type = dyn_cast<RankedTensorType>(source.getType());
  if (!type || !type.hasStaticShape() ||
      source.getDefiningOp<tensor::ExtractSliceOp>())
    return false;
  FailureOr<linalg::ContractionDimensions> dims =
      linalg::inferContractionDims(op);
  if (failed(dims))
    return false;
  SmallVector<int64_t> strides = computeSuffixProduct(type.getShape());
  SmallVector<int64_t> ranges = op.getStaticLoopRanges();
  for (ArrayRef<unsigned> group :
       {ArrayRef<unsigned>(dims->batch), ArrayRef<unsigned>(dims->m),
        ArrayRef<unsigned>(dims->n), ArrayRef<unsigned>(dims->k)}) {
    SmallVector<unsigned> read;
    for (unsigned d : group)
      if (map.getResultPosition(getAffineDimExpr(d, map.getContext())))
        read.push_back(d);
    llvm::sort(read);
    int64_t extent;
    if (!read.empty() && !nl::collapseGroup(read, map, strides, ranges, extent))
      return false;
  }
  return true;
}

struct FoldTransposeIntoGeneric : OpRewritePattern<linalg::GenericOp> {
  FoldTransposeIntoGeneric(MLIRContext *ctx, const nl::KernelOps &kernels)
      : OpRewritePattern(ctx), kernels(kernels) {}

  LogicalResult matchAndRewrite(linalg::GenericOp op,
                                PatternRewriter &rewriter) const override {
    // The fused kernels' products keep their layouts (the register tiling
    // of nl-vectorize-contractions matches them).
    if (!op.hasPureTensorSemantics() || kernels.contains(op))
      return failure();
    SmallVector<AffineMap> maps = op.getIndexingMapsArray();
    SmallVector<std::pair<unsigned, Value>> replaced;
    for (OpOperand *operand : op.getDpsInputOperands()) {
      auto transpose = operand->get().getDefiningOp<linalg::TransposeOp>();
      if (!transpose)
        continue;
      unsigned i = operand->getOperandNumber();
      AffineMap map = throughTranspose(maps[i], transpose.getPermutation());
      if (!keepsGemmLayout(op, map, transpose.getInput()))
        continue;
      maps[i] = map;
      replaced.push_back({i, transpose.getInput()});
    }
    if (replaced.empty())
      return failure();
    rewriter.modifyOpInPlace(op, [&] {
      for (auto [i, v] : replaced)
        op->setOperand(i, v);
      op.setIndexingMapsAttr(rewriter.getAffineMapArrayAttr(maps));
    });
    return success();
  }

  const nl::KernelOps &kernels;
};

struct FoldTransposesPass
    : public mlir::nl::impl::FoldTransposesBase<FoldTransposesPass> {
  void runOnOperation() override {
    // The patterns add no call and no loop: the kernels stay the same.
    nl::KernelOps kernels(getOperation());
    RewritePatternSet patterns(&getContext());
    patterns.add<FoldTransposeIntoGeneric>(&getContext(), kernels);
    if (failed(applyPatternsGreedily(getOperation(), std::move(patterns))))
      return signalPassFailure();
  }
};

} // namespace
