//===- DeltaMomentum.cpp - delta_momentum and delta_momentum_matrix -------===//
//
// Delta momentum (NL-N Eq. 22, NL-A Eq. 49): the momentum is a memory
// trained by the L2 objective instead of the dot product, so that each step
// forgets the momentum in the directions it writes. Outer levels only.
//
//===----------------------------------------------------------------------===//

#include "nl/Dialect/NL/IR/NLBuilder.h"
#include "nl/Dialect/NL/IR/NLDialect.h"

using namespace mlir;
using namespace mlir::nl;

namespace {
const OptimizerHyper betaHypers[] = {
    {"beta", 0.9, OptimizerHyper::Range::unit, "the momentum's retention"}};
const StringRef momentumState[] = {"m"};
constexpr StringLiteral innerRefusal =
    "a memory level derives plain momentum only";

/// One scalar memory per parameter entry trained by 1/2 ||m g + 1||^2
/// (P = 1): m <- beta m - lr (m g + 1) g = (beta - lr g²) m - lr g;
/// W <- W + m - lr wd W.
FailureOr<SmallVector<Value>> diagonalStep(const OuterUpdate &u) {
  NLBuilder &nb = u.nb;
  Value m = u.state[0];
  Value next = nb.sub(nb.mul(u.c(u.hyper("beta")), m),
                      u.lrTimes(nb.mul(nb.add(nb.mul(m, u.g), u.c(1.0)), u.g)));
  return SmallVector<Value>{u.decoupledDecay(nb.add(u.p, next)), next};
}

/// As NL-N Eq. 22 writes it, m <- m (beta I - lr gᵀ g) - lr g: the momentum
/// of a [rows, cols] parameter is a matrix memory trained by one GD step on
/// 1/2 ||m gᵀ + I||² (P = I; its gradient is (m gᵀ + I) g), so the step
/// removes from m its component along the gradient's row space in
/// proportion to lr times the gradient's squared singular values. m gᵀ g is
/// computed as (m gᵀ) g or m (gᵀ g), whichever inner Gram matrix is smaller.
/// A parameter of another rank is one row: m <- beta m - lr (<m, g> + 1) g.
FailureOr<SmallVector<Value>> matrixStep(const OuterUpdate &u) {
  NLBuilder &nb = u.nb;
  Value m = u.state[0], g = u.g;
  auto pt = cast<RankedTensorType>(u.p.getType());
  Value mgg;
  if (pt.getRank() == 2) {
    mgg = pt.getDimSize(0) <= pt.getDimSize(1)
              ? nb.matmul(nb.matmul(m, nb.transpose(g)), g)
              : nb.matmul(m, nb.matmul(nb.transpose(g), g));
  } else {
    auto scalar = RankedTensorType::get({}, pt.getElementType());
    mgg = nb.mul(SumOp::create(nb.b, nb.loc, scalar, nb.mul(m, g)), g);
  }
  Value next =
      nb.sub(nb.mul(u.c(u.hyper("beta")), m), u.lrTimes(nb.add(mgg, g)));
  return SmallVector<Value>{u.decoupledDecay(nb.add(u.p, next)), next};
}
} // namespace

const OptimizerKindInfo mlir::nl::deltaMomentumKind = [] {
  OptimizerKindInfo k;
  k.name = "delta_momentum";
  k.rule = "m <- beta m - lr (m g + 1) g = (beta - lr g²) m - lr g (one "
           "scalar memory per entry); W <- W + m - lr wd W";
  k.source = "NL-N Eq. 22 / NL-A Eq. 49";
  k.hypers = betaHypers;
  k.state = momentumState;
  k.innerRefusal = innerRefusal;
  k.outer = diagonalStep;
  return k;
}();

const OptimizerKindInfo mlir::nl::deltaMomentumMatrixKind = [] {
  OptimizerKindInfo k;
  k.name = "delta_momentum_matrix";
  k.rule = "a matrix W: m <- m (beta I - lr gᵀ g) - lr g; any other "
           "parameter: m <- beta m - lr (<m, g> + 1) g; W <- W + m - lr wd W";
  k.source = "NL-N Eq. 22 / NL-A Eq. 49 as written";
  k.hypers = betaHypers;
  k.state = momentumState;
  k.innerRefusal = innerRefusal;
  k.outer = matrixStep;
  return k;
}();
