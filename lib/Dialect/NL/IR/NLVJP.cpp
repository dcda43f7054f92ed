//===- NLVJP.cpp - vector–Jacobian products of the nl compute ops ---------===//
//
// Every compute op gives the VJP of its result cotangent dy as nl ops, so the
// VJPs are themselves differentiable (grad of grad: the outer loss is
// differentiated through derived inner updates). Conventions: a null
// cotangent is zero; a null operand cotangent means "not differentiable" or
// "zero". Shapes use the dims named in NLOps.td.
//
//===----------------------------------------------------------------------===//

#include "nl/Dialect/NL/IR/NLBuilder.h"
#include "nl/Dialect/NL/IR/NLDialect.h"

#include "mlir/Dialect/Traits.h"
#include "mlir/Dialect/Utils/ReshapeOpsUtils.h"
#include "mlir/IR/DialectRegistry.h"

#include <cmath>

using namespace mlir;
using namespace mlir::nl;

namespace {

LogicalResult noCotangents(Operation *op, SmallVectorImpl<Value> &dxs) {
  dxs.assign(op->getNumOperands(), Value());
  return success();
}

} // namespace

#define VJP_PROLOGUE(OP)                                                       \
  NLBuilder v{builder, (OP)->getLoc()};                                        \
  Value dy = dys.empty() ? Value() : dys[0];                                   \
  dxs.assign((OP)->getNumOperands(), Value());                                 \
  if (!dy)                                                                     \
    return success();                                                          \
  (void)v;

//===----------------------------------------------------------------------===//
// Elementwise
//===----------------------------------------------------------------------===//

LogicalResult AddOp::buildVJP(OpBuilder &builder, ValueRange dys,
                              SmallVectorImpl<Value> &dxs) {
  VJP_PROLOGUE(*this);
  dxs[0] = v.sumTo(dy, getLhs().getType());
  dxs[1] = v.sumTo(dy, getRhs().getType());
  return success();
}

LogicalResult SubOp::buildVJP(OpBuilder &builder, ValueRange dys,
                              SmallVectorImpl<Value> &dxs) {
  VJP_PROLOGUE(*this);
  dxs[0] = v.sumTo(dy, getLhs().getType());
  dxs[1] = v.sumTo(v.un<NegOp>(dy), getRhs().getType());
  return success();
}

LogicalResult MulOp::buildVJP(OpBuilder &builder, ValueRange dys,
                              SmallVectorImpl<Value> &dxs) {
  VJP_PROLOGUE(*this);
  dxs[0] = v.sumTo(v.mul(dy, getRhs()), getLhs().getType());
  dxs[1] = v.sumTo(v.mul(dy, getLhs()), getRhs().getType());
  return success();
}

LogicalResult DivOp::buildVJP(OpBuilder &builder, ValueRange dys,
                              SmallVectorImpl<Value> &dxs) {
  VJP_PROLOGUE(*this);
  // y = a / b: da = dy / b, db = −dy · y / b.
  Value dyb = v.div(dy, getRhs());
  dxs[0] = v.sumTo(dyb, getLhs().getType());
  dxs[1] = v.sumTo(v.un<NegOp>(v.mul(dyb, getResult())), getRhs().getType());
  return success();
}

LogicalResult NegOp::buildVJP(OpBuilder &builder, ValueRange dys,
                              SmallVectorImpl<Value> &dxs) {
  VJP_PROLOGUE(*this);
  dxs[0] = v.un<NegOp>(dy);
  return success();
}

LogicalResult AbsOp::buildVJP(OpBuilder &builder, ValueRange dys,
                              SmallVectorImpl<Value> &dxs) {
  VJP_PROLOGUE(*this);
  dxs[0] = v.mul(dy, v.un<SignOp>(getInput()));
  return success();
}

LogicalResult ExpOp::buildVJP(OpBuilder &builder, ValueRange dys,
                              SmallVectorImpl<Value> &dxs) {
  VJP_PROLOGUE(*this);
  dxs[0] = v.mul(dy, getResult());
  return success();
}

LogicalResult LogOp::buildVJP(OpBuilder &builder, ValueRange dys,
                              SmallVectorImpl<Value> &dxs) {
  VJP_PROLOGUE(*this);
  dxs[0] = v.div(dy, getInput());
  return success();
}

