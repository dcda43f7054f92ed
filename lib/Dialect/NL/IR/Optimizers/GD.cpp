//===- GD.cpp - optimizer kinds gd and momentum ---------------------------===//
//
// gd: W <- W - lr (g + wd W). momentum: m <- beta m - lr (g + wd W);
// W <- W + m (NL Eqs. 17-19: momentum is gradient descent on a memory of the
// gradients with the dot objective). On a memory level both are derived by
// derive-inner-updates (chunked and per-token forms).
//
//===----------------------------------------------------------------------===//

#include "nl/Dialect/NL/IR/NLBuilder.h"
#include "nl/Dialect/NL/IR/NLDialect.h"

using namespace mlir;
using namespace mlir::nl;

namespace {
const OptimizerHyper momentumHypers[] = {
    {"beta", 0.9, OptimizerHyper::Range::unit, "the momentum's retention"}};
const StringRef momentumState[] = {"m"};

FailureOr<SmallVector<Value>> gdStep(const OuterUpdate &u) {
  return SmallVector<Value>{u.nb.sub(u.p, u.lrTimes(u.withDecay(u.g)))};
}

FailureOr<SmallVector<Value>> momentumStep(const OuterUpdate &u) {
  Value m = u.nb.sub(u.nb.mul(u.c(u.hyper("beta")), u.state[0]),
                     u.lrTimes(u.withDecay(u.g)));
  return SmallVector<Value>{u.nb.add(u.p, m), m};
}
} // namespace

const OptimizerKindInfo mlir::nl::gdKind = [] {
  OptimizerKindInfo k;
  k.name = "gd";
  k.rule = "W <- W - lr (g + wd W)";
  k.inner = InnerForm::gd;
  k.outer = gdStep;
  return k;
}();

const OptimizerKindInfo mlir::nl::momentumKind = [] {
  OptimizerKindInfo k;
  k.name = "momentum";
  k.rule = "m <- beta m - lr (g + wd W); W <- W + m";
  k.source = "NL Eqs. 17-19";
  k.hypers = momentumHypers;
  k.state = momentumState;
  k.inner = InnerForm::momentum;
  k.outer = momentumStep;
  return k;
}();
