//===- OptimizerKinds.cpp - the table of optimizer kinds ------------------===//
//
// The list of kinds (OptimizerKinds.def) and what the kinds' files share:
// weight decay, Newton-Schulz, Adam's bias correction. Each kind is defined
// in lib/Dialect/NL/IR/Optimizers/.
//
//===----------------------------------------------------------------------===//

#include "nl/Dialect/NL/IR/OptimizerKinds.h"
#include "nl/Dialect/NL/IR/NLBuilder.h"
#include "nl/Dialect/NL/IR/NLDialect.h"

#include "llvm/Support/Format.h"
#include "llvm/Support/raw_ostream.h"

#include <cmath>

using namespace mlir;
using namespace mlir::nl;

ArrayRef<const OptimizerKindInfo *> mlir::nl::optimizerKinds() {
  static const OptimizerKindInfo *const kinds[] = {
#define NL_OPTIMIZER_KIND(ID) &ID##Kind,
#include "nl/Dialect/NL/IR/OptimizerKinds.def"
  };
  return kinds;
}

const OptimizerKindInfo *mlir::nl::lookupOptimizerKind(StringRef name) {
  for (const OptimizerKindInfo *k : optimizerKinds())
    if (k->name == name)
      return k;
  return nullptr;
}

std::string mlir::nl::optimizerKindList(
    function_ref<bool(const OptimizerKindInfo &)> pred) {
  std::string list;
  for (const OptimizerKindInfo *k : optimizerKinds())
    if (!pred || pred(*k))
      list += (list.empty() ? "" : ", ") + k->name.str();
  return list;
}

void mlir::nl::printOptimizerKinds(raw_ostream &os) {
  os << "| kind | rule | hyperparameters (default, range) | state per "
        "parameter | on a memory level | source |\n"
        "| --- | --- | --- | --- | --- | --- |\n";
  auto range = [](const OptimizerHyper &h) -> std::string {
    switch (h.range) {
    case OptimizerHyper::Range::unit:
      return "[0, 1)";
    case OptimizerHyper::Range::positive:
      return "> 0";
    case OptimizerHyper::Range::nonNegative:
      return ">= 0";
    case OptimizerHyper::Range::count:
      return "1 to " + std::to_string(h.maxCount);
    }
    return "";
  };
  for (const OptimizerKindInfo *k : optimizerKinds()) {
    std::string hypers;
    for (const OptimizerHyper &h : k->hypers) {
      std::string d = "required";
      if (!h.required)
        llvm::raw_string_ostream(d = "") << llvm::format("%g", h.byDefault);
      hypers += (hypers.empty() ? "" : "; ") + ("`" + h.name + "` (").str() +
                d + ", " + range(h) + "): " + h.meaning.str();
    }
    std::string state;
    for (StringRef s : k->state)
      state += (state.empty() ? "" : ", ") + s.str();
    std::string inner;
    switch (k->inner) {
    case InnerForm::none:
      inner = "no: " + k->innerRefusal.str();
      break;
    case InnerForm::gd:
      inner = "chunked GD";
      break;
    case InnerForm::momentum:
      inner = "chunked momentum";
      break;
    case InnerForm::adam:
      inner = "per-token Adam (scans)";
      break;
    case InnerForm::muon:
      inner = "per-token Muon (scans)";
      break;
    case InnerForm::dgd:
      inner = "DGD (chunked WY form)";
      break;
    }
    os << "| `" << k->name << "` | " << k->rule
       << (k->body.empty() ? "" : " (body: " + k->body.str() + ")") << " | "
       << hypers << " | " << state << " | " << inner << " | " << k->source
       << " |\n";
  }
  os << "\nEvery kind also takes `lr` (required, > 0) and `weight_decay` "
        "(0, >= 0), and the stabilizers `clip_norm` (a level written every N "
        "steps) and `clamp_norm` (a memory level).\n";
}

bool mlir::nl::isCommonHyper(StringRef name) {
  return name == "lr" || name == "weight_decay" || name == "clip_norm" ||
         name == "clamp_norm";
}

const OptimizerHyper *OptimizerKindInfo::findHyper(StringRef hyper) const {
  for (const OptimizerHyper &h : hypers)
    if (h.name == hyper)
      return &h;
  return nullptr;
}

double OuterUpdate::hyper(StringRef name) const {
  return OptimizerOp(opt).getHyper(name);
}

Value OuterUpdate::c(double v) const { return nb.c(p, v); }

Value OuterUpdate::lrTimes(Value x) const {
  return nb.mul(lrScale, nb.mul(c(hyper("lr")), x));
}

Value OuterUpdate::withDecay(Value x) const {
  double wd = hyper("weight_decay");
  return wd != 0.0 ? nb.add(x, nb.mul(c(wd), p)) : x;
}

Value OuterUpdate::decoupledDecay(Value moved) const {
  double wd = hyper("weight_decay");
  return wd != 0.0 ? nb.sub(moved, lrTimes(nb.mul(c(wd), p))) : moved;
}

/// X = G / (||G||_F + 1e-7), then `steps` quintic iterations
/// X <- a X + (b A + c A²) X with A = X Xᵀ and (a, b, c) = (3.4445,
/// -4.7750, 2.0315) (NL Eq. 24; NL-A Eqs. 42-44 read it as the inner problem
/// min ||OᵀO - I||²); a tall G goes through its transpose (A is then the
/// smaller Gram matrix).
Value mlir::nl::newtonSchulz(NLBuilder &nb, Value g, int64_t steps) {
  auto t = cast<RankedTensorType>(g.getType());
  int64_t rank = t.getRank();
  bool tall = t.getDimSize(rank - 2) > t.getDimSize(rank - 1);
  Value x = tall ? nb.transpose(g) : g;
  // ||X||_F per matrix: a scalar, or [..., 1, 1] for a batch of matrices.
  SmallVector<int64_t> normShape(t.getShape());
  normShape[rank - 2] = normShape[rank - 1] = 1;
  auto normType = RankedTensorType::get(rank == 2 ? ArrayRef<int64_t>{}
                                                  : ArrayRef(normShape),
                                        t.getElementType());
  Value sq = rank == 2 ? SumOp::create(nb.b, nb.loc, normType, nb.mul(x, x))
                       : nb.sumTo(nb.mul(x, x), normType);
  Value norm = nb.un<SqrtOp>(sq);
  x = nb.div(x, nb.add(norm, nb.c(x, 1e-7)));
  for (int64_t i = 0; i < steps; ++i) {
    Value a = nb.matmul(x, nb.transpose(x));
    Value poly = nb.add(nb.mul(nb.c(a, -4.7750), a),
                        nb.mul(nb.c(a, 2.0315), nb.matmul(a, a)));
    x = nb.add(nb.mul(nb.c(x, 3.4445), x), nb.matmul(poly, x));
  }
  return tall ? nb.transpose(x) : x;
}

/// 1 - beta^t = 1 - exp(t ln beta).
Value mlir::nl::biasCorrection(NLBuilder &nb, Value t, double beta) {
  Value pw = nb.un<ExpOp>(nb.mul(t, nb.c(t, std::log(beta))));
  return nb.sub(nb.c(t, 1.0), pw);
}
