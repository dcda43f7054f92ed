//===- InnerObjective.cpp - inner objectives as ops -----------------------===//
//
// The inner objective of many tokens at once (InnerObjective.h).
//
//===----------------------------------------------------------------------===//

#include "nl/Dialect/NL/Transforms/InnerObjective.h"
#include "nl/Dialect/NL/IR/NLBuilder.h"

#include "mlir/IR/IRMapping.h"
#include "mlir/IR/Matchers.h"
#include "llvm/ADT/DenseSet.h"

using namespace mlir;
using namespace mlir::nl;

namespace {

/// Whether `op`, applied to values of every token of a chunk at once (with
/// leading token dims), keeps its per-token meaning: elementwise ops
/// (with broadcasting), last-dim normalizations, linear maps by a weight that
/// is the same for every token, slices; nl.sum and nl.mean reduce each
/// token's values (buildCustom).
bool appliesPerToken(Operation *op) {
  return isa<AddOp, SubOp, MulOp, DivOp, NegOp, AbsOp, ExpOp, LogOp, SqrtOp,
             SiluOp, GeluOp, SigmoidOp, SoftplusOp, TanhOp, ReluOp, SignOp,
             StepOp, PowOp, L2NormOp, SoftmaxOp, RmsNormOp, LinearOp, SliceOp,
             SumOp, MeanOp>(op);
}

/// Checks that a custom objective region ^bb0(%M, %k, %v) can be derived:
/// the memory is read only as M(k) (so the gradient of each token's loss is,
/// per linear map, an outer product, as for the built-in objectives), at
/// least once; k and v are vectors; every op that depends on M(k), k or v
/// applies per token (appliesPerToken), and the operands that must be the
/// same for every token (a norm's gain, a linear map's weight) are. Errors
/// are reported at the user's op.
LogicalResult checkCustom(ObjectiveOp objective) {
  Block &block = objective.getBody().front();
  Value mem = block.getArgument(0), key = block.getArgument(1),
        value = block.getArgument(2);
  for (Value x : {key, value})
    if (cast<RankedTensorType>(x.getType()).getRank() != 1)
      return objective.emitOpError()
             << "custom objective: k and v must be vectors to derive the "
                "update, got "
             << x.getType();
  llvm::DenseSet<Value> perToken{key, value};
  bool reads = false;
  // The values that depend on M(k), but for a factor of constant 0 or a
  // power 0 (sum(M(k) * 0) has no gradient: it trained a memory that never
  // changed).
  llvm::DenseSet<Value> ofM;
  auto isZero = [](Value v) { return matchPattern(v, m_AnyZeroFloat()); };
  for (Operation &o : block.without_terminator()) {
    if (isa<ReadOp>(o)) {
      ofM.insert(o.getResult(0));
    } else if (o.getNumResults() == 1 &&
               llvm::any_of(o.getOperands(),
                            [&](Value x) { return ofM.contains(x); })) {
      bool killed = (isa<MulOp>(o) && llvm::any_of(o.getOperands(), isZero)) ||
                    (isa<PowOp>(o) && cast<PowOp>(o).getExponent().isZero());
      if (!killed)
        ofM.insert(o.getResult(0));
    }
  }
  for (Operation &o : block.without_terminator()) {
    if (auto read = dyn_cast<ReadOp>(o)) {
      if (read.getMemory() != mem || read.getKey() != key)
        return o.emitError()
               << "custom objective: the memory must be read at the key "
                  "itself, M(k); a read at another value has no derived "
                  "update";
      perToken.insert(read.getResult());
      reads = true;
      continue;
    }
    if (llvm::is_contained(o.getOperands(), mem))
      return o.emitError() << "custom objective: the memory can only be "
                              "read, as M(k)";
    if (isa<GetParamOp>(o))
      return o.emitError()
             << "custom objective: a level parameter in an objective is not "
                "derived yet (the derived chunks are isolated regions that "
                "take only the memory's state and the chunk's inputs); use "
                "numbers and the model's settings";
    if (llvm::none_of(o.getOperands(),
                      [&](Value x) { return perToken.contains(x); }))
      continue; // the same for every token: computed once
    if (!appliesPerToken(&o))
      return o.emitError()
             << "custom objective: '" << o.getName()
             << "' of M(k), k or v is not derived; use elementwise ops, "
                "pow, sum, mean, l2norm, softmax, rmsnorm, a linear map or "
                "slice";
    Value shared = isa<RmsNormOp>(o)  ? cast<RmsNormOp>(o).getGamma()
                   : isa<LinearOp>(o) ? cast<LinearOp>(o).getWeight()
                                      : Value();
    if ((shared && perToken.contains(shared)) ||
        (isa<LinearOp>(o) && cast<LinearOp>(o).getBias() &&
         perToken.contains(cast<LinearOp>(o).getBias())))
      return o.emitError() << "custom objective: the weight of '" << o.getName()
                           << "' must not depend on M(k), k or v";
    perToken.insert(o.getResult(0));
  }
  if (!reads)
    return objective.emitOpError()
           << "custom objective: it never reads the memory (M(k)), so it "
              "has no gradient to write the memory with";
  if (!ofM.contains(block.getTerminator()->getOperand(0)))
    return objective.emitOpError()
           << "custom objective: its value does not depend on M(k) (it is "
              "multiplied by 0 or raised to the power 0), so it has no "
              "gradient to write the memory with";
  return success();
}

/// Clones the ops of a region written for one token so that they apply to
/// every token at once: a value of shape S that depends on a per-token
/// value becomes [L..., S], L the `lead` token dims; the others are computed
/// once. nl.sum and nl.mean reduce each token's values to [L...]; per-token
/// operands of an elementwise op gain unit dims after L so that
/// broadcasting aligns their own dims; a slice's dim moves past L.
/// `special` may build an op itself (returning its per-token result) or
/// return null to leave it to the rules above.
struct PerTokenCloner {
  NLBuilder &nb;
  ArrayRef<int64_t> lead;
  IRMapping map;
  llvm::DenseSet<Value> perToken;

