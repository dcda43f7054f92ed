//===- Adam.cpp - optimizer kinds adam and adamw --------------------------===//
//
// m <- b1 m + (1 - b1) g, v <- b2 v + (1 - b2) g², bias-corrected by
// 1 - b^t; W <- W - lr (m̂ / (sqrt(v̂) + eps)); adam adds wd W to g, adamw
// decays W by lr wd (decoupled) (NL-A App. B). On a memory level: per-token
// moments (derive-inner-updates' scans).
//
//===----------------------------------------------------------------------===//

#include "nl/Dialect/NL/IR/NLBuilder.h"
#include "nl/Dialect/NL/IR/NLDialect.h"

using namespace mlir;
using namespace mlir::nl;

namespace {
const OptimizerHyper adamHypers[] = {
    {"beta1", 0.9, OptimizerHyper::Range::unit, "the first moment's retention"},
    {"beta2", 0.999, OptimizerHyper::Range::unit,
     "the second moment's retention"},
    {"eps", 1e-8, OptimizerHyper::Range::positive,
     "added to the root of the second moment"}};
const StringRef adamState[] = {"m", "v"};

FailureOr<SmallVector<Value>> adamStep(const OuterUpdate &u, bool decoupled) {
  NLBuilder &nb = u.nb;
  double b1 = u.hyper("beta1"), b2 = u.hyper("beta2"), eps = u.hyper("eps");
  Value g = decoupled ? u.g : u.withDecay(u.g);
  Value m = nb.add(nb.mul(u.c(b1), u.state[0]), nb.mul(u.c(1 - b1), g));
  Value v =
      nb.add(nb.mul(u.c(b2), u.state[1]), nb.mul(u.c(1 - b2), nb.mul(g, g)));
  Value mh = nb.div(m, biasCorrection(nb, u.t, b1));
  Value vh = nb.div(v, biasCorrection(nb, u.t, b2));
  Value upd = nb.div(mh, nb.add(nb.un<SqrtOp>(vh), u.c(eps)));
  if (decoupled)
    upd = u.withDecay(upd);
  return SmallVector<Value>{nb.sub(u.p, u.lrTimes(upd)), m, v};
}

OptimizerKindInfo adamLike(StringRef name, StringRef rule, bool decoupled) {
  OptimizerKindInfo k;
  k.name = name;
  k.rule = rule;
  k.source = "NL-A App. B";
  k.hypers = adamHypers;
  k.state = adamState;
  k.inner = InnerForm::adam;
  k.outer = decoupled
                ? +[](const OuterUpdate &u) { return adamStep(u, true); }
                : +[](const OuterUpdate &u) { return adamStep(u, false); };
  return k;
}
} // namespace

const OptimizerKindInfo mlir::nl::adamKind =
    adamLike("adam", "Adam, weight decay added to g", /*decoupled=*/false);
const OptimizerKindInfo mlir::nl::adamwKind =
    adamLike("adamw", "Adam with decoupled weight decay (W -= lr wd W)", true);