LogicalResult SqrtOp::buildVJP(OpBuilder &builder, ValueRange dys,
                               SmallVectorImpl<Value> &dxs) {
  VJP_PROLOGUE(*this);
  // dy / (2 sqrt(x)) where x > 0, and 0 at x = 0 (where the derivative is
  // infinite): a square root of a sum of squares, sqrt(g²) = |g|, then
  // has the subgradient sign(0) = 0 there, as nl.abs's VJP, instead of
  // 0 * inf = NaN (inner Adam's sqrt(v) on a memory whose gradient is
  // still exactly 0, e.g. from a zero initial state).
  Value y = getResult();
  Value pos = v.un<StepOp>(y);
  Value safe = v.add(y, v.sub(v.c(y, 1.0), pos)); // y, or 1 where y = 0
  dxs[0] = v.mul(pos, v.div(v.mul(dy, v.c(dy, 0.5)), safe));
  return success();
}

LogicalResult SiluOp::buildVJP(OpBuilder &builder, ValueRange dys,
                               SmallVectorImpl<Value> &dxs) {
  VJP_PROLOGUE(*this);
  // d/dx x σ(x) = σ(x) (1 + x (1 − σ(x))).
  Value x = getInput();
  Value s = v.un<SigmoidOp>(x);
  Value one = v.c(x, 1.0);
  dxs[0] = v.mul(dy, v.mul(s, v.add(one, v.mul(x, v.sub(one, s)))));
  return success();
}

LogicalResult GeluOp::buildVJP(OpBuilder &builder, ValueRange dys,
                               SmallVectorImpl<Value> &dxs) {
  VJP_PROLOGUE(*this);
  // y = ½ x (1 + tanh u), u = c (x + a x³), c = √(2/π), a = 0.044715:
  // dy/dx = ½ (1 + tanh u) + ½ x (1 − tanh² u) c (1 + 3 a x²).
  Value x = getInput();
  double cc = std::sqrt(2.0 / M_PI), a = 0.044715;
  Value x2 = v.mul(x, x);
  Value u = v.mul(v.c(x, cc), v.add(x, v.mul(v.c(x, a), v.mul(x2, x))));
  Value t = v.un<TanhOp>(u);
  Value one = v.c(x, 1.0), half = v.c(x, 0.5);
  Value du = v.mul(v.c(x, cc), v.add(one, v.mul(v.c(x, 3 * a), x2)));
  Value d = v.add(v.mul(half, v.add(one, t)),
                  v.mul(v.mul(half, x), v.mul(v.sub(one, v.mul(t, t)), du)));
  dxs[0] = v.mul(dy, d);
  return success();
}

LogicalResult SigmoidOp::buildVJP(OpBuilder &builder, ValueRange dys,
                                  SmallVectorImpl<Value> &dxs) {
  VJP_PROLOGUE(*this);
  Value y = getResult();
  dxs[0] = v.mul(dy, v.mul(y, v.sub(v.c(y, 1.0), y)));
  return success();
}

LogicalResult SoftplusOp::buildVJP(OpBuilder &builder, ValueRange dys,
                                   SmallVectorImpl<Value> &dxs) {
  VJP_PROLOGUE(*this);
  dxs[0] = v.mul(dy, v.un<SigmoidOp>(getInput()));
  return success();
}

LogicalResult TanhOp::buildVJP(OpBuilder &builder, ValueRange dys,
                               SmallVectorImpl<Value> &dxs) {
  VJP_PROLOGUE(*this);
  Value y = getResult();
  dxs[0] = v.mul(dy, v.sub(v.c(y, 1.0), v.mul(y, y)));
  return success();
}

LogicalResult ReluOp::buildVJP(OpBuilder &builder, ValueRange dys,
                               SmallVectorImpl<Value> &dxs) {
  VJP_PROLOGUE(*this);
  dxs[0] = v.mul(dy, v.un<StepOp>(getInput()));
  return success();
}

LogicalResult SignOp::buildVJP(OpBuilder &, ValueRange,
                               SmallVectorImpl<Value> &dxs) {
  return noCotangents(*this, dxs);
}

LogicalResult StepOp::buildVJP(OpBuilder &, ValueRange,
                               SmallVectorImpl<Value> &dxs) {
  return noCotangents(*this, dxs);
}

