//===- DGD.cpp - optimizer kind dgd ---------------------------------------===//
//
// Delta gradient descent (NL-A Eqs. 56-57): a memory's step is
// preconditioned by its input, W <- W (alpha I - lr x xᵀ) - lr grad, with
// optional momentum (beta). Derived for memory levels only
// (derive-inner-updates, chunked in WY form); an outer level refuses it.
//
//===----------------------------------------------------------------------===//

#include "nl/Dialect/NL/IR/NLDialect.h"

using namespace mlir;
using namespace mlir::nl;

namespace {
const OptimizerHyper dgdHypers[] = {
    {"beta", 0.0, OptimizerHyper::Range::unit,
     "the momentum's retention (0: no momentum)"}};
} // namespace

const OptimizerKindInfo mlir::nl::dgdKind = [] {
  OptimizerKindInfo k;
  k.name = "dgd";
  k.rule = "W <- W (alpha I - lr x xᵀ) - lr grad (a memory level)";
  k.source = "NL-A Eqs. 56-57";
  k.hypers = dgdHypers;
  k.inner = InnerForm::dgd;
  return k;
}();
