//===- Muon.cpp - optimizer kind muon -------------------------------------===//
//
// m <- beta m + g; a matrix steps along its Newton-Schulz orthogonalization
// scaled by sqrt(max(1, rows/cols)), any other parameter along m; decoupled
// weight decay (NL Eq. 24: Muon's output map as a memory). On a memory
// level (Atlas's Muon memory, Behrouz et al. 2025): per token t,
// S_t = beta S_{t-1} + g_t and the memory is written by
// -lr_t sqrt(max(1, rows/cols)) NS(S_t) per linear map (scans).
//
//===----------------------------------------------------------------------===//

#include "nl/Dialect/NL/IR/NLBuilder.h"
#include "nl/Dialect/NL/IR/NLDialect.h"

#include <cmath>

using namespace mlir;
using namespace mlir::nl;

namespace {
const OptimizerHyper muonHypers[] = {
    {"beta", 0.95, OptimizerHyper::Range::unit, "the momentum's retention"},
    {"ns_steps", 5, OptimizerHyper::Range::count, "Newton-Schulz iterations",
     /*maxCount=*/16}};
const StringRef muonState[] = {"m"};

FailureOr<SmallVector<Value>> muonStep(const OuterUpdate &u) {
  NLBuilder &nb = u.nb;
  Value m = nb.add(nb.mul(u.c(u.hyper("beta")), u.state[0]), u.g);
  Value dir = m;
  auto pt = cast<RankedTensorType>(u.p.getType());
  if (pt.getRank() == 2) {
    double ratio = double(pt.getDimSize(0)) / double(pt.getDimSize(1));
    dir = nb.mul(u.c(std::sqrt(std::max(1.0, ratio))),
                 newtonSchulz(nb, m, int64_t(u.hyper("ns_steps"))));
  }
  return SmallVector<Value>{nb.sub(u.p, u.lrTimes(u.withDecay(dir))), m};
}
} // namespace

const OptimizerKindInfo mlir::nl::muonKind = [] {
  OptimizerKindInfo k;
  k.name = "muon";
  k.rule = "m <- beta m + g; a matrix: W <- W - lr (sqrt(max(1, rows/cols)) "
           "NS(m) + wd W), any other parameter: W <- W - lr (m + wd W)";
  k.source = "NL Eq. 24";
  k.hypers = muonHypers;
  k.state = muonState;
  k.inner = InnerForm::muon;
  k.newtonSchulzPerMatrix = 1;
  k.outer = muonStep;
  return k;
}();