LogicalResult PowOp::buildVJP(OpBuilder &builder, ValueRange dys,
                              SmallVectorImpl<Value> &dxs) {
  VJP_PROLOGUE(*this);
  double p = getExponent().convertToDouble();
  Value x = getInput();
  Value dpow;
  if (p == 1.0)
    dpow = v.c(x, 1.0);
  else if (p == 2.0)
    dpow = v.mul(v.c(x, 2.0), x);
  else
    dpow = v.mul(v.c(x, p), PowOp::create(builder, getLoc(), x.getType(), x,
                                          builder.getF64FloatAttr(p - 1.0)));
  dxs[0] = v.mul(dy, dpow);
  return success();
}

//===----------------------------------------------------------------------===//
// Contractions and data movement
//===----------------------------------------------------------------------===//

LogicalResult MatmulOp::buildVJP(OpBuilder &builder, ValueRange dys,
                                 SmallVectorImpl<Value> &dxs) {
  VJP_PROLOGUE(*this);
  dxs[0] = v.matmul(dy, v.transpose(getRhs()));
  dxs[1] = v.matmul(v.transpose(getLhs()), dy);
  return success();
}

/// Collapses [d0, ..., dn-1] to [d0·...·dn-2, dn-1] (rank 1: [1, d0]).
static Value asMatrix(OpBuilder &b, Location loc, Value x) {
  auto t = cast<RankedTensorType>(x.getType());
  int64_t r = t.getRank();
  if (r == 2)
    return x;
  if (r == 1) {
    auto to = RankedTensorType::get({1, t.getDimSize(0)}, t.getElementType());
    return tensor::ExpandShapeOp::create(
        b, loc, to, x, ArrayRef<ReassociationIndices>{{0, 1}});
  }
  ReassociationIndices lead;
  int64_t m = 1;
  for (int64_t i = 0; i + 1 < r; ++i) {
    lead.push_back(i);
    m *= t.getDimSize(i);
  }
  auto to = RankedTensorType::get({m, t.getShape().back()}, t.getElementType());
  return tensor::CollapseShapeOp::create(
      b, loc, to, x, ArrayRef<ReassociationIndices>{lead, {r - 1}});
}

LogicalResult LinearOp::buildVJP(OpBuilder &builder, ValueRange dys,
                                 SmallVectorImpl<Value> &dxs) {
  VJP_PROLOGUE(*this);
  // y = x W + b: dx = dy Wᵀ, dW = Σ xᵀ dy over the leading dims, db = Σ dy.
  Value w = getWeight();
  dxs[0] = LinearOp::create(builder, getLoc(), getInput().getType(), dy,
                            v.transpose(w), Value());
  Location loc = getLoc();
  dxs[1] = v.matmul(v.transpose(asMatrix(builder, loc, getInput())),
                    asMatrix(builder, loc, dy));
  if (getBias())
    dxs[2] = v.sumTo(dy, getBias().getType());
  return success();
}

LogicalResult EmbeddingOp::buildVJP(OpBuilder &builder, ValueRange dys,
                                    SmallVectorImpl<Value> &dxs) {
  VJP_PROLOGUE(*this);
  dxs[0] = EmbeddingGradOp::create(builder, getLoc(), getTable().getType(), dy,
                                   getIds());
  return success();
}

LogicalResult EmbeddingGradOp::buildVJP(OpBuilder &builder, ValueRange dys,
                                        SmallVectorImpl<Value> &dxs) {
  VJP_PROLOGUE(*this);
  dxs[0] = EmbeddingOp::create(builder, getLoc(), getInput().getType(), dy,
                               getIds());
  return success();
}

LogicalResult OneHotOp::buildVJP(OpBuilder &, ValueRange,
                                 SmallVectorImpl<Value> &dxs) {
  return noCotangents(*this, dxs);
}

LogicalResult TokenIdsOp::buildVJP(OpBuilder &, ValueRange,
                                   SmallVectorImpl<Value> &dxs) {
  return noCotangents(*this, dxs);
}

LogicalResult TransposeOp::buildVJP(OpBuilder &builder, ValueRange dys,
                                    SmallVectorImpl<Value> &dxs) {
  VJP_PROLOGUE(*this);
  dxs[0] = v.transpose(dy);
  return success();
}

LogicalResult BroadcastOp::buildVJP(OpBuilder &builder, ValueRange dys,
                                    SmallVectorImpl<Value> &dxs) {
  VJP_PROLOGUE(*this);
  dxs[0] = v.sumTo(dy, getInput().getType());
  return success();
}

