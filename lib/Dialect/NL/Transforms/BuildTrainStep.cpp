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
// (the slowest level; NESTED_LEARNING.md §9.8); each kind's update, state
// and refusals are its declaration's (OptimizerKinds.h,
// lib/Dialect/NL/IR/Optimizers/; docs/optimizers.md). This pass adds what
// all kinds share: gradient clipping (clip_norm) and the accumulation of a
// level slower than a step.
//
//===----------------------------------------------------------------------===//

#include "nl/Dialect/NL/IR/NLBuilder.h"
#include "nl/Dialect/NL/IR/NLDialect.h"
#include "nl/Dialect/NL/Transforms/Autodiff.h"
#include "nl/Dialect/NL/Transforms/InnerObjective.h"
#include "nl/Dialect/NL/Transforms/Passes.h"

#include "mlir/IR/SymbolTable.h"
#include "llvm/ADT/MapVector.h"

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

/// Why build-train-step cannot apply `opt` as an outer optimizer, or "".
std::string unsupportedOuter(OptimizerOp opt) {
  const OptimizerKindInfo &kind = opt.getKindInfo();
  if (!kind.outer)
    return "build-train-step cannot apply '" + kind.name.str() +
           "' as an outer optimizer yet; use " +
           optimizerKindList([](const OptimizerKindInfo &k) {
             return k.outer && k.name != "custom";
           }) +
           " or a custom momentum memory";
  return kind.unsupportedOuter ? kind.unsupportedOuter(opt) : "";
}

/// The type of optimizer state `name` of a parameter of type `pt`.
RankedTensorType stateType(OptimizerOp opt, RankedTensorType pt,
                           StringRef name) {
  const OptimizerKindInfo &kind = opt.getKindInfo();
  if (name == "acc" || !kind.stateType)
    return pt;
  return kind.stateType(opt, pt, name);
}

/// One optimizer step for one parameter: returns p' and the new state, or
/// an empty vector on failure. `lrScale` (rank 0) multiplies the optimizer's
/// learning rate: the runtime's --lr, warmup and schedule.
SmallVector<Value> applyOptimizer(NLBuilder &nb, OptimizerOp opt, Value p,
                                  Value g, ValueRange state, Value t,
                                  Value lrScale) {
  auto gradients = [&](Value scalar, ArrayRef<Value> wrt) {
    return buildGradients(nb.b, scalar, Value(), wrt);
  };
  auto innerObjective = [&](ObjectiveOp obj, Value pred, Value target,
                            Value key, int64_t lead) {
    return buildInnerObjective(nb.b, nb.loc, obj, pred, target, key, lead);
  };
  OuterUpdate u{nb, opt, p, g, state, t, lrScale, gradients, innerObjective};
  FailureOr<SmallVector<Value>> next = opt.getKindInfo().outer(u);
  return succeeded(next) ? *next : SmallVector<Value>();
}

SmallVector<std::string> stateNamesOf(Param p) {
  SmallVector<std::string> names;
  for (StringRef s : p.optimizer.getKindInfo().state)
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
      // A body's written objective (a custom optimizer's momentum).
      if (ObjectiveOp obj = soleOp<ObjectiveOp>(opt);
          obj && failed(checkInnerObjective(obj)))
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
      unsigned ns = p.optimizer.getKindInfo().state.size();
      ValueRange state = tb->getArguments().slice(stateArg, ns);
      stateArg += ns;
      Value param = tb->getArgument(i), g = call.getResult(1 + i);
      if (Value scale = clipScale.lookup(p.optimizer))
        g = nb.mul(g, scale);
      if (p.period == 1) {
        SmallVector<Value> upd =
            applyOptimizer(nb, p.optimizer, param, g, state, t, lrScale);
        if (upd.empty())
          return p.optimizer.emitOpError()
                 << "its update could not be built for " << p.ref;
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
      if (upd.empty())
        return p.optimizer.emitOpError()
               << "its update could not be built for " << p.ref;
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