  int64_t nLead() const { return static_cast<int64_t>(lead.size()); }
  RankedTensorType withLead(RankedTensorType t) const {
    SmallVector<int64_t> shape(lead);
    llvm::append_range(shape, t.getShape());
    return RankedTensorType::get(shape, t.getElementType());
  }
  /// A per-token value [L..., S...] with unit dims after L up to `rank`
  /// dims of its own.
  Value aligned(Value v, int64_t rank) {
    return nb.insertUnitDims(v, nLead(), rank - (nb.tt(v).getRank() - nLead()));
  }
  template <typename Special> void run(Block &block, Special special) {
    OpBuilder &b = nb.b;
    for (Operation &o : block.without_terminator()) {
      if (llvm::none_of(o.getOperands(),
                        [&](Value v) { return perToken.contains(v); })) {
        b.clone(o, map);
        continue;
      }
      perToken.insert(o.getResult(0));
      Value result = special(o);
      if (!result)
        result = generic(o);
      map.map(o.getResult(0), result);
    }
  }

private:
  Value generic(Operation &o) {
    auto rt = cast<RankedTensorType>(o.getResult(0).getType());
    if (isa<SumOp, MeanOp>(o)) { // each token's values -> [L...]
      Value v = map.lookup(o.getOperand(0));
      int64_t rest = nb.tt(v).getRank() - nLead(), count = 1;
      SmallVector<int64_t> ones(lead);
      ones.append(rest, 1);
      Value sum = nb.dropUnitDims(
          nb.sumTo(v, RankedTensorType::get(ones, rt.getElementType())),
          withLead(rt));
      for (int64_t d : nb.tt(v).getShape().drop_front(nLead()))
        count *= d;
      return isa<MeanOp>(o) ? nb.mul(sum, nb.c(sum, 1.0 / (double)count)) : sum;
    }
    SmallVector<Value> operands;
    for (Value v : o.getOperands()) {
      Value m = map.lookupOrDefault(v);
      if (isa<AddOp, SubOp, MulOp, DivOp>(o) && perToken.contains(v))
        m = aligned(m, rt.getRank());
      operands.push_back(m);
    }
    Operation *c = nb.b.clone(o, map);
    c->setOperands(operands);
    if (auto slice = dyn_cast<SliceOp>(c))
      slice.setDim(slice.getDim() + nLead());
    c->getResult(0).setType(withLead(rt));
    return c->getResult(0);
  }
};

/// A custom objective's region applied to every token at once (see
/// buildInnerObjective), summed over the tokens.
Value buildCustom(NLBuilder &nb, ObjectiveOp objective, Value pred,
                  Value target, Value keys, int64_t nLead) {
  Block &block = objective.getBody().front();
  PerTokenCloner pt{nb, nb.tt(pred).getShape().take_front(nLead), {}, {}};
  pt.map.map(block.getArgument(1), keys);
  pt.map.map(block.getArgument(2), target);
  pt.perToken.insert(block.getArgument(1));
  pt.perToken.insert(block.getArgument(2));
  // M(k) (read at the key, a per-token value: checkCustom) is the memory's
  // reads, given.
  pt.run(block, [&](Operation &o) -> Value {
    return isa<ReadOp>(o) ? pred : Value();
  });
  Value l = pt.map.lookupOrDefault(block.getTerminator()->getOperand(0));
  if (!pt.perToken.contains(block.getTerminator()->getOperand(0)))
    return l; // cannot happen: the objective reads M(k)
  return SumOp::create(nb.b, nb.loc,
                       RankedTensorType::get({}, nb.tt(l).getElementType()), l);
}

/// Checks a read function ^bb0(%P..., %x) for applyReadFunction: x a
/// vector; every op of the parameters or x applies per token
/// (appliesPerToken), a linear map's input is a vector; nothing else.
LogicalResult checkReadFn(ReadFnOp fn) {
  Block &block = fn.getBody().front();
  llvm::DenseSet<Value> perToken(block.getArguments().begin(),
                                 block.getArguments().end());
  if (cast<RankedTensorType>(block.getArguments().back().getType()).getRank() !=
      1)
    return fn.emitOpError() << "read function: the key must be a vector";
  for (Operation &o : block.without_terminator()) {
    if (llvm::none_of(o.getOperands(),
                      [&](Value x) { return perToken.contains(x); }))
      continue; // the same for every token: computed once
    if (!appliesPerToken(&o))
      return o.emitError() << "read function: '" << o.getName()
                           << "' of the memory's parameters or its key is "
                              "not derived; use elementwise ops, pow, sum, "
                              "mean, l2norm, softmax, rmsnorm, x @ W or "
                              "slice";
    if (auto lin = dyn_cast<LinearOp>(o);
        lin && cast<RankedTensorType>(lin.getInput().getType()).getRank() != 1)
      return o.emitError() << "read function: the input of '@' must be a "
                              "vector (x @ W, W [K, N])";
    perToken.insert(o.getResult(0));
  }
  return success();
}

} // namespace

