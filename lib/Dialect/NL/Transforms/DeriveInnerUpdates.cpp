//===- DeriveInnerUpdates.cpp - the derive-inner-updates pass -------------===//
//
// Replaces every nl.memorize by explicit compute ops: the memory's update
// rule derived by reverse mode from its inner objective, then its optimizer
// and retention, chunk by chunk (design/NESTED_LEARNING.md §2, §3, §9).
//
// For a memory level written every C tokens, the T tokens of the flow form
// ceil(T/C) chunks (the last one ragged: flushed with the same rule, §9.6).
// In a chunk of n tokens, with W0 the state at the chunk start:
//   g_t  = ∇_W ℓ(W0; k_t, v̂_t)                  per token, by reverse mode on
//                                               the objective (v̂ = W0(v) with
//                                               self_values, Hope Eq. 86)
//   u_t  = η_t g_t,  η_t = lr · lr_t            (lr_t: the lr(...) operand)
//   S_t  = β_t S_{t-1} + u_t                    momentum (§9.3), when the
//                                               optimizer has one
//   W_t  = α_t W_{t-1} − S_t (or − u_t)         retention α_t: decay α,
//                                               gate α_t, or 1
//   W_t  = W_{t-1}(α_t I − η_t û_t û_tᵀ) − …    with dgd, per linear map with
//                                               input u_t, û = u/‖u‖ (§9.2)
//   y_t  = W_t(q_t)                             the read, after the write
// `local lambda = L` retention is the proximal step of
// ⟨g, W⟩ + L‖W − W_prev‖² + ‖W − W_prev‖²/(2η): η becomes η / (1 + 2 L η).
// By default (`dual-form`) a chunk is derived in its chunked parallel form
// (dualChunk: n x n token-mixing matrices and matmuls, DGD by one
// triangular solve per chunk); `dual-form=0` keeps the per-token scans above
// (updateChunk).
//
// Memory states: matrix W [B, H, dv, dk] (y = W k); mlp W1 [B, H, dv, h],
// W2 [B, H, h, dk] (y = k + W1 act(W2 k), the residual when dk = dv).
// A memory's initial state, an nl.param of type !nl.memory, is split into
// tensor params `<name>.w` (matrix) or `<name>.w1`, `<name>.w2` (mlp) of
// shape [H, ...], broadcast over the batch; a memory without one starts at 0.
// The memory levels, now explicit in the computation, are erased.
//
//===----------------------------------------------------------------------===//

#include "nl/Dialect/NL/IR/NLBuilder.h"
#include "nl/Dialect/NL/IR/NLDialect.h"
#include "nl/Dialect/NL/Transforms/Autodiff.h"
#include "nl/Dialect/NL/Transforms/InnerObjective.h"
#include "nl/Dialect/NL/Transforms/Passes.h"

#include "mlir/IR/SymbolTable.h"
#include "llvm/ADT/SetVector.h"

namespace mlir::nl {
#define GEN_PASS_DEF_DERIVEINNERUPDATES
#include "nl/Dialect/NL/Transforms/Passes.h.inc"
} // namespace mlir::nl

using namespace mlir;
using namespace mlir::nl;

namespace {

/// What a memory level says about its update rule.
struct MemoryRule {
  LevelOp level;
  MemoryOp memory;
  MemoryType type;
  ObjectiveOp objective;
  OptimizerOp optimizer;
  RetentionOp retention;
  int64_t chunk;
  bool hasMomentum;
  bool dgd;
  /// Inner Adam: per-token moments (scans only); `mom` then holds the first
  /// moments of every map, then the second.
  bool adam = false;
  double beta2 = 0.0, eps = 0.0;
  /// Inner Muon: per-token momentum S_t = β S_{t-1} + g_t, each token's
  /// write η_t NS(S_t) (scans only); `mom` holds S.
  bool muon = false;
  int64_t nsSteps = 5;
  // The level's constant rates: inner learning rate, momentum, retention
  // (1 without one) and local-retention strength (0 without one).
  double lr = 0.0, beta = 0.0, alpha = 1.0, lambda = 0.0;
  // The soft clamp of each token's inner gradient norm (0: none).
  double clamp = 0.0;
  /// The read function of a custom memory (null for matrix and mlp).
  ReadFnOp readFn;
};

/// The rule of `memory` (default: the level's first) in the level that `op`
/// (an nl.memorize or nl.self_modify) names.
FailureOr<MemoryRule> ruleOf(Operation *op, SymbolRefAttr levelRef,
                             SymbolTableCollection &tables,
                             MemoryOp memory = nullptr) {
  auto model = op->getParentOfType<ModelOp>();
  auto level = dyn_cast_or_null<LevelOp>(
      model ? tables.lookupSymbolIn(model, levelRef) : nullptr);
  if (!level)
    return op->emitOpError() << "level " << levelRef << " not found";
  MemoryRule r{level,
               memory ? memory : level.getUnique<MemoryOp>(),
               MemoryType(),
               level.getUnique<ObjectiveOp>(),
               level.getUnique<OptimizerOp>(),
               level.getUnique<RetentionOp>(),
               level.getFrequency().getPeriod(),
               false,
               false};
  if (!r.memory || !r.objective || !r.optimizer)
    return op->emitOpError()
           << "level " << levelRef
           << " needs a memory, an objective and an optimizer "
              "to derive its update";
  r.type = r.memory.getMemoryType();
  if (r.type.getKind() == MemoryKind::custom) {
    r.readFn = dyn_cast_or_null<ReadFnOp>(
        tables.lookupSymbolIn(model, r.type.getFn()));
    if (!r.readFn)
      return op->emitOpError() << "memory @" << r.memory.getSymName()
                               << ": no read function " << r.type.getFn();
    if (failed(checkReadFunction(r.readFn)))
      return failure();
    if (r.optimizer && r.optimizer.getKindInfo().inner == InnerForm::dgd)
      return r.optimizer.emitOpError()
             << "dgd on a memory with a written read function (@"
             << r.type.getFn().getValue()
             << "): dgd's preconditioner needs each linear map's input, "
                "which only the matrix and mlp memories have; use gd, "
                "momentum or adam";
  }
  if (r.objective.getKind() == ObjectiveKind::custom) {
    if (llvm::range_size(level.getBody().front().getOps<MemoryOp>()) > 1)
      return r.objective.emitOpError()
             << "custom objective on level @" << level.getSymName()
             << ", which holds several memories: it is derived for a level "
                "of one memory (M(k) would name only the first); use a "
                "built-in objective here";
    if (failed(checkInnerObjective(r.objective)))
      return failure();
  }
  // The derived form the optimizer's kind takes on a memory level
  // (OptimizerKindInfo::inner).
  const OptimizerKindInfo &kind = r.optimizer.getKindInfo();
  switch (kind.inner) {
  case InnerForm::gd:
    break;
  case InnerForm::momentum:
    r.hasMomentum = true;
    r.beta = r.optimizer.getHyper("beta");
    break;
  case InnerForm::dgd:
    r.dgd = true;
    r.beta = r.optimizer.getHyper("beta");
    r.hasMomentum = r.optimizer.getHyperIfSet("beta").has_value();
    break;
  case InnerForm::adam:
    r.adam = r.hasMomentum = true;
    r.beta = r.optimizer.getHyper("beta1");
    r.beta2 = r.optimizer.getHyper("beta2");
    r.eps = r.optimizer.getHyper("eps");
    break;
  case InnerForm::muon:
    r.muon = r.hasMomentum = true;
    r.beta = r.optimizer.getHyper("beta");
    r.nsSteps = int64_t(r.optimizer.getHyper("ns_steps"));
    break;
  case InnerForm::none:
    return r.optimizer.emitError()
           << "the inner optimizer '" << kind.name
           << "' of a memory level is not derived yet (" << kind.innerRefusal
           << "); use " << optimizerKindList([](const OptimizerKindInfo &k) {
                return k.inner != InnerForm::none && k.inner != InnerForm::dgd;
              })
           << " or (on a matrix or mlp memory) dgd";
  }
  if (r.optimizer.getWeightDecay() &&
      r.optimizer.getWeightDecay()->convertToDouble() != 0.0)
    return r.optimizer.emitError()
           << "weight_decay of a memory level's optimizer is not derived; "
              "forget with the level's retention instead (retention "
              "decay(alpha = ...))";
  r.lr = r.optimizer.getLr().convertToDouble();
  if (auto c = r.optimizer.getClampNorm())
    r.clamp = c->convertToDouble();
  if (r.retention && r.retention.getKind() == RetentionKind::decay)
    r.alpha = r.retention.getAlpha()->convertToDouble();
  if (r.retention && r.retention.getKind() == RetentionKind::local)
    r.lambda = r.retention.getLambda()->convertToDouble();
  return r;
}

FailureOr<MemoryRule> readRule(MemorizeOp op, SymbolTableCollection &tables) {
  FailureOr<MemoryRule> r = ruleOf(op, op.getLevel(), tables);
  if (failed(r))
    return failure();
  if (op.getMomentum() && (!r->hasMomentum || r->adam))
    return op.emitOpError()
           << "a momentum gate (momentum = ...) needs an inner optimizer "
              "with momentum (momentum, or dgd with beta); level @"
           << r->level.getSymName() << "'s is '" << r->optimizer.getKind()
           << "'";
  auto flow = op.getFlow().getDefiningOp<FlowOp>();
  if (!flow || flow.getKind() != FlowKind::keys_values)
    return op.emitOpError() << "needs a keys_values flow defined by nl.flow";
  auto kt = cast<RankedTensorType>(flow.getInputs()[0].getType());
  auto qt = cast<RankedTensorType>(op.getQueries().getType());
  if (qt.getDimSize(2) != kt.getDimSize(2))
    return op.emitOpError() << "reads " << qt.getDimSize(2)
                            << " queries but writes " << kt.getDimSize(2)
                            << " tokens; derived reads need one query per "
                               "token";
  return r;
}

/// Refuses a written level (by nl.memorize or nl.self_modify) nested inside
/// another written level: the inner memory's context within the outer
/// memory's chunks has no derived rule yet.
LogicalResult checkNestedWrites(ArrayRef<Operation *> writers,
                                SymbolTableCollection &tables) {
  llvm::DenseMap<Operation *, Operation *> writerOf; // level -> first writer
  SmallVector<std::pair<Operation *, LevelOp>> written;
  for (Operation *w : writers) {
    SymbolRefAttr ref = isa<MemorizeOp>(w) ? cast<MemorizeOp>(w).getLevel()
                                           : cast<SelfModifyOp>(w).getLevel();
    auto model = w->getParentOfType<ModelOp>();
    auto level = dyn_cast_or_null<LevelOp>(
        model ? tables.lookupSymbolIn(model, ref) : nullptr);
    if (!level)
      continue; // reported when the op is derived
    writerOf.try_emplace(level, w);
    written.push_back({w, level});
  }
  for (auto [w, level] : written)
    for (auto outer = level->getParentOfType<LevelOp>(); outer;
         outer = outer->getParentOfType<LevelOp>()) {
      auto it = writerOf.find(outer);
      if (it == writerOf.end())
        continue;
      InFlightDiagnostic d = w->emitError()
                             << "level @" << level.getSymName()
                             << " is nested in level @" << outer.getSymName()
                             << " and both are written; a memory level inside "
                                "another written memory level is not supported "
                                "(declare them side by side)";
      d.attachNote(it->second->getLoc())
          << "level @" << outer.getSymName() << " is written here";
      return d;
    }
  return success();
}

/// Derives one nl.memorize.
class Deriver {
public:
  Deriver(OpBuilder &b, Operation *op, const MemoryRule &rule,
          ArrayRef<Value> init, bool checkpoint, bool dualForm = false)
      : b(b), nb{b, op->getLoc()}, op(op), rule(rule), init(init),
        checkpoint(checkpoint), dualForm(dualForm) {}

