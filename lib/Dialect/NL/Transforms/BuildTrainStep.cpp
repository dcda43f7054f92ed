//===- BuildTrainStep.cpp - the build-train-step pass ---------------------===//
//
// Turns a model's @step (after derive-inner-updates) into
//   @loss(params..., tokens) -> loss                 every parameter an
//   argument
//   @loss_grad(params..., tokens) -> (loss, grads...)  reverse mode through all
//                                                     derived inner updates
//   @train_step(params..., state..., t, tokens)
//       -> (loss, params'..., state'...)             the outer optimizer's step
// The outer optimizer is the optimizer of the level that owns each parameter
// (the slowest level; NESTED_LEARNING.md §9.8): gd, momentum, delta_momentum,
// adam, adamw, muon (Newton–Schulz), m3, or a custom optimizer whose momentum
// is a memory with any inner objective (its update derived by reverse mode);
// docs/optimizers.md.
//
//===----------------------------------------------------------------------===//

#include "nl/Dialect/NL/IR/NLBuilder.h"
#include "nl/Dialect/NL/IR/NLDialect.h"
#include "nl/Dialect/NL/Transforms/Autodiff.h"
#include "nl/Dialect/NL/Transforms/InnerObjective.h"
#include "nl/Dialect/NL/Transforms/Passes.h"

#include "mlir/IR/SymbolTable.h"
#include "llvm/ADT/MapVector.h"

#include <cmath>

namespace mlir::nl {
#define GEN_PASS_DEF_BUILDTRAINSTEP
#include "nl/Dialect/NL/Transforms/Passes.h.inc"
} // namespace mlir::nl

using namespace mlir;
using namespace mlir::nl;

