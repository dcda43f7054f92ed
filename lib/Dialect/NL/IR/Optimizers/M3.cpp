//===- M3.cpp - optimizer kind m3 -----------------------------------------===//
//
// M3, multi-scale momentum Muon (NL-A §7.2, Algorithm 1), with the EMA
// decays of the reproductions: every step M1 = b1 M1 + (1-b1) g and
// V = b2 V + (1-b2) g²; the gradients also add up in S, and every
// slow_period steps (a step counter, kept as state) the slow momentum
// M2 = b3 M2 + (1-b3) S / period and its orthogonalization O2 = NS(M2) are
// written and S restarts. A matrix moves along sqrt(max(1, rows/cols))
// (NS(M1) + alpha O2); any other parameter along (M1^ + alpha M2) /
// (sqrt(V^) + eps) (bias-corrected). Matrices are not divided by sqrt(V) as
// Algorithm 1 prints: that makes a step of lr / |g| per entry
// (docs/optimizers.md). Outer levels only.
//
//===----------------------------------------------------------------------===//

#include "nl/Dialect/NL/IR/NLBuilder.h"
#include "nl/Dialect/NL/IR/NLDialect.h"

#include <cmath>

using namespace mlir;
using namespace mlir::nl;

namespace {
const OptimizerHyper m3Hypers[] = {
    {"beta1", 0.9, OptimizerHyper::Range::unit,
     "the fast momentum's retention"},
    {"beta2", 0.999, OptimizerHyper::Range::unit,
     "the second moment's retention"},
    {"beta3", 0.9, OptimizerHyper::Range::unit,
     "the slow momentum's retention"},
    {"alpha", 0.5, OptimizerHyper::Range::nonNegative,
     "the slow momentum's weight"},
    {"eps", 1e-8, OptimizerHyper::Range::positive,
     "added to the root of the second moment"},
    {"ns_steps", 5, OptimizerHyper::Range::count, "Newton-Schulz iterations",
     /*maxCount=*/16},
    {"slow_period", 1, OptimizerHyper::Range::count,
     "the frequency (in steps) of its slow momentum level (NL-A Alg. 1)",
     /*maxCount=*/(int64_t(1) << 31) - 1, /*required=*/true}};
const StringRef m3State[] = {"m1", "v", "m2", "o2", "gsum", "count"};

FailureOr<SmallVector<Value>> m3Step(const OuterUpdate &u) {
  NLBuilder &nb = u.nb;
  ValueRange state = u.state;
  double b1 = u.hyper("beta1"), b2 = u.hyper("beta2"), b3 = u.hyper("beta3");
  double alpha = u.hyper("alpha"), eps = u.hyper("eps");
  auto steps = int64_t(u.hyper("ns_steps"));
  double period = u.hyper("slow_period");
  auto ema = [&](Value old, double beta, Value x) {
    return nb.add(nb.mul(u.c(beta), old), nb.mul(u.c(1 - beta), x));
  };
  Value m1 = ema(state[0], b1, u.g), v = ema(state[1], b2, nb.mul(u.g, u.g));
  Value sum = nb.add(state[4], u.g), count = nb.add(state[5], u.c(1.0));
  // 1 when count reaches the period (counts are exact small integers).
  Value fire =
      nb.un<ReluOp>(nb.sub(u.c(1.0), nb.un<AbsOp>(nb.sub(count, u.c(period)))));
  auto pt = cast<RankedTensorType>(u.p.getType());
  bool matrix = pt.getRank() == 2;
  Value m2new = ema(state[2], b3, nb.mul(sum, u.c(1.0 / period)));
  Value o2new = matrix ? newtonSchulz(nb, m2new, steps) : m2new;
  auto blend = [&](Value old, Value now) {
    return nb.add(old, nb.mul(fire, nb.sub(now, old)));
  };
  Value m2 = blend(state[2], m2new), o2 = blend(state[3], o2new);
  Value dir;
  if (matrix) {
    double ratio = double(pt.getDimSize(0)) / double(pt.getDimSize(1));
    dir = nb.mul(u.c(std::sqrt(std::max(1.0, ratio))),
                 nb.add(newtonSchulz(nb, m1, steps), nb.mul(u.c(alpha), o2)));
  } else {
    Value num =
        nb.add(nb.div(m1, biasCorrection(nb, u.t, b1)), nb.mul(u.c(alpha), m2));
    Value den =
        nb.add(nb.un<SqrtOp>(nb.div(v, biasCorrection(nb, u.t, b2))), u.c(eps));
    dir = nb.div(num, den);
  }
  return SmallVector<Value>{nb.sub(u.p, u.lrTimes(u.withDecay(dir))),
                            m1,
                            v,
                            m2,
                            o2,
                            nb.sub(sum, nb.mul(fire, sum)),
                            nb.sub(count, nb.mul(fire, count))};
}
} // namespace

const OptimizerKindInfo mlir::nl::m3Kind = [] {
  OptimizerKindInfo k;
  k.name = "m3";
  k.rule = "multi-scale momentum Muon: a fast and a slow (every "
           "slow_period steps) momentum, both orthogonalized for matrices";
  k.source = "NL-A §7.2, Algorithm 1";
  k.hypers = m3Hypers;
  k.state = m3State;
  k.innerRefusal = "its slow momentum level is an outer level's";
  k.newtonSchulzPerMatrix = 2;
  k.outer = m3Step;
  return k;
}();