  FailureOr<Value> run();
  LogicalResult updateChunk(SmallVectorImpl<Value> &w,
                            SmallVectorImpl<Value> &mom, Value kc, Value values,
                            Value selfFrom, Value eta, Value alphaT,
                            Value betaT, int64_t n, double lambda,
                            SmallVectorImpl<Value> &next,
                            ArrayRef<Value> start = {});
  FailureOr<Value> dualChunk(SmallVectorImpl<Value> &w,
                             SmallVectorImpl<Value> &mom, Value kc, Value vc,
                             Value selfFrom, Value qc, Value eta, Value alphaT,
                             Value betaT, int64_t n, double lambda);
  /// DGD's direction û = u / sqrt(‖u‖² + 1e-6) of a linear map's input u
  /// [..., p] (§9.2), in the scans and the chunked form alike.
  Value dgdDirection(Value u) {
    return L2NormOp::create(b, op->getLoc(), u.getType(), u,
                            b.getF64FloatAttr(1e-6));
  }
  /// (I + L)⁻¹ for L [B, H, n, n] strictly lower triangular.
  Value unitLowerInverse(Value l, int64_t n);
  /// o = W x per token: x [B, H, n, in], W [B, H, out, in] -> [B, H, n, out].
  Value mapOut(Value wi, Value x) { return nb.matmul(x, nb.transpose(wi)); }
  /// The memory at one state w (each [B, H, ...]) read at x [B, H, n, in].
  Value readAt(ArrayRef<Value> w, Value x) {
    if (rule.readFn) { // the state repeated for every token
      SmallVector<Value> rep;
      for (Value wi : w)
        rep.push_back(repeatPerToken(wi, nb.tt(x).getDimSize(2)));
      return read(rep, x);
    }
    if (rule.type.getKind() == MemoryKind::matrix)
      return mapOut(w[0], x);
    return finishMlp(mapOut(w[0], act(mapOut(w[1], x))), x);
  }

  /// Per-token weights [B, H, n, ...] applied to x [B, H, n, d].
  /// `hidden` receives act(W2 x) for mlp memories (the input of W1).
  Value read(ArrayRef<Value> w, Value x, Value *hidden = nullptr);
  Value act(Value z);
  /// The mlp memory's output normalization (`norm`) of y [..., out], before
  /// the residual: LN(y) = (y − mean y) / sqrt(var y + 1e-5), RMS(y) =
  /// y / sqrt(mean y² + 1e-5), both without affine parameters; y itself
  /// with norm = none.
  Value normOut(Value y);
  /// The residual and output normalization of an mlp memory around the
  /// output o [..., out] of its W1 for input x [..., in].
  Value finishMlp(Value o, Value x) {
    Value y = normOut(o);
    return rule.type.getIn() == rule.type.getOut() ? nb.add(y, x) : y;
  }
  /// The factor that soft-clamps a token's inner gradient of squared norm
  /// `sq` [B, H, n] to norm at most c = clamp_norm (titans-pytorch's soft
  /// clamp): c tanh(‖g‖ / c) / ‖g‖, 1 for small gradients, c / ‖g‖ for large
  /// ones; smooth, so the outer gradient goes through it.
  Value clampFactor(Value sq) {
    double c = rule.clamp;
    Value norm = nb.un<SqrtOp>(nb.add(sq, nb.c(sq, 1e-30)));
    Value t = nb.un<TanhOp>(nb.mul(norm, nb.c(norm, 1.0 / c)));
    return nb.div(nb.mul(t, nb.c(t, c)), norm);
  }
  /// The inner learning rate under `local lambda = L` retention: the
  /// proximal step η / (1 + 2 L η) (η itself when L = 0).
  Value proximalRate(Value eta, double lambda) {
    if (lambda == 0.0)
      return eta;
    return nb.div(eta,
                  nb.add(nb.c(eta, 1.0), nb.mul(nb.c(eta, 2.0 * lambda), eta)));
  }
  /// The p x p matrix of element type `elt` with entries f(row, column).
  template <typename Fn> Value constMatrix(int64_t p, Type elt, Fn f) {
    auto t = RankedTensorType::get({p, p}, elt);
    SmallVector<Attribute> v;
    for (int64_t r = 0; r < p; ++r)
      for (int64_t q = 0; q < p; ++q)
        v.push_back(b.getFloatAttr(elt, f(r, q) ? 1.0 : 0.0));
    return arith::ConstantOp::create(b, op->getLoc(), t,
                                     DenseElementsAttr::get(t, v));
  }
  /// The p x p identity matrix of element type `elt`.
  Value identity(int64_t p, Type elt) {
    return constMatrix(p, elt, [](int64_t r, int64_t q) { return r == q; });
  }
  /// The chunk's inner objective, summed over its tokens, of the memory's
  /// reads `pred` [B, H, n, dv] of the keys `keys` [B, H, n, dk] against
  /// `target` [B, H, n, dv].
  Value objective(Value pred, Value target, Value keys);
  /// x [B, H, n] -> [B, H, n, 1, ...] to scale a state of rank 3 + rest.
  Value perToken(Value g, int64_t rest) {
    return nb.insertUnitDims(g, 3, rest);
  }
  /// A per-token gate: the operand's chunk, times `scale`, or `fallback`.
  Value gate(Value operand, double scale, double fallback, int64_t s, int64_t n,
             Value like);
  /// The per-token states of state_t = gate_t state_{t-1} + in_t (inner
  /// Adam's moments, inner Muon's momentum); `state` becomes the last
  /// token's. A stream's memorize = 0 keeps the state exactly (gate 1,
  /// input 0).
  Value heldScan(Value gate, Value in, Value &state) {
    if (memorize) {
      in = nb.mul(in, memorize); // a rank-0 flag
      gate = nb.add(gate, nb.sub(nb.c(memorize, 1.0), memorize));
    }
    Value scan = LinearScanOp::create(b, op->getLoc(), in.getType(), gate, in,
                                      state, UnitAttr());
    state = nb.lastToken(scan, state.getType());
    return scan;
  }
  Value repeatPerToken(Value w, int64_t n) {
    auto t = nb.tt(w);
    SmallVector<int64_t> shape(t.getShape());
    shape.insert(shape.begin() + 2, n);
    return nb.bcast(nb.insertUnitDims(w, 2, 1),
                    RankedTensorType::get(shape, t.getElementType()));
  }