LogicalResult SumToOp::buildVJP(OpBuilder &builder, ValueRange dys,
                                SmallVectorImpl<Value> &dxs) {
  VJP_PROLOGUE(*this);
  dxs[0] = v.bcast(dy, getInput().getType());
  return success();
}

LogicalResult SliceOp::buildVJP(OpBuilder &builder, ValueRange dys,
                                SmallVectorImpl<Value> &dxs) {
  VJP_PROLOGUE(*this);
  if (!isa<FloatType>(getElementTypeOrSelf(getInput().getType())))
    return success(); // integer token ids: not differentiable
  auto in = cast<RankedTensorType>(getInput().getType());
  dxs[0] = v.pad(dy, getDim(), getOffset(), in.getDimSize(getDim()));
  return success();
}

LogicalResult PadOp::buildVJP(OpBuilder &builder, ValueRange dys,
                              SmallVectorImpl<Value> &dxs) {
  VJP_PROLOGUE(*this);
  auto in = cast<RankedTensorType>(getInput().getType());
  dxs[0] = v.slice(dy, getDim(), getOffset(), in.getDimSize(getDim()));
  return success();
}

LogicalResult SplitHeadsOp::buildVJP(OpBuilder &builder, ValueRange dys,
                                     SmallVectorImpl<Value> &dxs) {
  VJP_PROLOGUE(*this);
  dxs[0] = MergeHeadsOp::create(builder, getLoc(), getInput().getType(), dy);
  return success();
}

LogicalResult MergeHeadsOp::buildVJP(OpBuilder &builder, ValueRange dys,
                                     SmallVectorImpl<Value> &dxs) {
  VJP_PROLOGUE(*this);
  auto in = cast<RankedTensorType>(getInput().getType());
  dxs[0] = SplitHeadsOp::create(builder, getLoc(), in, dy, in.getDimSize(1));
  return success();
}

LogicalResult CausalMaskOp::buildVJP(OpBuilder &builder, ValueRange dys,
                                     SmallVectorImpl<Value> &dxs) {
  VJP_PROLOGUE(*this);
  dxs[0] = CausalMaskOp::create(builder, getLoc(), dy.getType(), dy,
                                builder.getF64FloatAttr(0.0), getWindowAttr());
  return success();
}

//===----------------------------------------------------------------------===//
// Reductions, norms, softmax, attention, loss
//===----------------------------------------------------------------------===//

LogicalResult SumOp::buildVJP(OpBuilder &builder, ValueRange dys,
                              SmallVectorImpl<Value> &dxs) {
  VJP_PROLOGUE(*this);
  dxs[0] = v.bcast(dy, getInput().getType());
  return success();
}

LogicalResult MeanOp::buildVJP(OpBuilder &builder, ValueRange dys,
                               SmallVectorImpl<Value> &dxs) {
  VJP_PROLOGUE(*this);
  auto in = cast<RankedTensorType>(getInput().getType());
  dxs[0] = v.bcast(v.mul(dy, v.c(dy, 1.0 / (double)in.getNumElements())), in);
  return success();
}

LogicalResult RmsNormOp::buildVJP(OpBuilder &builder, ValueRange dys,
                                  SmallVectorImpl<Value> &dxs) {
  VJP_PROLOGUE(*this);
  // y = n ⊙ γ with n = x r, r = (mean_last x² + eps)^{-1/2}:
  // dγ = Σ dy ⊙ n, dx = r (dn − n mean_last(dn ⊙ n)) with dn = dy ⊙ γ.
  Value x = getInput(), g = getGamma();
  double invD = 1.0 / (double)v.tt(x).getShape().back();
  Value r = v.invNorm(x, invD, getEps().convertToDouble());
  Value n = v.mul(x, r);
  dxs[1] = v.sumTo(v.mul(dy, n), g.getType());
  Value dn = v.mul(dy, g);
  Value proj = v.mul(v.sumLast(v.mul(dn, n)), v.c(x, invD));
  dxs[0] = v.mul(r, v.sub(dn, v.mul(n, proj)));
  return success();
}