namespace {

struct Param {
  ParamOp op;
  SymbolRefAttr ref; // @level::@name, as nl.get_param names it
  OptimizerOp optimizer;
  LevelOp level;
  int64_t period; // steps between the level's optimizer steps
};

/// Names of the optimizer state tensors kept per parameter.
SmallVector<StringRef> stateNames(OptimizerKind k) {
  switch (k) {
  case OptimizerKind::gd:
    return {};
  case OptimizerKind::momentum:
  case OptimizerKind::muon:
  case OptimizerKind::custom:
    return {"m"};
  case OptimizerKind::adam:
  case OptimizerKind::adamw:
    return {"m", "v"};
  case OptimizerKind::delta_momentum:
  case OptimizerKind::delta_momentum_matrix:
    return {"m"};
  case OptimizerKind::m3:
    return {"m1", "v", "m2", "o2", "gsum", "count"};
  case OptimizerKind::dmgd:
    return {"m", "w_in", "w_out"};
  default:
    return {};
  }
}

bool isOuterOptimizer(OptimizerKind k) {
  return k == OptimizerKind::gd || k == OptimizerKind::momentum ||
         k == OptimizerKind::adam || k == OptimizerKind::adamw ||
         k == OptimizerKind::muon || k == OptimizerKind::custom ||
         k == OptimizerKind::delta_momentum ||
         k == OptimizerKind::delta_momentum_matrix || k == OptimizerKind::m3 ||
         k == OptimizerKind::dmgd;
}

/// The one memory of an optimizer's body (a custom optimizer's momentum,
/// dmgd's deep momentum), or null when it has none or several.
MemoryOp soleMemory(OptimizerOp opt) {
  if (opt.getBody().empty())
    return {};
  auto mems = llvm::to_vector(opt.getBody().front().getOps<MemoryOp>());
  return mems.size() == 1 ? mems.front() : MemoryOp();
}

/// The one objective of an optimizer's body (a custom optimizer's momentum's
/// inner objective), or null when it has none or several.
ObjectiveOp soleObjective(OptimizerOp opt) {
  if (opt.getBody().empty())
    return {};
  auto objs = llvm::to_vector(opt.getBody().front().getOps<ObjectiveOp>());
  return objs.size() == 1 ? objs.front() : ObjectiveOp();
}

/// Why build-train-step cannot apply `opt` as an outer optimizer, or "".
/// A custom optimizer is derived from its body: a momentum memory
/// `matrix(1 -> 1)` (one scalar memory per parameter entry), one objective
/// (built-in or written; its region is checked by checkInnerObjective) and
/// optional `decay` retention.
std::string unsupportedOuter(OptimizerOp opt) {
  if (!isOuterOptimizer(opt.getKind()))
    return "build-train-step cannot apply '" +
           stringifyOptimizerKind(opt.getKind()).str() +
           "' as an outer optimizer yet; use gd, momentum, delta_momentum, "
           "delta_momentum_matrix, adam, adamw, muon, m3, dmgd or a custom "
           "momentum memory";
  if (opt.getKind() == OptimizerKind::dmgd) {
    MemoryOp mem = soleMemory(opt);
    MemoryType t = mem ? mem.getMemoryType() : MemoryType();
    if (!t || t.getKind() != MemoryKind::mlp || t.getIn() != 1 ||
        t.getOut() != 1 || t.getHeads() != 1 || !t.getHidden())
      return "dmgd's deep momentum must be one memory mlp(1 -> 1, hidden = "
             "H, heads = 1) (an MLP over each gradient entry)";
    return "";
  }
  if (opt.getKind() != OptimizerKind::custom)
    return "";
  MemoryOp mem = soleMemory(opt);
  if (!mem)
    return "a custom outer optimizer needs exactly one memory (its "
           "momentum)";
  Block *body = &opt.getBody().front();
  MemoryType t = mem.getMemoryType();
  if (t.getKind() != MemoryKind::matrix || t.getIn() != 1 || t.getOut() != 1 ||
      t.getHeads() != 1)
    return "a custom outer optimizer's momentum must be matrix(1 -> 1, "
           "heads = 1) (one scalar memory per parameter entry)";
  if (!body->getOps<ParamOp>().empty())
    return "a custom outer optimizer's body holds its memory, objective and "
           "retention; a 'param' there would be ignored";
  if (opt.getBeta())
    return "a custom outer optimizer takes no 'beta': its momentum's "
           "forgetting is its retention (retention decay(alpha = ...))";
  if (!soleObjective(opt))
    return "a custom outer optimizer needs exactly one objective (its "
           "momentum's inner objective)";
  for (RetentionOp r : body->getOps<RetentionOp>())
    if (r.getKind() != RetentionKind::decay)
      return "a custom outer optimizer takes decay retention only";
  return "";
}

/// Newton–Schulz orthogonalization of a matrix, Muon's output map (NL Eq.
/// 24; NL-A Eqs. 42-44 read it as an inner problem min ||OᵀO - I||²):
/// X = G / (||G||_F + 1e-7), then `steps` quintic iterations
/// X <- a X + (b A + c A²) X with A = X Xᵀ and (a, b, c) = (3.4445,
/// -4.7750, 2.0315); a tall G goes through its transpose (A is then the
/// smaller Gram matrix).
Value newtonSchulz(NLBuilder &nb, Value g, int64_t steps) {
  auto t = cast<RankedTensorType>(g.getType());
  bool tall = t.getDimSize(0) > t.getDimSize(1);
  Value x = tall ? nb.transpose(g) : g;
  auto scalar = RankedTensorType::get({}, t.getElementType());
  Value norm = nb.un<SqrtOp>(SumOp::create(nb.b, nb.loc, scalar, nb.mul(x, x)));
  x = nb.div(x, nb.add(norm, nb.c(x, 1e-7)));
  for (int64_t i = 0; i < steps; ++i) {
    Value a = nb.matmul(x, nb.transpose(x));
    Value poly = nb.add(nb.mul(nb.c(a, -4.7750), a),
                        nb.mul(nb.c(a, 2.0315), nb.matmul(a, a)));
    x = nb.add(nb.mul(nb.c(x, 3.4445), x), nb.matmul(poly, x));
  }
  return tall ? nb.transpose(x) : x;
}

SmallVector<std::string> stateNamesOf(Param p);

/// The type of optimizer state `name` of a parameter of type `pt`: the
/// parameter's own, except dmgd's shared MLP weights, [H, 1, ..., 1] (one
/// more dim than the parameter, so that they broadcast against it).
RankedTensorType stateType(OptimizerOp opt, RankedTensorType pt,
                           StringRef name) {
  if (opt.getKind() != OptimizerKind::dmgd || name == "m" || name == "acc")
    return pt;
  SmallVector<int64_t> shape(pt.getRank() + 1, 1);
  shape[0] = int64_t(soleMemory(opt).getMemoryType().getHidden());
  return RankedTensorType::get(shape, pt.getElementType());
}

double attrOr(std::optional<APFloat> a, double fallback) {
  return a ? a->convertToDouble() : fallback;
}

/// Adam's bias correction 1 - beta^t = 1 - exp(t ln beta) for the step
/// number t (rank 0).
Value biasCorrection(NLBuilder &nb, Value t, double beta) {
  Value pw = nb.un<ExpOp>(nb.mul(t, nb.c(t, std::log(beta))));
  return nb.sub(nb.c(t, 1.0), pw);
}

/// One optimizer step for one parameter: returns p' and the new state.
/// `lrScale` (rank 0) multiplies the optimizer's learning rate: the
/// runtime's --lr, warmup and schedule.
SmallVector<Value> applyOptimizer(NLBuilder &nb, OptimizerOp opt, Value p,
                                  Value g, ValueRange state, Value t,
                                  Value lrScale) {
  double lr = opt.getLr().convertToDouble();
  double wd = attrOr(opt.getWeightDecay(), 0.0);
  auto c = [&](double v) { return nb.c(p, v); };
  auto lrTimes = [&](Value x) { return nb.mul(lrScale, nb.mul(c(lr), x)); };
  switch (opt.getKind()) {
  case OptimizerKind::gd: { // p -= lr (g + wd p)
    Value step = wd != 0.0 ? nb.add(g, nb.mul(c(wd), p)) : g;
    return {nb.sub(p, lrTimes(step))};
  }
  case OptimizerKind::momentum: { // m = beta m - lr g; p += m (NL Eqs. 17-19)
    double beta = attrOr(opt.getBeta(), 0.9);
    Value gg = wd != 0.0 ? nb.add(g, nb.mul(c(wd), p)) : g;
    Value m = nb.sub(nb.mul(c(beta), state[0]), lrTimes(gg));
    return {nb.add(p, m), m};
  }
  case OptimizerKind::muon: {
    // m = beta m + g; a matrix steps along NS(m) sqrt(max(1, rows/cols))
    // (NL Eq. 24), any other parameter along m; decoupled weight decay.
    double beta = attrOr(opt.getBeta(), 0.95);
    int64_t steps = opt.getNsSteps() ? *opt.getNsSteps() : 5;
    Value m = nb.add(nb.mul(c(beta), state[0]), g);
    Value dir = m;
    auto pt = cast<RankedTensorType>(p.getType());
    if (pt.getRank() == 2) {
      double ratio = double(pt.getDimSize(0)) / double(pt.getDimSize(1));
      dir = nb.mul(c(std::sqrt(std::max(1.0, ratio))),
                   newtonSchulz(nb, m, steps));
    }
    if (wd != 0.0)
      dir = nb.add(dir, nb.mul(c(wd), p));
    return {nb.sub(p, lrTimes(dir)), m};
  }
  case OptimizerKind::delta_momentum: {
    // Delta momentum (NL-N Eq. 22, NL-A Eq. 49) with one scalar memory per
    // parameter entry: the momentum m is trained by the L2 objective
    // 1/2 ||m g + 1||^2 (P = 1) instead of the dot product, so one step of
    // gradient descent, m <- beta m - lr (m g + 1) g = (beta - lr g²) m -
    // lr g, forgets the momentum in the directions it writes; p += m -
    // lr wd p.
    double beta = attrOr(opt.getBeta(), 0.9);
    Value m = state[0];
    Value next = nb.sub(nb.mul(c(beta), m),
                        lrTimes(nb.mul(nb.add(nb.mul(m, g), c(1.0)), g)));
    Value moved = nb.add(p, next);
    if (wd != 0.0)
      moved = nb.sub(moved, lrTimes(nb.mul(c(wd), p)));
    return {moved, next};
  }
  case OptimizerKind::delta_momentum_matrix: {
    // Delta momentum as NL-N Eq. 22 writes it, m <- m (beta I - lr gᵀ g) -
    // lr g: the momentum of a [rows, cols] parameter is a matrix memory
    // trained by one GD step on 1/2 ||m gᵀ + I||² (P = I; its gradient is
    // (m gᵀ + I) g), so the step removes from m its component along the
    // gradient's row space in proportion to lr times the gradient's squared
    // singular values. m gᵀ g is computed as (m gᵀ) g or m (gᵀ g), whichever
    // inner Gram matrix is smaller. A parameter of another rank is one row:
    // m <- beta m - lr (<m, g> + 1) g. p += m - lr wd p.
    double beta = attrOr(opt.getBeta(), 0.9);
    Value m = state[0];
    auto pt = cast<RankedTensorType>(p.getType());
    Value mgg;
    if (pt.getRank() == 2) {
      mgg = pt.getDimSize(0) <= pt.getDimSize(1)
                ? nb.matmul(nb.matmul(m, nb.transpose(g)), g)
                : nb.matmul(m, nb.matmul(nb.transpose(g), g));
    } else {
      auto scalar = RankedTensorType::get({}, pt.getElementType());
      mgg = nb.mul(SumOp::create(nb.b, nb.loc, scalar, nb.mul(m, g)), g);
    }
    Value next = nb.sub(nb.mul(c(beta), m), lrTimes(nb.add(mgg, g)));
    Value moved = nb.add(p, next);
    if (wd != 0.0)
      moved = nb.sub(moved, lrTimes(nb.mul(c(wd), p)));
    return {moved, next};
  }
  case OptimizerKind::m3: {
    // M3, multi-scale momentum Muon (NL-A §7.2, Algorithm 1), with the EMA
    // decays of the reproductions: every step M1 = b1 M1 + (1-b1) g and
    // V = b2 V + (1-b2) g²; the gradients also add up in S, and every
    // slow_period steps (a step counter, kept as state) the slow momentum
    // M2 = b3 M2 + (1-b3) S / period and its orthogonalization O2 = NS(M2)
    // are written and S restarts. A matrix moves along
    // sqrt(max(1, rows/cols)) (NS(M1) + alpha O2); any other parameter
    // along (M1^ + alpha M2) / (sqrt(V^) + eps) (bias-corrected). Matrices
    // are not divided by sqrt(V) as Algorithm 1 prints: that makes a step
    // of lr / |g| per entry (docs/optimizers.md).
    double b1 = attrOr(opt.getBeta1(), 0.9), b2 = attrOr(opt.getBeta2(), 0.999);
    double b3 = attrOr(opt.getBeta3(), 0.9),
           alpha = attrOr(opt.getAlpha(), 0.5);
    double eps = attrOr(opt.getEps(), 1e-8);
    int64_t steps = opt.getNsSteps() ? *opt.getNsSteps() : 5;
    double period = double(opt.getSlowPeriod() ? *opt.getSlowPeriod() : 1);
    auto ema = [&](Value old, double beta, Value x) {
      return nb.add(nb.mul(c(beta), old), nb.mul(c(1 - beta), x));
    };
    Value m1 = ema(state[0], b1, g), v = ema(state[1], b2, nb.mul(g, g));
    Value sum = nb.add(state[4], g), count = nb.add(state[5], c(1.0));
    // 1 when count reaches the period (counts are exact small integers).
    Value fire =
        nb.un<ReluOp>(nb.sub(c(1.0), nb.un<AbsOp>(nb.sub(count, c(period)))));
    auto pt = cast<RankedTensorType>(p.getType());
    bool matrix = pt.getRank() == 2;
    Value m2new = ema(state[2], b3, nb.mul(sum, c(1.0 / period)));
    Value o2new = matrix ? newtonSchulz(nb, m2new, steps) : m2new;
    auto blend = [&](Value old, Value now) {
      return nb.add(old, nb.mul(fire, nb.sub(now, old)));
    };
    Value m2 = blend(state[2], m2new), o2 = blend(state[3], o2new);
    Value dir;
    if (matrix) {
      double ratio = double(pt.getDimSize(0)) / double(pt.getDimSize(1));
      dir = nb.mul(c(std::sqrt(std::max(1.0, ratio))),
                   nb.add(newtonSchulz(nb, m1, steps), nb.mul(c(alpha), o2)));
    } else {
      Value num =
          nb.add(nb.div(m1, biasCorrection(nb, t, b1)), nb.mul(c(alpha), m2));
      Value den =
          nb.add(nb.un<SqrtOp>(nb.div(v, biasCorrection(nb, t, b2))), c(eps));
      dir = nb.div(num, den);
    }
    if (wd != 0.0)
      dir = nb.add(dir, nb.mul(c(wd), p));
    return {nb.sub(p, lrTimes(dir)),
            m1,
            v,
            m2,
            o2,
            nb.sub(sum, nb.mul(fire, sum)),
            nb.sub(count, nb.mul(fire, count))};
  }
  case OptimizerKind::custom: {
    // Momentum as an associative memory (NL §2.3, Eqs. 17-19): the level's
    // context flow is the gradient g, its memory m one scalar per entry,
    // read at the key g against the value -1: M(k) = m g, so that the dot
    // objective -<M(k), v> is <m, g> (momentum), l2 ||m g + 1||^2 delta
    // momentum (NL-N Eq. 22, P = 1), and any other objective, built in or
    // written, per entry. One step of gradient descent on it, with the
    // inner gradient taken by reverse mode and retention alpha:
    // m <- alpha m - lr dL/dm; the parameter moves by the memory,
    // p <- p + m - lr wd p.
    Block &body = opt.getBody().front();
    double alpha = 1.0;
    for (RetentionOp r : body.getOps<RetentionOp>())
      alpha = attrOr(r.getAlpha(), 1.0);
    Value m = state[0];
    int64_t rank = cast<RankedTensorType>(p.getType()).getRank();
    Value key = nb.insertUnitDims(g, rank, 1); // [shape..., 1]
    Value pred = nb.insertUnitDims(nb.mul(m, g), rank, 1);
    Value target = nb.bcast(c(-1.0), pred.getType());
    Value inner = buildInnerObjective(nb.b, nb.loc, soleObjective(opt), pred,
                                      target, key, /*lead=*/rank);
    FailureOr<SmallVector<Value>> dm =
        buildGradients(nb.b, inner, Value(), {m});
    if (failed(dm))
      return {};
    Value next = nb.sub(nb.mul(c(alpha), m), lrTimes((*dm)[0]));
    Value moved = nb.add(p, next);
    if (wd != 0.0)
      moved = nb.sub(moved, lrTimes(nb.mul(c(wd), p)));
    return {moved, next};
  }
  case OptimizerKind::dmgd: {
    // Deep momentum GD (NL-N Eq. 23): W <- W + m_{i+1}(u_i), u_i = g, where
    // the momentum is a memory over the gradient stream,
    //   m(u)_j = b_j + sum_k w_out_k act(w_in_k x_j),  x = u / (rms(u) +
    //   1e-12),
    // b (state "m") one scalar per entry, as momentum's, and an MLP 1 -> H
    // -> 1 over each (normalized) gradient entry, shared by the entries of
    // the parameter (state "w_in" holds w_in - w_in0: the first layer starts
    // at the fixed spread w_in0_k = 4 (k + 1/2) / H - 2, the rest at 0). Its
    // inner objective is <m(u), u>, momentum's <m, g> (NL Eqs. 17-19) with
    // the MLP's output in place of m: the first-order change of the outer
    // loss under the step. One step of GD on it, its gradient by reverse
    // mode, with retention beta: b <- beta b - lr u (momentum exactly), the
    // shared weights w <- beta w - (lr / N) d<m(u), u>/dw (their gradient
    // sums over the parameter's N entries). docs/optimizers.md.
    double beta = attrOr(opt.getBeta(), 0.9);
    MemoryType mt = soleMemory(opt).getMemoryType();
    int64_t hidden = int64_t(mt.getHidden());
    auto pt = cast<RankedTensorType>(p.getType());
    auto wt = cast<RankedTensorType>(state[1].getType());
    SmallVector<float> spread;
    for (int64_t k = 0; k < hidden; ++k)
      spread.push_back(float(4.0 * (k + 0.5) / double(hidden) - 2.0));
    Value w0 = arith::ConstantOp::create(
        nb.b, nb.loc, wt, DenseElementsAttr::get(wt, ArrayRef(spread)));
    auto scalar = RankedTensorType::get({}, pt.getElementType());
    double n = double(pt.getNumElements());
    Value rms = nb.un<SqrtOp>(
        nb.mul(SumOp::create(nb.b, nb.loc, scalar, nb.mul(g, g)), c(1.0 / n)));
    Value x = nb.div(g, nb.add(rms, c(1e-12)));
    auto read = [&](Value b, Value wIn, Value wOut) {
      Value h = nb.act(mt.getAct(), nb.mul(nb.add(w0, wIn), x));
      return nb.add(b, nb.sumTo(nb.mul(wOut, h), pt));
    };
    Value inner = SumOp::create(nb.b, nb.loc, scalar,
                                nb.mul(read(state[0], state[1], state[2]), g));
    FailureOr<SmallVector<Value>> d =
        buildGradients(nb.b, inner, Value(), {state[0], state[1], state[2]});
    if (failed(d))
      return {};
    Value b = nb.sub(nb.mul(c(beta), state[0]), lrTimes((*d)[0]));
    auto shared = [&](Value w, Value dw) {
      return nb.sub(nb.mul(c(beta), w), lrTimes(nb.mul(c(1.0 / n), dw)));
    };
    Value wIn = shared(state[1], (*d)[1]), wOut = shared(state[2], (*d)[2]);
    Value moved = nb.add(p, read(b, wIn, wOut));
    if (wd != 0.0)
      moved = nb.sub(moved, lrTimes(nb.mul(c(wd), p)));
    return {moved, b, wIn, wOut};
  }
  case OptimizerKind::adam:
  case OptimizerKind::adamw: {
    // m = b1 m + (1-b1) g; v = b2 v + (1-b2) g²; bias-corrected by 1 - b^t;
    // adam adds wd p to g, adamw decays p by lr wd (decoupled).
    double b1 = attrOr(opt.getBeta1(), 0.9), b2 = attrOr(opt.getBeta2(), 0.999);
    double eps = attrOr(opt.getEps(), 1e-8);
    bool decoupled = opt.getKind() == OptimizerKind::adamw;
    Value gg = (!decoupled && wd != 0.0) ? nb.add(g, nb.mul(c(wd), p)) : g;
    Value m = nb.add(nb.mul(c(b1), state[0]), nb.mul(c(1 - b1), gg));
    Value v =
        nb.add(nb.mul(c(b2), state[1]), nb.mul(c(1 - b2), nb.mul(gg, gg)));
    Value mh = nb.div(m, biasCorrection(nb, t, b1));
    Value vh = nb.div(v, biasCorrection(nb, t, b2));
    Value upd = nb.div(mh, nb.add(nb.un<SqrtOp>(vh), c(eps)));
    if (decoupled && wd != 0.0)
      upd = nb.add(upd, nb.mul(c(wd), p));
    return {nb.sub(p, lrTimes(upd)), m, v};
  }
  default:
    return {};
  }
}

SmallVector<std::string> stateNamesOf(Param p) {
  SmallVector<std::string> names;
  for (StringRef s : stateNames(p.optimizer.getKind()))
    names.push_back(s.str());
  if (p.period > 1)
    names.push_back("acc"); // the gradient accumulated since the last step
  return names;
}

struct BuildTrainStep
    : public mlir::nl::impl::BuildTrainStepBase<BuildTrainStep> {
  void runOnOperation() override {
    for (ModelOp model : getOperation().getOps<ModelOp>())
      if (failed(build(model)))
        return signalPassFailure();
  }

  /// Every parameter becomes a leading argument of `f` (`nl.param`), in
  /// place of its nl.get_param reads.
  static LogicalResult paramsAsArguments(func::FuncOp f,
                                         MutableArrayRef<Param> params) {
    OpBuilder b(f);
    for (auto [i, p] : llvm::enumerate(params))
      (void)f.insertArgument(
          i, p.op.getType(),
          b.getDictionaryAttr(b.getNamedAttr("nl.param", p.ref)),
          p.op.getLoc());
    Block &body = f.getBody().front();
    SmallVector<GetParamOp> reads;
    f.walk([&](GetParamOp g) { reads.push_back(g); });
    for (GetParamOp g : reads) {
      auto it = llvm::find_if(
          params, [&](const Param &p) { return p.ref == g.getParam(); });
      if (it == params.end())
        return g.emitOpError() << "reads " << g.getParam()
                               << ", which is not a trainable parameter";
      g.getResult().replaceAllUsesWith(body.getArgument(it - params.begin()));
      g.erase();
    }
    return success();
  }

  /// `@stream_init(params...) -> state...`: the stream state before the
  /// first token, in the order of @decode's `nl.stream` arguments: each
  /// its `init`, a parameter (a memory's learned initial state [H, ...])
  /// broadcast over the batch, or zeros.
  static LogicalResult buildStreamInit(func::FuncOp decode,
                                       MutableArrayRef<Param> params) {
    OpBuilder b(decode);
    b.setInsertionPointAfter(decode);
    SmallVector<Type> ins, outs;
    SmallVector<DictionaryAttr> argAttrs, resAttrs;
    for (auto [i, p] : llvm::enumerate(params)) {
      ins.push_back(p.op.getType());
      argAttrs.push_back(decode.getArgAttrDict(i));
    }
    SmallVector<unsigned> stateArgs;
    for (unsigned i = 0; i < decode.getNumArguments(); ++i)
      if (auto d = decode.getArgAttrOfType<DictionaryAttr>(i, "nl.stream")) {
        stateArgs.push_back(i);
        outs.push_back(decode.getArgumentTypes()[i]);
        resAttrs.push_back(b.getDictionaryAttr(b.getNamedAttr("nl.stream", d)));
      }
    auto init = func::FuncOp::create(b, decode.getLoc(), "stream_init",
                                     b.getFunctionType(ins, outs));
    init.setAllArgAttrs(argAttrs);
    init.setAllResultAttrs(resAttrs);
    init->setAttr("nl.stream", b.getStringAttr("init"));
    Block *body = init.addEntryBlock();
    b.setInsertionPointToStart(body);
    NLBuilder nb{b, decode.getLoc()};
    SmallVector<Value> results;
    for (unsigned i : stateArgs) {
      auto d = decode.getArgAttrOfType<DictionaryAttr>(i, "nl.stream");
      auto t = cast<RankedTensorType>(decode.getArgumentTypes()[i]);
      auto ref = d.getAs<SymbolRefAttr>("init");
      if (!ref) {
        results.push_back(nb.zeros(t));
        continue;
      }
      auto it =
          llvm::find_if(params, [&](const Param &p) { return p.ref == ref; });
      if (it == params.end())
        return decode.emitOpError()
               << "stream state " << d.get("name") << " starts from " << ref
               << ", which is not a trainable parameter";
      results.push_back(nb.bcast(body->getArgument(it - params.begin()), t));
    }
    func::ReturnOp::create(b, decode.getLoc(), results);
    return success();
  }

  LogicalResult build(ModelOp model) {
    auto step = model.lookupSymbol<func::FuncOp>("step");
    if (!step)
      return model.emitOpError() << "has no func.func @step to train";
    WalkResult underived = step.walk([&](Operation *op) {
      if (isa<MemorizeOp, SelfModifyOp>(op)) {
        op->emitOpError() << "must be rewritten by derive-inner-updates "
                             "before build-train-step";
        return WalkResult::interrupt();
      }
      return WalkResult::advance();
    });
    if (underived.wasInterrupted())
      return failure();

    // Parameters in declaration order, with the optimizer that trains them.
    SmallVector<Param> params;
    WalkResult bad = model.walk([&](ParamOp p) {
      if (p->getParentOfType<OptimizerOp>())
        return WalkResult::advance(); // optimizer state, not a parameter
      auto level = p->getParentOfType<LevelOp>();
      if (!isa<RankedTensorType>(p.getType())) {
        p.emitOpError() << "is a memory; run derive-inner-updates first";
        return WalkResult::interrupt();
      }
      FrequencyAttr f = level.getFrequency();
      if (f.getUnit() != FrequencyUnit::steps) {
        p.emitOpError() << "belongs to level @" << level.getSymName()
                        << ", written every " << f.getPeriod()
                        << " tokens; only levels written per step hold "
                           "trainable parameters";
        return WalkResult::interrupt();
      }
      OptimizerOp opt = p.getWriter();
      std::string why = opt ? unsupportedOuter(opt) : "it has no optimizer";
      if (!why.empty()) {
        // At the optimizer the user named (the parameter when it has none).
        Operation *at = opt ? opt.getOperation() : p.getOperation();
        at->emitOpError() << "level @" << level.getSymName() << ": " << why;
        return WalkResult::interrupt();
      }
      if (opt.getKind() == OptimizerKind::custom &&
          failed(checkInnerObjective(soleObjective(opt))))
        return WalkResult::interrupt();
      params.push_back(
          {p, paramPath(p, p.getSymNameAttr()), opt, level, f.getPeriod()});
      return WalkResult::advance();
    });
    if (bad.wasInterrupted())
      return failure();

    // @loss: the step with every parameter as a leading argument.
    OpBuilder b(step);
    auto loss = cast<func::FuncOp>(b.clone(*step));
    loss.setSymName("loss");
    if (failed(paramsAsArguments(loss, params)))
      return failure();
    // The stream entry points (@decode, @prefill) likewise, and the state
    // they start from.
    func::FuncOp decode;
    for (auto f : model.getBody().front().getOps<func::FuncOp>())
      if (auto mode = f->getAttrOfType<StringAttr>("nl.stream")) {
        if (failed(paramsAsArguments(f, params)))
          return failure();
        if (mode.getValue() == "decode")
          decode = f;
      }
    if (decode && failed(buildStreamInit(decode, params)))
      return failure();
    // Token ids are drawn below the vocabulary in gradient checks.
    int64_t vocab = 0;
    loss.walk([&](Operation *op) {
      int64_t v = 0;
      if (auto e = dyn_cast<EmbeddingOp>(op))
        v = cast<RankedTensorType>(e.getTable().getType()).getDimSize(0);
      else if (auto ce = dyn_cast<CrossEntropyOp>(op))
        v = cast<RankedTensorType>(ce.getLogits().getType()).getShape().back();
      if (v > 0)
        vocab = vocab ? std::min(vocab, v) : v;
    });
    for (unsigned i = params.size(); i < loss.getNumArguments(); ++i)
      if (vocab &&
          isa<IntegerType>(getElementTypeOrSelf(loss.getArgument(i).getType())))
        loss.setArgAttr(i, "nl.int_bound", b.getI64IntegerAttr(vocab));
    loss->setAttr("nl.differentiate", b.getUnitAttr());
    FailureOr<func::FuncOp> grad = buildGradientFunction(loss);
    if (failed(grad))
      return failure();

    // @train_step: gradients, then the outer optimizer of each parameter.
    b.setInsertionPointAfter(*grad);
    SmallVector<Type> ins, outs;
    SmallVector<DictionaryAttr> argAttrs;
    Type lossType = loss.getFunctionType().getResult(0);
    outs.push_back(lossType);
    for (Param &p : params) {
      ins.push_back(p.op.getType());
      argAttrs.push_back(
          b.getDictionaryAttr(b.getNamedAttr("nl.param", p.ref)));
      outs.push_back(p.op.getType());
    }
    for (Param &p : params)
      for (StringRef s : stateNamesOf(p)) {
        Type st =
            stateType(p.optimizer, cast<RankedTensorType>(p.op.getType()), s);
        ins.push_back(st);
        argAttrs.push_back(b.getDictionaryAttr(b.getNamedAttr(
            "nl.state", b.getStringAttr(p.op.getSymName() + "." + s))));
        outs.push_back(st);
      }
    ins.push_back(lossType); // the step number t >= 1 (bias correction)
    argAttrs.push_back(
        b.getDictionaryAttr(b.getNamedAttr("nl.step", b.getUnitAttr())));
    ins.push_back(lossType); // the learning-rate scale (1 = as declared)
    argAttrs.push_back(
        b.getDictionaryAttr(b.getNamedAttr("nl.lr_scale", b.getUnitAttr())));
    // One flag per level slower than a step: 1 when its optimizer fires at
    // this step (the runtime counts steps), else 0.
    SmallVector<LevelOp> slow;
    for (Param &p : params)
      if (p.period > 1 && !llvm::is_contained(slow, p.level))
        slow.push_back(p.level);
    for (LevelOp l : slow) {
      ins.push_back(lossType);
      argAttrs.push_back(b.getDictionaryAttr(b.getNamedAttr(
          "nl.fire", FlatSymbolRefAttr::get(l.getSymNameAttr()))));
    }
    unsigned nData = step.getNumArguments();
    for (unsigned i = 0; i < nData; ++i) {
      ins.push_back(step.getArgument(i).getType());
      argAttrs.push_back(loss.getArgAttrDict(params.size() + i)
                             ? loss.getArgAttrDict(params.size() + i)
                             : b.getDictionaryAttr({}));
    }
    auto train = func::FuncOp::create(b, step.getLoc(), "train_step",
                                      b.getFunctionType(ins, outs));
    train.setAllArgAttrs(argAttrs);
    Block *tb = train.addEntryBlock();
    b.setInsertionPointToStart(tb);
    NLBuilder nb{b, step.getLoc()};
    SmallVector<Value> callArgs(tb->getArguments().take_front(params.size()));
    for (unsigned i = 0; i < nData; ++i)
      callArgs.push_back(tb->getArgument(tb->getNumArguments() - nData + i));
    auto call = func::CallOp::create(b, step.getLoc(), *grad, callArgs);
    unsigned tArg = tb->getNumArguments() - nData - slow.size() - 2;
    Value t = tb->getArgument(tArg), lrScale = tb->getArgument(tArg + 1);
    // clip_norm (NESTED_LEARNING.md §9.8): each optimizer that clips scales
    // the gradients of its parameters by min(1, C / (‖g‖ + 1e-6)), ‖g‖ the
    // global norm over those parameters, before its update (and before a
    // slow level accumulates them).
    llvm::MapVector<Operation *, Value> sqNorm;
    for (auto [i, p] : llvm::enumerate(params))
      if (p.optimizer.getClipNorm()) {
        Value g = call.getResult(1 + i);
        Value sq = SumOp::create(b, step.getLoc(), lossType, nb.mul(g, g));
        Value &acc = sqNorm[p.optimizer];
        acc = nb.add(acc, sq);
      }
    llvm::DenseMap<Operation *, Value> clipScale;
    for (auto [opt, sq] : sqNorm) {
      double c = cast<OptimizerOp>(opt).getClipNorm()->convertToDouble();
      Value norm = nb.add(nb.un<SqrtOp>(sq), nb.c(sq, 1e-6));
      Value over =
          nb.un<ReluOp>(nb.sub(nb.c(sq, 1.0), nb.div(nb.c(sq, c), norm)));
      clipScale[opt] = nb.sub(nb.c(sq, 1.0), over);
    }
    SmallVector<Value> newParams, newState;
    unsigned stateArg = params.size();
    for (auto [i, p] : llvm::enumerate(params)) {
      unsigned ns = stateNames(p.optimizer.getKind()).size();
      ValueRange state = tb->getArguments().slice(stateArg, ns);
      stateArg += ns;
      Value param = tb->getArgument(i), g = call.getResult(1 + i);
      if (Value scale = clipScale.lookup(p.optimizer))
        g = nb.mul(g, scale);
      if (p.period == 1) {
        SmallVector<Value> upd =
            applyOptimizer(nb, p.optimizer, param, g, state, t, lrScale);
        newParams.push_back(upd[0]);
        newState.append(upd.begin() + 1, upd.end());
        continue;
      }
      // A level written every S steps (NESTED_LEARNING.md §9.7): the
      // gradient accumulates every step; when the level fires, its
      // optimizer steps on the mean accumulated gradient (its own step count
      // is t / S) and the accumulator restarts.
      Value acc = nb.add(tb->getArgument(stateArg++), g);
      Value fire = tb->getArgument(tArg + 2 +
                                   (llvm::find(slow, p.level) - slow.begin()));
      Value tl = nb.mul(t, nb.c(t, 1.0 / (double)p.period));
      SmallVector<Value> upd = applyOptimizer(
          nb, p.optimizer, param,
          nb.mul(acc, nb.c(acc, 1.0 / (double)p.period)), state, tl, lrScale);
      auto blend = [&](Value old, Value now) {
        return nb.add(old, nb.mul(fire, nb.sub(now, old)));
      };
      newParams.push_back(blend(param, upd[0]));
      for (auto [old, now] : llvm::zip(state, ArrayRef(upd).drop_front()))
        newState.push_back(blend(old, now));
      newState.push_back(nb.sub(acc, nb.mul(fire, acc)));
    }
    SmallVector<Value> results{call.getResult(0)};
    results.append(newParams);
    results.append(newState);
    func::ReturnOp::create(b, step.getLoc(), results);
    step.erase();
    return success();
  }
};

} // namespace