  /// A stream function's memory: the momentum at the start of the call
  /// (zeros when empty) and, for decode, the chunk-start state at which the
  /// token's gradient is taken (`init` is then the current state).
  ArrayRef<Value> initMom, gradAt;
  /// The state and momentum after the last chunk (set by run()).
  SmallVector<Value> finalW, finalMom;
  /// A stream's `memorize` flag (rank 0: 1 writes the memory, 0 keeps it at
  /// its state, η = 0 and α = 1 exactly), or null.
  Value memorize;
  /// η ← m η, β ← m β and α ← m α + (1 − m) for the `memorize` flag m
  /// (m = 0: no gradient step, the momentum carried in drops out, no decay).
  void gateByMemorize(Value &eta, Value &alphaT, Value &betaT) {
    if (!memorize)
      return;
    eta = nb.mul(eta, memorize);
    betaT = nb.mul(betaT, memorize);
    Value off = nb.sub(nb.c(memorize, 1.0), memorize);
    alphaT = nb.add(nb.mul(alphaT, memorize), off);
  }

private:
  OpBuilder &b;
  NLBuilder nb;
  Operation *op; // the nl.memorize or nl.self_modify being derived
  MemoryRule rule;
  ArrayRef<Value> init;
  bool checkpoint;
  bool dualForm;
};

Value Deriver::act(Value z) { return nb.act(rule.type.getAct(), z); }

Value Deriver::normOut(Value y) {
  MemoryNorm norm = rule.type.getNorm();
  if (norm == MemoryNorm::none)
    return y;
  double inv = 1.0 / (double)nb.tt(y).getShape().back();
  if (norm == MemoryNorm::layer)
    y = nb.sub(y, nb.mul(nb.sumLast(y), nb.c(y, inv)));
  return nb.mul(y, nb.invNorm(y, inv, 1e-5));
}

Value Deriver::read(ArrayRef<Value> w, Value x, Value *hidden) {
  auto xt = nb.tt(x);
  if (rule.readFn) // the user's read function, every token at once
    return applyReadFunction(b, op->getLoc(), rule.readFn, w, x,
                             xt.getRank() - 1);
  Value xe = nb.insertUnitDims(x, 4, 1); // [B, H, n, d, 1]
  if (rule.type.getKind() == MemoryKind::matrix) {
    Value y = nb.matmul(w[0], xe);
    SmallVector<int64_t> s(xt.getShape());
    s.back() = rule.type.getOut();
    return nb.dropUnitDims(y, RankedTensorType::get(s, xt.getElementType()));
  }
  Value z = act(nb.matmul(w[1], xe)); // [B, H, n, h, 1]
  if (hidden) {
    SmallVector<int64_t> s(xt.getShape());
    s.back() = rule.type.getHidden();
    *hidden = nb.dropUnitDims(z, RankedTensorType::get(s, xt.getElementType()));
  }
  Value y = nb.matmul(w[0], z);
  SmallVector<int64_t> s(xt.getShape());
  s.back() = rule.type.getOut();
  y = nb.dropUnitDims(y, RankedTensorType::get(s, xt.getElementType()));
  return finishMlp(y, x);
}

Value Deriver::objective(Value pred, Value target, Value keys) {
  return buildInnerObjective(b, op->getLoc(), rule.objective, pred, target,
                             keys, /*lead=*/3);
}

Value Deriver::gate(Value operand, double scale, double fallback, int64_t s,
                    int64_t n, Value like) {
  auto kt = nb.tt(like);
  auto gt = RankedTensorType::get({kt.getDimSize(0), kt.getDimSize(1), n},
                                  kt.getElementType());
  if (!operand)
    return nb.bcast(nb.c(Value(), fallback, gt), gt);
  Value g = nb.slice(operand, 2, s, n);
  return scale == 1.0 ? g : nb.mul(g, nb.c(g, scale));
}

/// One chunk of the rule for this memory: per-token gradients at the
/// chunk-start state `w` (targets `values`, or the memory's own reads of
/// `selfFrom` when `values` is null), momentum and retention scans from `w`,
/// or from `start` when given (a stream's decode step: a token inside a
/// chunk is written from the current state with its gradient at the
/// chunk-start state). Leaves the per-token states in `next` and the
/// chunk-end momentum in `mom`.
LogicalResult Deriver::updateChunk(SmallVectorImpl<Value> &w,
                                   SmallVectorImpl<Value> &mom, Value kc,
                                   Value values, Value selfFrom, Value eta,
                                   Value alphaT, Value betaT, int64_t n,
                                   double lambda, SmallVectorImpl<Value> &next,
                                   ArrayRef<Value> start) {
  Location loc = op->getLoc();
  Type elt = nb.tt(kc).getElementType();
  // Per-token gradients of the objective at the chunk-start state.
  SmallVector<Value> w0rep;
  for (Value wi : w)
    w0rep.push_back(repeatPerToken(wi, n));
  // Self-generated values v̂ = M_{W0}(v) are targets of the inner objective
  // (Hope Eq. 86: ∇L(M; k, v̂) with v̂ given): they are read from a copy of
  // the state that the per-token gradients are not taken through.
  Value target = values;
  if (!target) {
    SmallVector<Value> w0copy;
    for (Value wi : w)
      w0copy.push_back(repeatPerToken(wi, n));
    target = read(w0copy, selfFrom);
  }
  Value hidden;
  Value pred = read(w0rep, kc, &hidden);
  Value loss = objective(pred, target, kc);
  FailureOr<SmallVector<Value>> grads = buildGradients(b, loss, Value(), w0rep);
  if (failed(grads))
    return failure();

  Value etaEff = proximalRate(eta, lambda);
  Value clamped; // the soft clamp's factor per token [B, H, n], or null
  if (rule.clamp > 0) {
    Value sq;
    auto perTok = nb.tt(eta);
    for (Value g : *grads) {
      int64_t rest = nb.tt(g).getRank() - 3;
      SmallVector<int64_t> shape(perTok.getShape());
      shape.append(rest, 1);
      Value s2 = nb.dropUnitDims(
          nb.sumTo(nb.mul(g, g),
                   RankedTensorType::get(shape, perTok.getElementType())),
          perTok);
      sq = nb.add(sq, s2);
    }
    clamped = clampFactor(sq);
    if (!rule.adam && !rule.muon)
      etaEff = nb.mul(etaEff, clamped);
  }
  unsigned maps = grads->size();
  for (auto [i, g] : llvm::enumerate(*grads)) {
    int64_t rest = nb.tt(g).getRank() - 3;
    Value u; // the write of each token
    if (rule.adam) {
      // Inner Adam, per token t of the chunk (gradients g_t at the chunk
      // start, clamped first when clamp_norm is set; no bias correction,
      // the moments start at zero with the memory):
      //   m_t = β1 m_{t-1} + (1 − β1) g_t,  v_t = β2 v_{t-1} + (1 − β2) g_t²,
      //   u_t = η_t m_t / (sqrt(v_t) + ε).
      // A stream's memorize = 0 keeps both moments exactly (gate 1, input 0).
      Value gc = clamped ? nb.mul(perToken(clamped, rest), g) : g;
      auto moment = [&](Value gate, double beta, Value x, Value &state) {
        return heldScan(gate, nb.mul(nb.c(x, 1.0 - beta), x), state);
      };
      Value beta2T = nb.bcast(nb.c(eta, rule.beta2), nb.tt(eta));
      if (memorize)
        beta2T = nb.mul(beta2T, memorize); // as gateByMemorize does with β
      Value m1 = moment(betaT, rule.beta, gc, mom[i]);
      Value m2 = moment(beta2T, rule.beta2, nb.mul(gc, gc), mom[maps + i]);
      Value denom = nb.add(nb.un<SqrtOp>(m2), nb.c(m2, rule.eps));
      u = nb.mul(perToken(etaEff, rest), nb.div(m1, denom));
    } else if (rule.muon) {
      // Inner Muon, per token t of the chunk (Muon's rule, NL Eq. 24, with
      // a memory's per-token rate; gradients g_t at the chunk start, clamped
      // first when clamp_norm is set):
      //   S_t = β_t S_{t-1} + g_t,
      //   u_t = η_t NS(S_t)   (per matrix; a vector moves by η_t S_t).
      // No sqrt(rows/cols) factor: a memory's layout is the compiler's
      // (docs/optimizers.md). A stream's memorize = 0 keeps S exactly (gate
      // 1, input 0).
      Value gc = clamped ? nb.mul(perToken(clamped, rest), g) : g;
      Value sT = heldScan(betaT, gc, mom[i]);
      Value dir = rest == 2 ? newtonSchulz(nb, sT, rule.nsSteps) : sT;
      u = nb.mul(perToken(etaEff, rest), dir);
    } else if (rule.hasMomentum) {
      Value sT = LinearScanOp::create(b, loc, g.getType(), betaT,
                                      nb.mul(perToken(etaEff, rest), g), mom[i],
                                      UnitAttr());
      mom[i] = nb.lastToken(sT, mom[i].getType());
      u = sT;
    } else {
      u = nb.mul(perToken(etaEff, rest), g);
    }
    Value x = nb.un<NegOp>(u);
    Value from = start.empty() ? w[i] : start[i];
    Value wT;
    if (rule.dgd) {
      // Input of this linear map: k for W (matrix) and W2, act(W2 k) for
      // W1 (mlp), at the chunk-start state.
      bool isW1 = rule.type.getKind() == MemoryKind::mlp && i == 0;
      Value in = isW1 ? hidden : kc;
      Value uhat = dgdDirection(in);
      int64_t p = nb.tt(in).getShape().back();
      Value col = nb.insertUnitDims(uhat, 4, 1); // [B, H, n, p, 1]
      Value outer = nb.matmul(col, nb.transpose(col));
      Value eye = identity(p, elt);
      Value a = nb.sub(nb.mul(nb.insertUnitDims(alphaT, 3, 2), eye),
                       nb.mul(nb.insertUnitDims(eta, 3, 2), outer));
      wT = MatrixScanOp::create(b, loc, g.getType(), a, x, from, UnitAttr());
    } else {
      wT = LinearScanOp::create(b, loc, g.getType(), alphaT, x, from,
                                UnitAttr());
    }
    next.push_back(wT);
  }
  return success();
}

/// The chunked parallel form of one chunk (the "dual form" of linear
/// attention, extended to momentum, per-token gates, dgd and self-generated
/// values), for a matrix or MLP memory: at the chunk-start state, the
/// gradient of any objective of the memory's output is, per linear map W
/// (input x_t, output o_t = W x_t), the outer product e_t x_tᵀ with
/// e_t = ∂ℓ/∂o_t. With u_t = η_t e_t, the recurrences
///   S_t = β_t S_{t-1} + u_t x_tᵀ,   W_t = α_t W_{t-1} − S_t
/// unroll over the chunk (tokens 1..n, S_0 = M0, W_0 = W0) to
///   W_t = A_t W0 − a_t M0 − Σ_{s≤t} D_{ts} u_s x_sᵀ,
/// with Pα_{tr} = Π_{i=r+1..t} α_i, Pβ likewise, A_t = Π_{i≤t} α_i,
/// B_t = Π_{i≤t} β_i, D = Pα Pβ and a = Pα B (without momentum D = Pα and
/// a = 0). Reading W_t at p_t for every t is then matmuls:
///   O = A ⊙ (P W0ᵀ) − a ⊙ (P M0ᵀ) − (D ⊙ (P Xᵀ)) U,
/// and the chunk-end state W_n = A_n W0 − a_n M0 − (U ⊙ D_n)ᵀ X.
///
/// dgd (NL-A Eqs. 56–57, §9.2) multiplies the state by α_t I − η_t û_t û_tᵀ
/// (û_t = x_t/‖x_t‖) instead of α_t: W_t = α_t W_{t-1} − η_t w_t û_tᵀ − S_t
/// with w_t = W_{t-1} û_t, which adds − Σ_{s≤t} Pα_{ts} η_s w_s û_sᵀ to W_t.
/// The vectors w_t solve one unit lower-triangular system per chunk (the
/// WY / UT form of the chunked delta rule):
///   (I + (Pα' ⊙ Û Ûᵀ) diag η) w = A' ⊙ (Û W0ᵀ) − a' ⊙ (Û M0ᵀ)
///                                  − (D' ⊙ (Û Xᵀ)) U,
/// where ' shifts the rows down by one token (row t holds t − 1's; A'_1 =
/// 1), and the reads and the chunk-end state gain − (Pα ⊙ (P Ûᵀ)) (η ⊙ w)
/// and − ((η ⊙ w) ⊙ Pα_n)ᵀ Û. With self-generated values (Hope Eq. 86) the
/// targets are the memory's own reads of `selfFrom` at the chunk-start
/// state. Per (b, h): O(n² d + n d² + n³ log n) work in n×n and n×d tensors
/// instead of the n per-token d×d states of the scans (updateChunk); the
/// same arithmetic up to rounding (test/Numerics and test/reference check
/// both forms against float64 references). Returns the reads of `qc`
/// (nothing without queries: nl.self_modify reads at the chunk start).
FailureOr<Value> Deriver::dualChunk(SmallVectorImpl<Value> &w,
                                    SmallVectorImpl<Value> &mom, Value kc,
                                    Value vc, Value selfFrom, Value qc,
                                    Value eta, Value alphaT, Value betaT,
                                    int64_t n, double lambda) {
  Location loc = op->getLoc();
  auto kt = nb.tt(kc);
  Type elt = kt.getElementType();
  int64_t bsz = kt.getDimSize(0), heads = kt.getDimSize(1);
  auto tensor = [&](ArrayRef<int64_t> shape) {
    return RankedTensorType::get(shape, elt);
  };
  bool mlp = rule.type.getKind() == MemoryKind::mlp;

  // The forward at the chunk-start state, keeping each map's input and
  // output (maps in state order: W, or W1 then W2).
  SmallVector<Value> xs, outs;
  Value pred;
  if (!mlp) {
    xs = {kc};
    outs = {mapOut(w[0], kc)};
    pred = outs[0];
  } else {
    Value o2 = mapOut(w[1], kc);
    Value z = act(o2);
    Value o1 = mapOut(w[0], z);
    xs = {z, kc};
    outs = {o1, o2};
    pred = finishMlp(o1, kc);
  }
  Value target = vc ? vc : readAt(w, selfFrom);
  Value loss = objective(pred, target, kc);
  FailureOr<SmallVector<Value>> es = buildGradients(b, loss, Value(), outs);
  if (failed(es))
    return failure();
  Value etaEff = proximalRate(eta, lambda);
  if (rule.clamp > 0) {
    // ‖g_t‖² = Σ_maps ‖e_t‖² ‖x_t‖² (each map's gradient is e_t x_tᵀ).
    Value sq;
    for (auto [e, x] : llvm::zip(*es, xs))
      sq = nb.add(sq,
                  nb.mul(nb.sumLast(nb.mul(e, e)), nb.sumLast(nb.mul(x, x))));
    etaEff = nb.mul(etaEff, clampFactor(nb.dropUnitDims(sq, nb.tt(eta))));
  }
  SmallVector<Value> us;
  for (Value e : *es)
    us.push_back(nb.mul(nb.insertUnitDims(etaEff, 3, 1), e));

  // Token-mixing matrices, by scans over the chunk of n-vectors: row t of
  // Pα is h_t = α_t h_{t-1} + δ_t.
  Value eyes = nb.bcast(identity(n, elt), tensor({bsz, heads, n, n}));
  Value zeroRow = nb.zeros(tensor({bsz, heads, n}));
  Value zeroCol = nb.zeros(tensor({bsz, heads, n, 1}));
  Value one = nb.bcast(nb.c(eta, 1.0), tensor({bsz, heads, 1}));
  auto scan = [&](Value gate, Value x, Value h0) {
    return LinearScanOp::create(b, loc, x.getType(), gate, x, h0, UnitAttr())
        .getResult();
  };
  Value pa = scan(alphaT, eyes, zeroRow);   // [B, H, n, n]
  Value prodA = scan(alphaT, zeroCol, one); // [B, H, n, 1]
  Value d = pa, a, pb, prodB;
  if (rule.hasMomentum) {
    pb = scan(betaT, eyes, zeroRow);
    prodB = scan(betaT, zeroCol, one);
    d = nb.matmul(pa, pb);
    a = nb.matmul(pa, prodB);
  }

  // dgd: per map, û and η ⊙ w with w_t = W_{t-1} û_t.
  SmallVector<Value> uhats, ews;
  if (rule.dgd) {
    Value paS = nb.shift(pa, 2, 1), dS = nb.shift(d, 2, 1);
    Value prodAS =
        nb.add(nb.shift(prodA, 2, 1), nb.slice(identity(n, elt), 1, 0, 1));
    Value aS = rule.hasMomentum ? nb.shift(a, 2, 1) : Value();
    Value etaCols = nb.insertUnitDims(eta, 2, 1); // [B, H, 1, n]
    for (unsigned i = 0; i < w.size(); ++i) {
      Value uh = dgdDirection(xs[i]);
      Value l = nb.mul(nb.mul(paS, nb.matmul(uh, nb.transpose(uh))), etaCols);
      Value r = nb.mul(prodAS, mapOut(w[i], uh));
      if (rule.hasMomentum)
        r = nb.sub(r, nb.mul(aS, mapOut(mom[i], uh)));
      r = nb.sub(
          r, nb.matmul(nb.mul(dS, nb.matmul(uh, nb.transpose(xs[i]))), us[i]));
      Value wv = nb.matmul(unitLowerInverse(l, n), r); // [B, H, n, out]
      uhats.push_back(uh);
      ews.push_back(nb.mul(nb.insertUnitDims(eta, 3, 1), wv));
    }
  }

  // W_t applied to p_t for every t: [B, H, n, in_i] -> [B, H, n, out_i].
  auto apply = [&](unsigned i, Value p) {
    Value r = nb.mul(prodA, mapOut(w[i], p));
    if (rule.hasMomentum)
      r = nb.sub(r, nb.mul(a, mapOut(mom[i], p)));
    Value scores = nb.matmul(p, nb.transpose(xs[i])); // [B, H, n, n]
    r = nb.sub(r, nb.matmul(nb.mul(d, scores), us[i]));
    if (rule.dgd)
      r = nb.sub(r, nb.matmul(nb.mul(pa, nb.matmul(p, nb.transpose(uhats[i]))),
                              ews[i]));
    return r;
  };
  Value y;
  if (qc)
    y = mlp ? finishMlp(apply(0, act(apply(1, qc))), qc) : apply(0, qc);

  // The chunk-end state and momentum.
  auto lastRow = [&](Value m) { // [B, H, n, k] -> row n-1 as [B, H, k, 1]
    return nb.transpose(nb.slice(m, 2, n - 1, 1));
  };
  Value dn = lastRow(d), an = nb.slice(prodA, 2, n - 1, 1), pan = lastRow(pa);
  Value mn, pbn, bn;
  if (rule.hasMomentum) {
    mn = nb.slice(a, 2, n - 1, 1);
    pbn = lastRow(pb);
    bn = nb.slice(prodB, 2, n - 1, 1);
  }
  SmallVector<Value> w0(w.begin(), w.end()), m0(mom.begin(), mom.end());
  for (unsigned i = 0; i < w.size(); ++i) {
    Value wn = nb.mul(an, w0[i]);
    if (rule.hasMomentum)
      wn = nb.sub(wn, nb.mul(mn, m0[i]));
    wn = nb.sub(wn, nb.matmul(nb.transpose(nb.mul(us[i], dn)), xs[i]));
    if (rule.dgd)
      wn = nb.sub(wn, nb.matmul(nb.transpose(nb.mul(ews[i], pan)), uhats[i]));
    w[i] = wn;
    if (rule.hasMomentum)
      mom[i] = nb.add(nb.mul(bn, m0[i]),
                      nb.matmul(nb.transpose(nb.mul(us[i], pbn)), xs[i]));
  }
  return y;
}

/// (I + L)⁻¹ by recursive doubling of block forward substitution (the
/// chunked delta rule's UT transform): with T the inverse of the diagonal
/// blocks of size m, the blocks of size 2m are [[A, 0], [C, B]]⁻¹ =
/// [[A⁻¹, 0], [−B⁻¹ C A⁻¹, B⁻¹]], i.e. T ← T − T (L ⊙ M_m) T, where M_m
/// selects the lower off-diagonal m×m block of each 2m block. ⌈log₂ n⌉
/// steps, every op differentiable by reverse mode. When n is a multiple of
/// kSolveBlock (and larger), the steps below it run on the diagonal blocks
/// alone ([B, H, n / b, b, b] products instead of n×n ones), which are then
/// placed on the diagonal for the full-size steps.
Value Deriver::unitLowerInverse(Value l, int64_t n) {
  constexpr int64_t kSolveBlock = 16;
  auto lt = nb.tt(l);
  Type elt = lt.getElementType();
  // The doubling steps m = from, 2 from, ... < size on t and l of size
  // `size` in their last two dims.
  auto doubling = [&](Value t, Value lm, int64_t size, int64_t from) {
    for (int64_t m = from; m < size; m *= 2) {
      Value mask = constMatrix(size, elt, [m](int64_t r, int64_t c) {
        return r / (2 * m) == c / (2 * m) && r / m != c / m && r > c;
      });
      Value off = nb.mul(lm, mask);
      // Blocks of size 1 are 1: T = I needs no products.
      t = nb.sub(t, m == 1 ? off : nb.matmul(nb.matmul(t, off), t));
    }
    return t;
  };
  int64_t bs = kSolveBlock;
  if (n <= bs || n % bs != 0)
    return doubling(nb.bcast(identity(n, elt), lt), l, n, 1);
  int64_t blocks = n / bs, bsz = lt.getDimSize(0), heads = lt.getDimSize(1);
  auto blockT = RankedTensorType::get({bsz, heads, bs, bs}, elt);
  auto stackedT = RankedTensorType::get({bsz, heads, blocks, bs, bs}, elt);
  Value diag; // the diagonal blocks of L, [B, H, n / b, b, b]
  for (int64_t j = 0; j < blocks; ++j) {
    Value blk = nb.slice(nb.slice(l, 2, j * bs, bs), 3, j * bs, bs);
    diag = nb.add(diag, nb.pad(nb.insertUnitDims(blk, 2, 1), 2, j, blocks));
  }
  Value tb =
      doubling(nb.bcast(identity(bs, elt), stackedT), diag, bs, /*from=*/1);
  Value t; // the block inverses on the diagonal, [B, H, n, n]
  for (int64_t j = 0; j < blocks; ++j) {
    Value blk = nb.dropUnitDims(nb.slice(tb, 2, j, 1), blockT);
    t = nb.add(t, nb.pad(nb.pad(blk, 2, j * bs, n), 3, j * bs, n));
  }
  return doubling(t, l, n, bs);
}

FailureOr<Value> Deriver::run() {
  auto op = cast<MemorizeOp>(this->op);
  Location loc = op.getLoc();
  auto flow = op.getFlow().getDefiningOp<FlowOp>();
  Value keys = flow.getInputs()[0], values = flow.getInputs()[1];
  Value queries = op.getQueries();
  auto kt = nb.tt(keys);
  int64_t tokens = kt.getDimSize(2), c = rule.chunk;
  Type elt = kt.getElementType();
  double lr = rule.lr, beta = rule.beta, alpha = rule.alpha,
         lambda = rule.lambda;

  Value streamFlag = memorize;
  SmallVector<Value> w(init.begin(), init.end()), mom;
  // Momentum per map; inner Adam's first moments, then its second.
  for (unsigned i = 0, e = rule.adam ? 2 * w.size() : w.size(); i < e; ++i)
    mom.push_back(initMom.empty() ? nb.zeros(w[i % w.size()].getType())
                                  : initMom[i]);
  auto outT = cast<RankedTensorType>(op.getResult().getType());
  Value result;
  for (int64_t s = 0; s < tokens; s += c) {
    int64_t n = std::min(c, tokens - s);
    Value kc = nb.slice(keys, 2, s, n), vc = nb.slice(values, 2, s, n),
          qc = nb.slice(queries, 2, s, n);
    Value eta = gate(op.getLr(), lr, lr, s, n, queries);
    Value alphaT = gate(op.getDecay(), 1.0, alpha, s, n, queries);
    Value betaT = gate(op.getMomentum(), 1.0, beta, s, n, queries);
    gateByMemorize(eta, alphaT, betaT);

    // The chunk, as a recomputed region: its operands (the chunk-start state
    // and the chunk's inputs) are all that reverse mode keeps.
    OpBuilder::InsertionGuard guard(b);
    CheckpointOp region;
    // A decode step's chunk-start state (empty otherwise).
    SmallVector<Value> at(gradAt.begin(), gradAt.end());
    if (checkpoint) {
      SmallVector<Value> inputs(w);
      if (rule.hasMomentum)
        inputs.append(mom);
      inputs.append({kc, vc, qc, eta, alphaT, betaT});
      inputs.append(at);
      // Inner Adam and Muon read a stream's memorize flag inside the region.
      Value outerFlag = rule.adam || rule.muon ? memorize : Value();
      if (outerFlag)
        inputs.push_back(outerFlag);
      SmallVector<Type> results(ValueRange(w).getTypes());
      if (rule.hasMomentum)
        llvm::append_range(results, ValueRange(mom).getTypes());
      auto yt = nb.tt(vc);
      results.push_back(RankedTensorType::get(
          {yt.getDimSize(0), yt.getDimSize(1), n, outT.getDimSize(3)}, elt));
      region = CheckpointOp::create(b, loc, results, inputs);
      Block *blk = b.createBlock(&region.getBody());
      for (Value in : inputs)
        blk->addArgument(in.getType(), loc);
      b.setInsertionPointToStart(blk);
      ValueRange args = blk->getArguments();
      unsigned nw = w.size();
      for (unsigned i = 0; i < nw; ++i)
        w[i] = args[i];
      unsigned off = nw;
      if (rule.hasMomentum) {
        for (unsigned i = 0; i < mom.size(); ++i)
          mom[i] = args[off + i];
        off += mom.size();
      }
      kc = args[off];
      vc = args[off + 1];
      qc = args[off + 2];
      eta = args[off + 3];
      alphaT = args[off + 4];
      betaT = args[off + 5];
      for (auto [i, a] : llvm::enumerate(at))
        a = args[off + 6 + i];
      if (outerFlag)
        memorize = args.back();
    }

    Value y;
    if (!at.empty()) {
      // A stream's decode step (one token): the gradient at the chunk-start
      // state, the scans from the current one.
      SmallVector<Value> next;
      if (failed(updateChunk(at, mom, kc, op.getSelfValues() ? Value() : vc, vc,
                             eta, alphaT, betaT, n, lambda, next, w)))
        return failure();
      y = read(next, qc);
      for (auto [i, wT] : llvm::enumerate(next))
        w[i] = nb.lastToken(wT, w[i].getType());
    } else if (dualForm && !rule.adam &&
               !rule.muon) { // Adam's moments, Muon's NS: the scans
      FailureOr<Value> dual =
          dualChunk(w, mom, kc, op.getSelfValues() ? Value() : vc, vc, qc, eta,
                    alphaT, betaT, n, lambda);
      if (failed(dual))
        return failure();
      y = *dual;
    } else {
      SmallVector<Value> next;
      if (failed(updateChunk(w, mom, kc, op.getSelfValues() ? Value() : vc, vc,
                             eta, alphaT, betaT, n, lambda, next)))
        return failure();
      y = read(next, qc);
      for (auto [i, wT] : llvm::enumerate(next))
        w[i] = nb.lastToken(wT, w[i].getType());
    }
    if (region) {
      SmallVector<Value> yielded(w);
      if (rule.hasMomentum)
        yielded.append(mom);
      yielded.push_back(y);
      YieldOp::create(b, loc, yielded);
      b.setInsertionPointAfter(region);
      unsigned nw = w.size();
      for (unsigned i = 0; i < nw; ++i)
        w[i] = region.getResult(i);
      if (rule.hasMomentum)
        for (unsigned i = 0; i < mom.size(); ++i)
          mom[i] = region.getResult(nw + i);
      y = region.getResults().back();
      memorize = streamFlag; // the region's own copy ends with it
    }
    Value placed = n == tokens ? y : nb.pad(y, 2, s, tokens);
    result = result ? nb.add(result, placed) : placed;
  }
  if (result.getType() != outT)
    return op.emitOpError() << "derived read has type " << result.getType()
                            << ", expected " << outT;
  finalW = w;
  finalMom = mom;
  return result;
}

/// Tensor shapes [H, ...] of a memory's state: a custom memory's are its
/// read function's parameters (`fn`), one per head.
SmallVector<SmallVector<int64_t>> stateShapes(MemoryType t, ReadFnOp fn) {
  int64_t h = t.getHeads(), in = t.getIn(), out = t.getOut();
  if (fn) {
    SmallVector<SmallVector<int64_t>> shapes;
    for (Type p : fn.getFunctionType().getInputs().drop_back()) {
      SmallVector<int64_t> s{h};
      llvm::append_range(s, cast<RankedTensorType>(p).getShape());
      shapes.push_back(s);
    }
    return shapes;
  }
  if (t.getKind() == MemoryKind::matrix)
    return {{h, out, in}};
  int64_t hid = t.getHidden();
  return {{h, out, hid}, {h, hid, in}};
}

/// The names of a memory's state tensors after its own: a custom memory's
/// are its read function's parameter names.
SmallVector<std::string> stateSuffixes(MemoryType t, ReadFnOp fn) {
  if (fn) {
    SmallVector<std::string> names;
    unsigned n = fn.getFunctionType().getNumInputs() - 1;
    for (unsigned i = 0; i < n; ++i)
      names.push_back(fn.getParamNames()
                          ? cast<StringAttr>((*fn.getParamNames())[i]).str()
                          : "p" + std::to_string(i));
    return names;
  }
  if (t.getKind() == MemoryKind::matrix)
    return {"w"};
  return {"w1", "w2"};
}

/// The state arguments that derive-inner-updates adds to a stream function
/// (`nl.stream` = "decode" or "prefill"), each with its value after the
/// call, returned in the same order. Each argument and result carries
/// `nl.stream = {name, init, ...}` (docs/streaming.md).
struct StreamState {
  func::FuncOp fn;
  bool decode = false;
  SmallVector<Value> next; // per added argument
  SmallVector<DictionaryAttr> attrs;