LogicalResult L2NormOp::buildVJP(OpBuilder &builder, ValueRange dys,
                                 SmallVectorImpl<Value> &dxs) {
  VJP_PROLOGUE(*this);
  // y = x r, r = (Σ_last x² + eps)^{-1/2}: dx = r (dy − y Σ_last(dy ⊙ y)).
  Value x = getInput(), y = getResult();
  Value r = v.invNorm(x, 1.0, getEps().convertToDouble());
  dxs[0] = v.mul(r, v.sub(dy, v.mul(y, v.sumLast(v.mul(dy, y)))));
  return success();
}

LogicalResult SoftmaxOp::buildVJP(OpBuilder &builder, ValueRange dys,
                                  SmallVectorImpl<Value> &dxs) {
  VJP_PROLOGUE(*this);
  dxs[0] = v.softmaxVJP(getResult(), dy);
  return success();
}

LogicalResult CausalConvOp::buildVJP(OpBuilder &builder, ValueRange dys,
                                     SmallVectorImpl<Value> &dxs) {
  VJP_PROLOGUE(*this);
  // y[b,t,d] = Σ_j w[j,d] x[b,t−j,d]:
  //   dx[b,s,d] = Σ_j w[j,d] dy[b,s+j,d],  dw[j,d] = Σ_{b,t} dy[b,t,d]
  //   x[b,t−j,d].
  Value x = getInput(), w = getWeight();
  int64_t k = v.tt(w).getDimSize(0);
  Value dx, dw;
  for (int64_t j = 0; j < k; ++j) {
    Value wj = v.slice(w, 0, j, 1); // [1, D]
    dx = v.add(dx, v.shift(v.mul(dy, wj), 1, -j));
    Value dwj = v.sumTo(v.mul(dy, v.shift(x, 1, j)), wj.getType());
    dw = v.add(dw, k == 1 ? dwj : v.pad(dwj, 0, j, k));
  }
  dxs[0] = dx;
  dxs[1] = dw;
  return success();
}

LogicalResult AttentionOp::buildVJP(OpBuilder &builder, ValueRange dys,
                                    SmallVectorImpl<Value> &dxs) {
  VJP_PROLOGUE(*this);
  // One op: the CPU target runs it as the runtime's fused backward kernel,
  // the others decompose it (nl.attention_grad).
  Value q = getQuery(), k = getKey(), val = getValue();
  auto grad = AttentionGradOp::create(
      builder, getLoc(), TypeRange{q.getType(), k.getType(), val.getType()}, q,
      k, val, getResult(), dy, getWindowAttr(), getScaleAttr());
  dxs[0] = grad.getDquery();
  dxs[1] = grad.getDkey();
  dxs[2] = grad.getDvalue();
  return success();
}

SmallVector<Value, 3> AttentionGradOp::decompose(OpBuilder &builder,
                                                 ValueRange operands) {
  // Recomputes P = softmax(mask(q kᵀ s)) and returns
  // dq = dS k s, dk = dSᵀ q s, dv = Pᵀ dy, with
  // dS = P ⊙ (dP − Σ_last dP ⊙ P) and dP = dy vᵀ.
  NLBuilder v{builder, getLoc()};
  Value q = operands[0], k = operands[1], val = operands[2], dy = operands[4];
  double s = getScaleOrDefault();
  Value scores = v.mul(v.matmul(q, v.transpose(k)), v.c(q, s));
  scores =
      CausalMaskOp::create(builder, getLoc(), scores.getType(), scores,
                           builder.getF64FloatAttr(-INFINITY), getWindowAttr());
  Value p = SoftmaxOp::create(builder, getLoc(), scores.getType(), scores);
  Value ds = v.softmaxVJP(p, v.matmul(dy, v.transpose(val)));
  return {v.mul(v.matmul(ds, k), v.c(q, s)),
          v.mul(v.matmul(v.transpose(ds), q), v.c(q, s)),
          v.matmul(v.transpose(p), dy)};
}

