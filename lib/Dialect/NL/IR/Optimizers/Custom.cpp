//===- Custom.cpp - optimizer kind custom (a momentum memory) -------------===//
//
// Momentum as an associative memory (NL §2.3, Eqs. 17-19): an optimizer
// defined in .nl without `as KIND`. Its context flow is the gradient g, its
// memory m one scalar per entry (`matrix(1 -> 1)`), read at the key g
// against the value -1: M(k) = m g, so that the dot objective -<M(k), v> is
// <m, g> (momentum), l2 ||m g + 1||^2 delta momentum (NL-N Eq. 22, P = 1),
// and any other objective, built in or written, per entry. One step of
// gradient descent on it, the inner gradient by reverse mode, with
// retention alpha: m <- alpha m - lr dL/dm; the parameter moves by the
// memory, W <- W + m - lr wd W. Outer levels only.
//
//===----------------------------------------------------------------------===//

#include "nl/Dialect/NL/IR/NLBuilder.h"
#include "nl/Dialect/NL/IR/NLDialect.h"

using namespace mlir;
using namespace mlir::nl;

namespace {
const OptimizerHyper customHypers[] = {
    {"beta", 0.9, OptimizerHyper::Range::unit,
     "not taken (a build error): the momentum forgets by its retention"}};
const StringRef customState[] = {"m"};

LogicalResult verifyCustom(OptimizerOp op) {
  if (op.getBody().front().getOps<ObjectiveOp>().empty())
    return op.emitOpError() << "custom optimizer needs an nl.objective in its "
                               "body (the inner objective of its momentum "
                               "memory)";
  return success();
}

/// The body's form: a momentum memory `matrix(1 -> 1)`, one objective
/// (built-in or written; its region is checked by checkInnerObjective) and
/// optional `decay` retention.
std::string unsupportedCustom(OptimizerOp op) {
  MemoryOp mem = soleOp<MemoryOp>(op);
  if (!mem)
    return "a custom outer optimizer needs exactly one memory (its "
           "momentum)";
  Block *body = &op.getBody().front();
  MemoryType t = mem.getMemoryType();
  if (t.getKind() != MemoryKind::matrix || t.getIn() != 1 || t.getOut() != 1 ||
      t.getHeads() != 1)
    return "a custom outer optimizer's momentum must be matrix(1 -> 1, "
           "heads = 1) (one scalar memory per parameter entry)";
  if (!body->getOps<ParamOp>().empty())
    return "a custom outer optimizer's body holds its memory, objective and "
           "retention; a 'param' there would be ignored";
  if (op.getHyperIfSet("beta"))
    return "a custom outer optimizer takes no 'beta': its momentum's "
           "forgetting is its retention (retention decay(alpha = ...))";
  if (!soleOp<ObjectiveOp>(op))
    return "a custom outer optimizer needs exactly one objective (its "
           "momentum's inner objective)";
  for (RetentionOp r : body->getOps<RetentionOp>())
    if (r.getKind() != RetentionKind::decay)
      return "a custom outer optimizer takes decay retention only";
  return "";
}

FailureOr<SmallVector<Value>> customStep(const OuterUpdate &u) {
  NLBuilder &nb = u.nb;
  OptimizerOp opt = u.opt;
  Block &body = opt.getBody().front();
  double alpha = 1.0;
  for (RetentionOp r : body.getOps<RetentionOp>())
    alpha = r.getAlpha() ? r.getAlpha()->convertToDouble() : 1.0;
  Value m = u.state[0];
  int64_t rank = cast<RankedTensorType>(u.p.getType()).getRank();
  Value key = nb.insertUnitDims(u.g, rank, 1); // [shape..., 1]
  Value pred = nb.insertUnitDims(nb.mul(m, u.g), rank, 1);
  Value target = nb.bcast(u.c(-1.0), pred.getType());
  Value inner = u.innerObjective(soleOp<ObjectiveOp>(u.opt), pred, target, key,
                                 /*lead=*/rank);
  FailureOr<SmallVector<Value>> dm = u.gradients(inner, {m});
  if (failed(dm))
    return failure();
  Value next = nb.sub(nb.mul(u.c(alpha), m), u.lrTimes((*dm)[0]));
  return SmallVector<Value>{u.decoupledDecay(nb.add(u.p, next)), next};
}
} // namespace

const OptimizerKindInfo mlir::nl::customKind = [] {
  OptimizerKindInfo k;
  k.name = "custom";
  k.rule = "the body's objective on the gradient stream: m <- alpha m - lr "
           "dL/dm (by reverse mode), W <- W + m - lr wd W";
  k.source = "NL §2.3, Eqs. 17-19; NL-N Eq. 22";
  k.hypers = customHypers;
  k.state = customState;
  k.innerRefusal = "a momentum memory is an outer optimizer's state";
  k.body = "its momentum memory matrix(1 -> 1), one objective and decay "
           "retention";
  k.outer = customStep;
  k.verify = verifyCustom;
  k.unsupportedOuter = unsupportedCustom;
  return k;
}();