LogicalResult mlir::nl::checkReadFunction(ReadFnOp fn) {
  return checkReadFn(fn);
}

Value mlir::nl::applyReadFunction(OpBuilder &b, Location loc, ReadFnOp fn,
                                  ArrayRef<Value> params, Value x,
                                  int64_t nLead) {
  NLBuilder nb{b, loc};
  Block &block = fn.getBody().front();
  PerTokenCloner pt{nb, nb.tt(x).getShape().take_front(nLead), {}, {}};
  for (auto [arg, v] :
       llvm::zip(block.getArguments(),
                 llvm::concat<const Value>(params, ArrayRef(x))))
    pt.map.map(arg, v);
  pt.perToken.insert(block.getArguments().begin(), block.getArguments().end());
  pt.run(block, [&](Operation &o) -> Value {
    auto rt = cast<RankedTensorType>(o.getResult(0).getType());
    if (auto lin = dyn_cast<LinearOp>(o);
        lin && pt.perToken.contains(lin.getWeight())) {
      // x @ W with a weight of each token's own: [L..., 1, K] @ [L..., K, N].
      Value in = pt.map.lookup(lin.getInput());
      if (!pt.perToken.contains(lin.getInput()))
        in = nb.bcast(in, pt.withLead(cast<RankedTensorType>(in.getType())));
      Value y = nb.dropUnitDims(nb.matmul(nb.insertUnitDims(in, nLead, 1),
                                          pt.map.lookup(lin.getWeight())),
                                pt.withLead(rt));
      if (Value bias = lin.getBias()) {
        Value bv = pt.map.lookupOrDefault(bias);
        y = nb.add(y, pt.perToken.contains(bias) ? pt.aligned(bv, 1) : bv);
      }
      return y;
    }
    if (auto norm = dyn_cast<RmsNormOp>(o);
        norm && pt.perToken.contains(norm.getGamma())) {
      // A gain of each token's own: rmsnorm with gain 1, then times it.
      Value in = pt.map.lookup(norm.getInput());
      auto gt =
          RankedTensorType::get({rt.getShape().back()}, rt.getElementType());
      Value one = nb.bcast(nb.c(Value(), 1.0, gt), gt);
      Value n =
          RmsNormOp::create(b, loc, in.getType(), in, one, norm.getEpsAttr());
      return nb.mul(n, pt.aligned(pt.map.lookup(norm.getGamma()), 1));
    }
    return Value();
  });
  Value y = pt.map.lookupOrDefault(block.getTerminator()->getOperand(0));
  auto yt = pt.withLead(
      cast<RankedTensorType>(block.getTerminator()->getOperand(0).getType()));
  return nb.bcast(y, yt); // a read that ignores its inputs: every token
}