LogicalResult AttentionGradOp::buildVJP(OpBuilder &builder, ValueRange dys,
                                        SmallVectorImpl<Value> &dxs) {
  // Grad of grad: the decomposition, differentiated op by op in reverse
  // (its ops are all differentiable, or constants). The result operand is
  // not read by the decomposition: its cotangent is zero.
  dxs.assign(getNumOperands(), Value());
  if (llvm::none_of(dys, [](Value d) { return bool(d); }))
    return success();
  Block *block = builder.getInsertionBlock();
  Block::iterator at = builder.getInsertionPoint();
  Operation *next = at == block->end() ? nullptr : &*at;
  Operation *prev = at == block->begin() ? nullptr : &*std::prev(at);
  SmallVector<Value, 3> outs = decompose(builder, getOperands());
  SmallVector<Operation *> created;
  for (Operation *op = prev ? prev->getNextNode() : &block->front();
       op && op != next; op = op->getNextNode())
    created.push_back(op);
  NLBuilder v{builder, getLoc()};
  llvm::DenseMap<Value, Value> cot;
  for (auto [o, d] : llvm::zip(outs, dys))
    if (d)
      cot[o] = d;
  for (Operation *op : llvm::reverse(created)) {
    SmallVector<Value> opDys;
    bool any = false;
    for (Value r : op->getResults()) {
      opDys.push_back(cot.lookup(r));
      any |= bool(opDys.back());
    }
    auto diff = dyn_cast<DifferentiableOpInterface>(op);
    if (!any || !diff)
      continue;
    SmallVector<Value> opDxs;
    if (failed(diff.buildVJP(builder, opDys, opDxs)))
      return failure();
    for (auto [operand, dx] : llvm::zip(op->getOperands(), opDxs))
      if (dx) {
        Value &slot = cot[operand];
        slot = slot ? v.add(slot, dx) : dx;
      }
  }
  // A value passed in several positions (q = k) gets its whole cotangent
  // once: the caller sums the cotangents of equal operands.
  for (unsigned i = 0; i < getNumOperands(); ++i)
    if (llvm::find(getOperands().take_front(i), getOperand(i)) ==
        getOperands().begin() + i)
      dxs[i] = cot.lookup(getOperand(i));
  return success();
}

LogicalResult CrossEntropyOp::buildVJP(OpBuilder &builder, ValueRange dys,
                                       SmallVectorImpl<Value> &dxs) {
  VJP_PROLOGUE(*this);
  // loss = −mean over the n targets that count of log softmax(logits)[t]:
  // dlogits = (softmax(logits) − onehot(targets)) dy / n where the target
  // counts, 0 where it does not (a negative target, whose one-hot row is
  // zero: its row sum is the mask). n is at least 1, as in the forward.
  Value logits = getLogits();
  auto lt = v.tt(logits);
  Value p = SoftmaxOp::create(builder, getLoc(), lt, logits);
  Value oh = OneHotOp::create(builder, getLoc(), lt, getTargets());
  Value mask = v.sumLast(oh); // [B, T, 1]
  Value n = v.sumTo(mask, dy.getType());
  Value one = v.c(dy, 1.0);
  Value atLeastOne = v.add(n, v.un<ReluOp>(v.sub(one, n)));
  dxs[0] = v.mul(v.sub(p, oh), v.mul(mask, v.mul(dy, v.div(one, atLeastOne))));
  return success();
}

/// The state before (forward) or after (reverse) each token: h shifted by one
/// token with h0 in the vacated slot.
static Value neighbourStates(NLBuilder &v, Value h, Value h0, bool reverse) {
  int64_t n = v.tt(h).getDimSize(2);
  Value h0t = v.insertUnitDims(h0, 2, 1); // [B, H, 1, S...]
  Value edge = v.pad(h0t, 2, reverse ? n - 1 : 0, n);
  return v.add(v.shift(h, 2, reverse ? -1 : 1), edge);
}

/// The slot of token `t` along dim 2, with the token dim dropped.
static Value tokenSlot(NLBuilder &v, Value x, int64_t t, Type dropped) {
  return v.dropUnitDims(v.slice(x, 2, t, 1), cast<RankedTensorType>(dropped));
}

