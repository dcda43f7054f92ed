//===- DMGD.cpp - optimizer kind dmgd -------------------------------------===//
//
// Deep momentum GD (NL-N Eq. 23): W <- W + m_{i+1}(u_i), u_i = g, where the
// momentum is a memory over the gradient stream,
//   m(u)_j = b_j + sum_k w_out_k act(w_in_k x_j),  x = u / (rms(u) + 1e-12),
// b (state "m") one scalar per entry, as momentum's, and an MLP 1 -> H -> 1
// over each (normalized) gradient entry, shared by the entries of the
// parameter (state "w_in" holds w_in - w_in0: the first layer starts at the
// fixed spread w_in0_k = 4 (k + 1/2) / H - 2, the rest at 0). Its inner
// objective is <m(u), u>, momentum's <m, g> (NL Eqs. 17-19) with the MLP's
// output in place of m: the first-order change of the outer loss under the
// step. One step of GD on it, its gradient by reverse mode, with retention
// beta: b <- beta b - lr u (momentum exactly), the shared weights
// w <- beta w - (lr / N) d<m(u), u>/dw (their gradient sums over the
// parameter's N entries). docs/optimizers.md. Outer levels only.
//
//===----------------------------------------------------------------------===//

#include "nl/Dialect/NL/IR/NLBuilder.h"
#include "nl/Dialect/NL/IR/NLDialect.h"

using namespace mlir;
using namespace mlir::nl;

namespace {
const OptimizerHyper dmgdHypers[] = {
    {"beta", 0.9, OptimizerHyper::Range::unit, "the momentum's retention"}};
const StringRef dmgdState[] = {"m", "w_in", "w_out"};

LogicalResult verifyDmgd(OptimizerOp op) {
  bool deep =
      llvm::any_of(op.getBody().front().getOps<MemoryOp>(), [](MemoryOp m) {
        return m.getMemoryType().getKind() == MemoryKind::mlp;
      });
  if (!deep)
    return op.emitOpError() << "dmgd needs its deep momentum: an nl.memory of "
                               "kind mlp in its body (NL-N Eq. 23)";
  return success();
}

std::string unsupportedDmgd(OptimizerOp op) {
  MemoryOp mem = soleOp<MemoryOp>(op);
  MemoryType t = mem ? mem.getMemoryType() : MemoryType();
  if (!t || t.getKind() != MemoryKind::mlp || t.getIn() != 1 ||
      t.getOut() != 1 || t.getHeads() != 1 || !t.getHidden())
    return "dmgd's deep momentum must be one memory mlp(1 -> 1, hidden = "
           "H, heads = 1) (an MLP over each gradient entry)";
  return "";
}

/// The shared MLP weights are [H, 1, ..., 1] (one more dim than the
/// parameter, so that they broadcast against it); b is the parameter's.
RankedTensorType dmgdStateType(OptimizerOp op, RankedTensorType pt,
                               StringRef name) {
  if (name == "m")
    return pt;
  SmallVector<int64_t> shape(pt.getRank() + 1, 1);
  shape[0] = int64_t(soleOp<MemoryOp>(op).getMemoryType().getHidden());
  return RankedTensorType::get(shape, pt.getElementType());
}

FailureOr<SmallVector<Value>> dmgdStep(const OuterUpdate &u) {
  NLBuilder &nb = u.nb;
  double beta = u.hyper("beta");
  MemoryType mt = soleOp<MemoryOp>(u.opt).getMemoryType();
  auto hidden = int64_t(mt.getHidden());
  auto pt = cast<RankedTensorType>(u.p.getType());
  auto wt = cast<RankedTensorType>(u.state[1].getType());
  SmallVector<float> spread;
  for (int64_t k = 0; k < hidden; ++k)
    spread.push_back(float(4.0 * (double(k) + 0.5) / double(hidden) - 2.0));
  Value w0 = arith::ConstantOp::create(
      nb.b, nb.loc, wt, DenseElementsAttr::get(wt, ArrayRef(spread)));
  auto scalar = RankedTensorType::get({}, pt.getElementType());
  auto n = double(pt.getNumElements());
  Value rms = nb.un<SqrtOp>(nb.mul(
      SumOp::create(nb.b, nb.loc, scalar, nb.mul(u.g, u.g)), u.c(1.0 / n)));
  Value x = nb.div(u.g, nb.add(rms, u.c(1e-12)));
  auto read = [&](Value b, Value wIn, Value wOut) {
    Value h = nb.act(mt.getAct(), nb.mul(nb.add(w0, wIn), x));
    return nb.add(b, nb.sumTo(nb.mul(wOut, h), pt));
  };
  Value inner =
      SumOp::create(nb.b, nb.loc, scalar,
                    nb.mul(read(u.state[0], u.state[1], u.state[2]), u.g));
  FailureOr<SmallVector<Value>> d =
      u.gradients(inner, {u.state[0], u.state[1], u.state[2]});
  if (failed(d))
    return failure();
  Value b = nb.sub(nb.mul(u.c(beta), u.state[0]), u.lrTimes((*d)[0]));
  auto shared = [&](Value w, Value dw) {
    return nb.sub(nb.mul(u.c(beta), w), u.lrTimes(nb.mul(u.c(1.0 / n), dw)));
  };
  Value wIn = shared(u.state[1], (*d)[1]), wOut = shared(u.state[2], (*d)[2]);
  Value moved = nb.add(u.p, read(b, wIn, wOut));
  return SmallVector<Value>{u.decoupledDecay(moved), b, wIn, wOut};
}
} // namespace

const OptimizerKindInfo mlir::nl::dmgdKind = [] {
  OptimizerKindInfo k;
  k.name = "dmgd";
  k.rule = "deep momentum: W <- W + m(g), m = b + an MLP memory over the "
           "normalized gradient, trained on <m(g), g>";
  k.source = "NL-N Eq. 23";
  k.hypers = dmgdHypers;
  k.state = dmgdState;
  k.innerRefusal = "a deep momentum's MLP is an outer optimizer's state";
  k.body = "its memory mlp(1 -> 1, hidden = H) and 'objective dot'";
  k.outer = dmgdStep;
  k.verify = verifyDmgd;
  k.unsupportedOuter = unsupportedDmgd;
  k.stateType = dmgdStateType;
  return k;
}();