LogicalResult mlir::nl::checkInnerObjective(ObjectiveOp objective) {
  if (objective.getKind() != ObjectiveKind::custom)
    return success();
  return checkCustom(objective);
}

Value mlir::nl::buildInnerObjective(OpBuilder &b, Location loc,
                                    ObjectiveOp objective, Value pred,
                                    Value target, Value keys, int64_t lead) {
  NLBuilder nb{b, loc};
  auto scalar = RankedTensorType::get({}, nb.tt(pred).getElementType());
  auto sum = [&](Value x) { return SumOp::create(b, loc, scalar, x); };
  switch (objective.getKind()) {
  case ObjectiveKind::dot: // −⟨M(k), v⟩
    return NegOp::create(b, loc, scalar, sum(nb.mul(pred, target)));
  case ObjectiveKind::l2: { // ‖M(k) − v‖²
    Value r = nb.sub(pred, target);
    return sum(nb.mul(r, r));
  }
  case ObjectiveKind::lp: { // ‖M(k) − v‖_p^p
    Value r = nb.un<AbsOp>(nb.sub(pred, target));
    return sum(
        PowOp::create(b, loc, r.getType(), r,
                      b.getF64FloatAttr(objective.getP()->convertToDouble())));
  }
  case ObjectiveKind::huber: { // ½ min(|r|, δ)² + δ relu(|r| − δ)
    double d = objective.getDelta()->convertToDouble();
    Value r = nb.un<AbsOp>(nb.sub(pred, target));
    Value over = nb.un<ReluOp>(nb.sub(r, nb.c(r, d)));
    Value inside = nb.sub(r, over);
    Value quad = nb.mul(nb.c(r, 0.5), nb.mul(inside, inside));
    return sum(nb.add(quad, nb.mul(nb.c(r, d), over)));
  }
  case ObjectiveKind::custom:
    return buildCustom(nb, objective, pred, target, keys, lead);
  }
  llvm_unreachable("unknown objective kind");
}