LogicalResult LinearScanOp::buildVJP(OpBuilder &builder, ValueRange dys,
                                     SmallVectorImpl<Value> &dxs) {
  VJP_PROLOGUE(*this);
  // Forward h_t = a_t h_{t-1} + x_t: the total cotangent of h_t is
  // λ_t = dh_t + a_{t+1} λ_{t+1} (a reverse scan), then dx = λ,
  // da_t = Σ_S λ_t ⊙ h_{t-1}, dh0 = a_0 λ_0. Reverse scans mirror it.
  bool rev = getReverse();
  Value a = getGate(), h = getResult(), h0 = getInit();
  int64_t n = v.tt(h).getDimSize(2), rest = v.tt(h).getRank() - 3;
  Value aNext = v.shift(a, 2, rev ? 1 : -1);
  Value lambda = LinearScanOp::create(builder, getLoc(), h.getType(), aNext, dy,
                                      v.zeros(h0.getType()),
                                      rev ? UnitAttr() : builder.getUnitAttr());
  dxs[1] = lambda;
  Value prev = neighbourStates(v, h, h0, rev);
  SmallVector<int64_t> gs(v.tt(a).getShape());
  gs.append(rest, 1);
  Value da = v.sumTo(v.mul(lambda, prev),
                     RankedTensorType::get(gs, v.tt(a).getElementType()));
  dxs[0] = v.dropUnitDims(da, v.tt(a));
  int64_t edge = rev ? n - 1 : 0;
  Value aE = v.insertUnitDims(v.slice(a, 2, edge, 1), 3, rest);
  dxs[2] =
      tokenSlot(v, v.mul(aE, v.slice(lambda, 2, edge, 1)), 0, h0.getType());
  return success();
}

LogicalResult MatrixScanOp::buildVJP(OpBuilder &builder, ValueRange dys,
                                     SmallVectorImpl<Value> &dxs) {
  VJP_PROLOGUE(*this);
  // Forward h_t = h_{t-1} A_t + X_t: λ_t = dh_t + λ_{t+1} A_{t+1}ᵀ (a
  // reverse scan), dX = λ, dA_t = h_{t-1}ᵀ λ_t, dh0 = λ_0 A_0ᵀ.
  bool rev = getReverse();
  Value a = getGate(), h = getResult(), h0 = getInit();
  int64_t n = v.tt(h).getDimSize(2);
  Value aT = v.transpose(a);
  Value aNextT = v.shift(aT, 2, rev ? 1 : -1);
  Value lambda = MatrixScanOp::create(builder, getLoc(), h.getType(), aNextT,
                                      dy, v.zeros(h0.getType()),
                                      rev ? UnitAttr() : builder.getUnitAttr());
  dxs[1] = lambda;
  Value prev = neighbourStates(v, h, h0, rev);
  dxs[0] = v.matmul(v.transpose(prev), lambda);
  int64_t edge = rev ? n - 1 : 0;
  dxs[2] = tokenSlot(
      v, v.matmul(v.slice(lambda, 2, edge, 1), v.slice(aT, 2, edge, 1)), 0,
      h0.getType());
  return success();
}

#undef VJP_PROLOGUE

//===----------------------------------------------------------------------===//
// Upstream ops used in nl IR
//===----------------------------------------------------------------------===//

namespace {

/// tensor.collapse_shape and tensor.expand_shape are each other's VJP.
template <typename OpTy, typename InverseTy>
struct ReshapeVJPModel : public DifferentiableOpInterface::ExternalModel<
                             ReshapeVJPModel<OpTy, InverseTy>, OpTy> {
  LogicalResult buildVJP(Operation *op, OpBuilder &b, ValueRange dys,
                         SmallVectorImpl<Value> &dxs) const {
    auto reshape = cast<OpTy>(op);
    dxs.assign(op->getNumOperands(), Value());
    if (dys.empty() || !dys[0])
      return success();
    dxs[0] = InverseTy::create(b, op->getLoc(), reshape.getSrc().getType(),
                               dys[0], reshape.getReassociationIndices());
    return success();
  }
};

/// Constants do not depend on anything.
struct ConstantVJPModel
    : public DifferentiableOpInterface::ExternalModel<ConstantVJPModel,
                                                      arith::ConstantOp> {
  LogicalResult buildVJP(Operation *op, OpBuilder &, ValueRange,
                         SmallVectorImpl<Value> &dxs) const {
    dxs.clear();
    return success();
  }
};

} // namespace

void mlir::nl::registerDifferentiableExternalModels(DialectRegistry &registry) {
  registry.addExtension(+[](MLIRContext *ctx, tensor::TensorDialect *) {
    tensor::CollapseShapeOp::attachInterface<
        ReshapeVJPModel<tensor::CollapseShapeOp, tensor::ExpandShapeOp>>(*ctx);
    tensor::ExpandShapeOp::attachInterface<
        ReshapeVJPModel<tensor::ExpandShapeOp, tensor::CollapseShapeOp>>(*ctx);
  });
  registry.addExtension(+[](MLIRContext *ctx, arith::ArithDialect *) {
    arith::ConstantOp::attachInterface<ConstantVJPModel>(*ctx);
  });
}