  /// The rank-0 argument `nl.memorize` (1: memories learn as in training;
  /// 0: they keep their state), added once.
  Value memorizeFlag(Type elt) {
    if (memorize)
      return memorize;
    unsigned i = fn.getNumArguments();
    OpBuilder b(fn);
    (void)fn.insertArgument(
        i, RankedTensorType::get({}, elt),
        b.getDictionaryAttr(b.getNamedAttr("nl.memorize", b.getUnitAttr())),
        fn.getLoc());
    return memorize = fn.getArgument(i);
  }
  Value memorize;

  Value add(Type t, DictionaryAttr attr) {
    unsigned i = fn.getNumArguments();
    OpBuilder b(fn);
    (void)fn.insertArgument(
        i, t, b.getDictionaryAttr(b.getNamedAttr("nl.stream", attr)),
        fn.getLoc());
    attrs.push_back(attr);
    next.push_back(Value());
    return fn.getArgument(i);
  }
  /// Returns every added argument's value after the call.
  void finish() {
    auto ret = cast<func::ReturnOp>(fn.getBody().front().getTerminator());
    unsigned first = ret.getNumOperands();
    ret->insertOperands(first, next);
    OpBuilder b(fn);
    for (auto [i, attr] : llvm::enumerate(attrs))
      (void)fn.insertResult(
          first + i, next[i].getType(),
          b.getDictionaryAttr(b.getNamedAttr("nl.stream", attr)));
  }
};

/// A memory's state in a stream function: the current state, the
/// chunk-start state (decode takes the token's gradient there; the runtime
/// copies the current state into it at each chunk boundary) and the
/// momentum (with a momentum optimizer), each a list of [B, H, ...] parts.
struct MemoryStream {
  SmallVector<Value> cur, start, mom;
  SmallVector<unsigned> curIdx, startIdx, momIdx; // in StreamState::next
};

struct DeriveInnerUpdates
    : public mlir::nl::impl::DeriveInnerUpdatesBase<DeriveInnerUpdates> {
  using Base::Base;

  /// Adds the state of memory `mem` (rule `r`, parts initialized from
  /// `inits`: a split init param's reference, or "zeros") to `ss`.
  static MemoryStream streamArgs(StreamState &ss, MemoryRule r, MemoryOp mem,
                                 ArrayRef<Attribute> inits, Type elt,
                                 int64_t bsz) {
    OpBuilder b(ss.fn);
    MemoryStream ms;
    std::string base = (r.level.getSymName() + "." + mem.getSymName()).str();
    auto shapes = stateShapes(r.type, r.readFn);
    auto suffixes = stateSuffixes(r.type, r.readFn);
    auto typeOf = [&](unsigned j) {
      SmallVector<int64_t> full{bsz};
      full.append(shapes[j].begin(), shapes[j].end());
      return RankedTensorType::get(full, elt);
    };
    auto dict = [&](std::string name, Attribute init,
                    std::string commitFrom = "") {
      SmallVector<NamedAttribute> a{
          b.getNamedAttr("name", b.getStringAttr(name)),
          b.getNamedAttr("init", init),
          b.getNamedAttr("memory", b.getUnitAttr())};
      if (!commitFrom.empty()) {
        a.push_back(b.getNamedAttr("commit_from", b.getStringAttr(commitFrom)));
        a.push_back(b.getNamedAttr("every", b.getI64IntegerAttr(r.chunk)));
      }
      return b.getDictionaryAttr(a);
    };
    for (unsigned j = 0; j < shapes.size(); ++j) {
      std::string name = base + "." + suffixes[j];
      ms.curIdx.push_back(ss.next.size());
      ms.cur.push_back(ss.add(typeOf(j), dict(name, inits[j])));
      ms.startIdx.push_back(ss.next.size());
      ms.start.push_back(
          ss.add(typeOf(j), dict(name + ".start", inits[j], name)));
      if (r.hasMomentum) {
        ms.momIdx.push_back(ss.next.size());
        ms.mom.push_back(
            ss.add(typeOf(j), dict(name + ".mom", b.getStringAttr("zeros"))));
      }
    }
    // Inner Adam's second moments, after the first (the order of `mom`).
    for (unsigned j = 0; r.adam && j < shapes.size(); ++j) {
      ms.momIdx.push_back(ss.next.size());
      ms.mom.push_back(ss.add(typeOf(j), dict(base + "." + suffixes[j] + ".sq",
                                              b.getStringAttr("zeros"))));
    }
    return ms;
  }
  /// Refuses a prefill (`ss`, not decode) of `tokens` that are not whole
  /// chunks of the level of rule `r` (written by `m`).
  static LogicalResult checkWholeChunks(Operation *m, StreamState *ss,
                                        int64_t tokens, MemoryRule r) {
    if (!ss || ss->decode || tokens % r.chunk == 0)
      return success();
    return m->emitOpError()
           << "a prefill of " << tokens << " tokens is not whole chunks of "
           << r.chunk << " tokens of level @" << r.level.getSymName();
  }
  /// After the call: the current state `w` and momentum `mom`; the
  /// chunk-start state is the current one after a prefill (which ends on a
  /// chunk boundary) and unchanged after a decode step.
  static void streamResults(StreamState &ss, const MemoryStream &ms,
                            ArrayRef<Value> w, ArrayRef<Value> mom) {
    for (unsigned j = 0; j < ms.cur.size(); ++j) {
      ss.next[ms.curIdx[j]] = w[j];
      ss.next[ms.startIdx[j]] = ss.decode ? ms.start[j] : w[j];
    }
    for (unsigned j = 0; j < ms.mom.size(); ++j)
      ss.next[ms.momIdx[j]] = mom[j];
  }

  /// Self-modifying Titans (Hope, NL-A Eqs. 83–89): the memories of the level,
  /// in declaration order, read the input at the chunk-start state; the
  /// first two reads are the keys and values of every memory's update, each
  /// memory generating its own values v̂_i = M_i(v); the reads are the
  /// results. Gates are the level's constants.
  template <typename InitFn, typename RefsFn>
  FailureOr<LevelOp>
  deriveSelfModify(SelfModifyOp sm, SymbolTableCollection &tables,
                   InitFn &initialState, StreamState *ss, RefsFn &initRefs) {
    auto model = sm->getParentOfType<ModelOp>();
    auto level =
        dyn_cast_or_null<LevelOp>(tables.lookupSymbolIn(model, sm.getLevel()));
    if (!level)
      return sm.emitOpError() << "level " << sm.getLevel() << " not found";
    // At least two: the verifier (verifySymbolUses) requires the keys' and
    // the values' memories.
    SmallVector<MemoryOp> mems(level.getBody().front().getOps<MemoryOp>());
    OpBuilder b(sm);
    NLBuilder nb{b, sm.getLoc()};
    Value x = sm.getInput();
    auto xt = cast<RankedTensorType>(x.getType());
    Type elt = xt.getElementType();
    int64_t bsz = xt.getDimSize(0), tokens = xt.getDimSize(2);
    SmallVector<MemoryRule> rules;
    SmallVector<SmallVector<Value>> w, mom;
    // A stream function's memories (MemoryStream), and in a decode step the
    // chunk-start states that the token is read and differentiated at.
    std::vector<MemoryStream> streamsOf;
    SmallVector<SmallVector<Value>> at;
    bool decode = ss && ss->decode;
    for (MemoryOp mem : mems) {
      FailureOr<MemoryRule> r = ruleOf(sm, sm.getLevel(), tables, mem);
      if (failed(r))
        return failure();
      if (r->readFn)
        return sm.emitOpError()
               << "memory @" << mem.getSymName()
               << " has a written read function: on a self-modifying level "
                  "(nl.self_modify) it is not derived yet; use matrix or mlp";
      if (r->adam || r->muon)
        return sm.emitOpError()
               << "inner " << r->optimizer.getKind()
               << " on a self-modifying level (nl.self_modify) is not derived "
                  "yet; use gd, momentum or dgd";
      if (r->retention && r->retention.getKind() == RetentionKind::gate)
        return sm.emitOpError() << "gate retention needs per-token gates, "
                                   "which nl.self_modify does not take; use "
                                   "decay";
      rules.push_back(*r);
      if (ss) {
        if (failed(checkWholeChunks(sm, ss, tokens, *r)))
          return failure();
        streamsOf.push_back(
            streamArgs(*ss, *r, mem, initRefs(sm, *r, elt), elt, bsz));
        w.push_back(streamsOf.back().cur);
        at.push_back(streamsOf.back().start);
      } else {
        w.push_back(initialState(b, sm, *r, elt, bsz));
      }
      SmallVector<Value> m;
      for (auto [j, wi] : llvm::enumerate(w.back()))
        m.push_back(ss && r->hasMomentum ? streamsOf.back().mom[j]
                                         : nb.zeros(wi.getType()));
      mom.push_back(m);
    }
    MemoryRule r0 = rules.front();
    double lr = r0.lr, beta = r0.beta, alpha = r0.alpha, lambda = r0.lambda;
    SmallVector<Value> results(mems.size());
    for (int64_t s = 0; s < tokens; s += r0.chunk) {
      int64_t n = std::min(r0.chunk, tokens - s);
      Value xc = nb.slice(x, 2, s, n);
      SmallVector<Deriver, 4> ds;
      for (auto [i, r] : llvm::enumerate(rules))
        ds.emplace_back(b, sm, r, ArrayRef<Value>(), false, dualForm);
      Value eta = ds[0].gate(Value(), lr, lr, s, n, x);
      Value alphaT = ds[0].gate(Value(), 1.0, alpha, s, n, x);
      Value betaT = ds[0].gate(Value(), 1.0, beta, s, n, x);
      if (ss)
        ds[0].memorize = ss->memorizeFlag(elt);
      ds[0].gateByMemorize(eta, alphaT, betaT);

      // The chunk, as a recomputed region (as in Deriver::run): every
      // memory's chunk-start state and momentum, and the chunk's input.
      OpBuilder::InsertionGuard guard(b);
      CheckpointOp region;
      if (checkpoint) {
        SmallVector<Value> inputs;
        SmallVector<Type> types;
        for (auto [i, r] : llvm::enumerate(rules)) {
          inputs.append(w[i]);
          if (r.hasMomentum)
            inputs.append(mom[i]);
        }
        llvm::append_range(types, ValueRange(inputs).getTypes());
        for (Value res : sm.getResults()) {
          auto rt = cast<RankedTensorType>(res.getType());
          SmallVector<int64_t> shape(rt.getShape());
          shape[2] = n;
          types.push_back(RankedTensorType::get(shape, elt));
        }
        inputs.append({xc, eta, alphaT, betaT});
        // A decode step's chunk-start states.
        if (decode)
          for (auto &a : at)
            inputs.append(a);
        region = CheckpointOp::create(b, sm.getLoc(), types, inputs);
        Block *blk = b.createBlock(&region.getBody());
        for (Value in : inputs)
          blk->addArgument(in.getType(), sm.getLoc());
        b.setInsertionPointToStart(blk);
        auto args = blk->getArguments();
        unsigned off = 0;
        for (auto [i, r] : llvm::enumerate(rules)) {
          for (Value &wi : w[i])
            wi = args[off++];
          if (r.hasMomentum)
            for (Value &mi : mom[i])
              mi = args[off++];
        }
        xc = args[off];
        eta = args[off + 1];
        alphaT = args[off + 2];
        betaT = args[off + 3];
        off += 4;
        if (decode)
          for (auto &a : at)
            for (Value &ai : a)
              ai = args[off++];
      }

      SmallVector<Value> reads;
      for (auto [i, d] : llvm::enumerate(ds)) {
        if (decode) { // one token, read at the chunk-start state
          reads.push_back(d.readAt(at[i], xc));
          continue;
        }
        if (dualForm) {
          reads.push_back(d.readAt(w[i], xc));
          continue;
        }
        SmallVector<Value> rep;
        for (Value wi : w[i])
          rep.push_back(d.repeatPerToken(wi, n));
        reads.push_back(d.read(rep, xc));
      }
      Value kc = reads[0], vc = reads[1];
      for (auto [i, d] : llvm::enumerate(ds)) {
        if (dualForm && !decode) {
          if (failed(d.dualChunk(w[i], mom[i], kc, Value(), vc, Value(), eta,
                                 alphaT, betaT, n, lambda)))
            return failure();
          continue;
        }
        SmallVector<Value> next;
        if (failed(d.updateChunk(decode ? at[i] : w[i], mom[i], kc, Value(), vc,
                                 eta, alphaT, betaT, n, lambda, next,
                                 decode ? ArrayRef<Value>(w[i])
                                        : ArrayRef<Value>())))
          return failure();
        for (auto [j, wT] : llvm::enumerate(next))
          w[i][j] = nb.lastToken(wT, w[i][j].getType());
      }
      if (region) {
        SmallVector<Value> yielded;
        for (auto [i, r] : llvm::enumerate(rules)) {
          yielded.append(w[i]);
          if (r.hasMomentum)
            yielded.append(mom[i]);
        }
        yielded.append(reads);
        YieldOp::create(b, sm.getLoc(), yielded);
        b.setInsertionPointAfter(region);
        unsigned off = 0;
        for (auto [i, r] : llvm::enumerate(rules)) {
          for (Value &wi : w[i])
            wi = region.getResult(off++);
          if (r.hasMomentum)
            for (Value &mi : mom[i])
              mi = region.getResult(off++);
        }
        for (Value &read : reads)
          read = region.getResult(off++);
      }
      for (auto [i, read] : llvm::enumerate(reads)) {
        Value placed = n == tokens ? read : nb.pad(read, 2, s, tokens);
        results[i] = results[i] ? nb.add(results[i], placed) : placed;
      }
    }
    if (ss)
      for (auto [i, ms] : llvm::enumerate(streamsOf))
        streamResults(*ss, ms, w[i], mom[i]);
    for (auto [res, v] : llvm::zip(sm.getResults(), results)) {
      if (res.getType() != v.getType())
        return sm.emitOpError() << "derived read has type " << v.getType()
                                << ", expected " << res.getType();
      res.replaceAllUsesWith(v);
    }
    sm.erase();
    return level;
  }
  void runOnOperation() override {
    ModuleOp module = getOperation();
    SymbolTableCollection tables;
    SmallVector<MemorizeOp> todo;
    module.walk([&](MemorizeOp m) { todo.push_back(m); });
    SmallVector<SelfModifyOp> selfMods;
    module.walk([&](SelfModifyOp s) { selfMods.push_back(s); });
    SmallVector<Operation *> writers(todo.begin(), todo.end());
    writers.append(selfMods.begin(), selfMods.end());
    if (failed(checkNestedWrites(writers, tables)))
      return signalPassFailure();

    SetVector<Operation *> derivedLevels;
    // Split memory-typed initial-state params into tensor params, once.
    llvm::DenseMap<Operation *, SmallVector<ParamOp>> split;
    auto splitParam = [&](ParamOp p, Type elt) -> SmallVector<ParamOp> {
      auto &slot = split[p];
      if (!slot.empty())
        return slot;
      auto mt = cast<MemoryType>(p.getType());
      ReadFnOp fn = mt.getKind() == MemoryKind::custom
                        ? dyn_cast_or_null<ReadFnOp>(tables.lookupSymbolIn(
                              p->getParentOfType<ModelOp>(), mt.getFn()))
                        : ReadFnOp();
      OpBuilder pb(p);
      for (auto [shape, suffix] :
           llvm::zip(stateShapes(mt, fn), stateSuffixes(mt, fn))) {
        auto np = ParamOp::create(
            pb, p.getLoc(),
            pb.getStringAttr((p.getSymName() + "." + suffix).str()),
            TypeAttr::get(RankedTensorType::get(shape, elt)), p.getInitAttr(),
            p.getStdAttr(), p.getOptimizerAttr());
        slot.push_back(np);
      }
      return slot;
    };

    // How a memory's state starts, per part: the reference of its split
    // init param, or "zeros".
    auto initRefs = [&](Operation *m, MemoryRule r, Type elt) {
      SmallVector<Attribute> refs;
      ParamOp initParam;
      if (auto ref = r.memory.getInitAttr())
        initParam = dyn_cast_or_null<ParamOp>(
            tables.lookupSymbolIn(m->getParentOfType<ModelOp>(), ref));
      if (initParam)
        for (ParamOp part : splitParam(initParam, elt))
          refs.push_back(paramPath(part, part.getSymNameAttr()));
      else
        refs.assign(stateShapes(r.type, r.readFn).size(),
                    StringAttr::get(&getContext(), "zeros"));
      return refs;
    };
    // The initial state of a memory: its split init params broadcast over
    // the batch, or zeros.
    auto initialState = [&](OpBuilder &b, Operation *m, const MemoryRule &r,
                            Type elt, int64_t bsz) {
      NLBuilder nb{b, m->getLoc()};
      SmallVector<Value> init;
      for (auto [ref, shape] :
           llvm::zip(initRefs(m, r, elt), stateShapes(r.type, r.readFn))) {
        SmallVector<int64_t> full{bsz};
        full.append(shape.begin(), shape.end());
        auto t = RankedTensorType::get(full, elt);
        if (auto param = dyn_cast<SymbolRefAttr>(ref))
          init.push_back(nb.bcast(
              GetParamOp::create(b, m->getLoc(),
                                 RankedTensorType::get(shape, elt), param),
              t));
        else
          init.push_back(nb.zeros(t));
      }
      return init;
    };

    // The state arguments of each stream function, in the order met.
    llvm::MapVector<Operation *, std::unique_ptr<StreamState>> streams;
    auto streamOf = [&](Operation *m) -> StreamState * {
      auto fn = m->getParentOfType<func::FuncOp>();
      auto mode = fn ? fn->getAttrOfType<StringAttr>("nl.stream") : nullptr;
      if (!mode)
        return nullptr;
      auto &slot = streams[fn];
      if (!slot) {
        slot = std::make_unique<StreamState>();
        slot->fn = fn;
        slot->decode = mode.getValue() == "decode";
      }
      return slot.get();
    };

    for (MemorizeOp m : todo) {
      FailureOr<MemoryRule> rule = readRule(m, tables);
      if (failed(rule))
        return signalPassFailure();
      OpBuilder b(m);
      auto kt = cast<RankedTensorType>(
          m.getFlow().getDefiningOp<FlowOp>().getInputs()[0].getType());
      Type elt = kt.getElementType();
      int64_t bsz = kt.getDimSize(0);
      StreamState *ss = streamOf(m);
      if (failed(checkWholeChunks(m, ss, kt.getDimSize(2), *rule)))
        return signalPassFailure();
      MemoryStream ms;
      SmallVector<Value> init;
      if (ss) {
        ms = streamArgs(*ss, *rule, rule->memory, initRefs(m, *rule, elt), elt,
                        bsz);
        init.assign(ms.cur.begin(), ms.cur.end());
      } else {
        init = initialState(b, m, *rule, elt, bsz);
      }
      // A written read function has no chunked parallel form: the scans.
      Deriver d(b, m, *rule, init, checkpoint, dualForm && !rule->readFn);
      if (ss) {
        d.memorize = ss->memorizeFlag(elt);
        d.initMom = ms.mom;
        if (ss->decode)
          d.gradAt = ms.start;
      }
      FailureOr<Value> y = d.run();
      if (failed(y))
        return signalPassFailure();
      if (ss)
        streamResults(*ss, ms, d.finalW, d.finalMom);
      m.getResult().replaceAllUsesWith(*y);
      Value flow = m.getFlow();
      m.erase();
      if (flow.use_empty())
        flow.getDefiningOp()->erase();
      derivedLevels.insert(rule->level);
    }
    for (SelfModifyOp sm : selfMods) {
      StreamState *ss = streamOf(sm);
      FailureOr<LevelOp> level =
          deriveSelfModify(sm, tables, initialState, ss, initRefs);
      if (failed(level))
        return signalPassFailure();
      derivedLevels.insert(*level);
    }
    for (auto &[fn, ss] : streams)
      ss->finish();
    // The derived levels are now explicit in the computation.
    for (Operation *level : derivedLevels)
      level->erase();
    for (auto &[param, parts] : split)
      param->erase();
  }
};

} // namespace
