//===- ApproximateMath.cpp - vectorizable tanh and exp --------------------===//
//
// See the pass description in Passes.td.
//
//===----------------------------------------------------------------------===//

#include "nl/Dialect/NL/Transforms/Passes.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/Math/Transforms/Passes.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

namespace mlir::nl {
#define GEN_PASS_DEF_APPROXIMATEMATH
#include "nl/Dialect/NL/Transforms/Passes.h.inc"
} // namespace mlir::nl

using namespace mlir;

namespace {

struct ApproximateMathPass
    : public mlir::nl::impl::ApproximateMathBase<ApproximateMathPass> {
  void runOnOperation() override {
    RewritePatternSet patterns(&getContext());
    populateMathPolynomialApproximationPatterns(patterns, [](StringRef name) {
      name.consume_front("math.");
      return name == "tanh" || name == "exp";
    });
    if (failed(applyPatternsGreedily(getOperation(), std::move(patterns))))
      signalPassFailure();
  }
};

} // namespace
