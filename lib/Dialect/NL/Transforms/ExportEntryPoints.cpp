//===- ExportEntryPoints.cpp - a trained model's entry points and ABI -----===//
//
// Moves the functions of the module's nl.model to the module, adds @logits
// and describes every entry point's arguments and results in the module
// attribute `nl.manifest` (JSON). See the pass description in Passes.td and
// runtime/README.md for the manifest's fields.
//
//===----------------------------------------------------------------------===//

#include "nl/Dialect/NL/IR/NLDialect.h"
#include "nl/Dialect/NL/Transforms/Manifest.h"
#include "nl/Dialect/NL/Transforms/Passes.h"

#include "mlir/Analysis/SliceAnalysis.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/SymbolTable.h"
#include "llvm/Support/JSON.h"

namespace mlir::nl {
#define GEN_PASS_DEF_EXPORTENTRYPOINTS
#include "nl/Dialect/NL/Transforms/Passes.h.inc"
} // namespace mlir::nl

using namespace mlir;
using namespace mlir::nl;

namespace {

llvm::json::Array shapeOf(Type type) {
  llvm::json::Array shape;
  if (auto t = dyn_cast<ShapedType>(type))
    for (int64_t d : t.getShape())
      shape.push_back(d);
  return shape;
}

std::string dtypeOf(Type type) {
  Type elt = getElementTypeOrSelf(type);
  if (elt.isF32())
    return "f32";
  if (elt.isF64())
    return "f64";
  if (elt.isInteger(32))
    return "i32";
  if (elt.isInteger(64))
    return "i64";
  std::string s;
  llvm::raw_string_ostream os(s);
  os << elt;
  return s;
}

/// (json::Value does not own a StringRef: the strings are copied.)
llvm::json::Object tensorEntry(StringRef name, StringRef role, Type type) {
  return llvm::json::Object{{"name", name.str()},
                            {"role", role.str()},
                            {"shape", shapeOf(type)},
                            {"dtype", dtypeOf(type)}};
}

/// A stream-state tensor (`nl.stream = {name, init, memory, commit_from,
/// every}`): role "stream", `memory` for a memory's state (not a cache), and
/// for a memory's chunk-start state the tensor it is copied from and how
/// often (the runtime commits it at chunk boundaries).
llvm::json::Object streamEntry(DictionaryAttr d, Type t) {
  llvm::json::Object o =
      tensorEntry(d.getAs<StringAttr>("name").getValue(), "stream", t);
  if (d.get("memory"))
    o["memory"] = true;
  if (auto from = d.getAs<StringAttr>("commit_from")) {
    o["commit_from"] = from.getValue().str();
    o["every"] = d.getAs<IntegerAttr>("every").getInt();
  }
  return o;
}

/// The results of a stream entry point: the logits (not of @stream_init),
/// then the stream state after the call.
llvm::json::Array describeStreamResults(func::FuncOp f) {
  llvm::json::Array results;
  for (unsigned i = 0, e = f.getNumResults(); i < e; ++i) {
    Type t = f.getResultTypes()[i];
    if (auto d = f.getResultAttrOfType<DictionaryAttr>(i, "nl.stream"))
      results.push_back(streamEntry(d, t));
    else
      results.push_back(tensorEntry("logits", "logits", t));
  }
  return results;
}

/// The names and shapes of the stream tensors among `entries`, in order.
std::vector<std::pair<std::string, std::string>>
streamTensors(const llvm::json::Array &entries) {
  std::vector<std::pair<std::string, std::string>> out;
  for (const llvm::json::Value &v : entries) {
    const llvm::json::Object *o = v.getAsObject();
    if (*o->getString("role") != "stream")
      continue;
    std::string shape;
    llvm::raw_string_ostream os(shape);
    os << llvm::json::Value(llvm::json::Array(*o->getArray("shape")));
    out.emplace_back(o->getString("name")->str(), shape);
  }
  return out;
}

/// The arguments of `f` as ABI entries, named and given a role from their
/// argument attributes (build-train-step's nl.param, nl.state, nl.step,
/// nl.fire and nl.int_bound).
llvm::json::Array describeArgs(func::FuncOp f) {
  llvm::json::Array args;
  for (unsigned i = 0, e = f.getNumArguments(); i < e; ++i) {
    Type t = f.getArgumentTypes()[i];
    if (auto p = f.getArgAttrOfType<SymbolRefAttr>(i, "nl.param")) {
      llvm::json::Object o =
          tensorEntry(p.getLeafReference().getValue(), "param", t);
      // @outer::@inner::@p: the level is the innermost one, before the leaf.
      ArrayRef<FlatSymbolRefAttr> nested = p.getNestedReferences();
      o["level"] = (nested.size() > 1 ? nested[nested.size() - 2].getValue()
                                      : p.getRootReference().getValue())
                       .str();
      args.push_back(std::move(o));
    } else if (f.getArgAttr(i, "nl.memorize")) {
      args.push_back(tensorEntry("memorize", "memorize", t));
    } else if (auto d = f.getArgAttrOfType<DictionaryAttr>(i, "nl.stream")) {
      args.push_back(streamEntry(d, t));
    } else if (auto s = f.getArgAttrOfType<StringAttr>(i, "nl.state")) {
      args.push_back(tensorEntry(s.getValue(), "state", t));
    } else if (f.getArgAttr(i, "nl.step")) {
      args.push_back(tensorEntry("step", "step", t));
    } else if (f.getArgAttr(i, "nl.lr_scale")) {
      args.push_back(tensorEntry("lr_scale", "lr_scale", t));
    } else if (auto l = f.getArgAttrOfType<FlatSymbolRefAttr>(i, "nl.fire")) {
      llvm::json::Object o =
          tensorEntry(("fire." + l.getValue()).str(), "fire", t);
      o["level"] = l.getValue();
      args.push_back(std::move(o));
    } else if (isa<FloatType>(getElementTypeOrSelf(t))) {
      args.push_back(tensorEntry("rows", "rows", t));
    } else {
      args.push_back(tensorEntry("tokens", "tokens", t));
    }
  }
  return args;
}

struct ExportEntryPointsPass
    : public mlir::nl::impl::ExportEntryPointsBase<ExportEntryPointsPass> {
  void runOnOperation() override {
    ModuleOp module = getOperation();
    SmallVector<ModelOp> models(module.getOps<ModelOp>());
    if (models.size() != 1) {
      module.emitError() << "nl-export-entry-points: expected one nl.model, "
                            "found "
                         << models.size();
      return signalPassFailure();
    }
    ModelOp model = models.front();
    SymbolTable modelTable(model);
    auto train = modelTable.lookup<func::FuncOp>("train_step");
    auto loss = modelTable.lookup<func::FuncOp>("loss");
    auto lossGrad = modelTable.lookup<func::FuncOp>("loss_grad");
    if (!train || !loss || !lossGrad) {
      model.emitError() << "nl-export-entry-points: @" << model.getSymName()
                        << " has no @train_step, @loss and @loss_grad; run "
                           "derive-inner-updates and build-train-step first";
      return signalPassFailure();
    }

    // @logits: @loss returning the logits its cross-entropy reads (a model
    // whose loss is another function of its outputs has none).
    func::FuncOp logits;
    auto lossRet = cast<func::ReturnOp>(loss.getBody().front().getTerminator());
    if (auto lossCe = lossRet.getOperand(0).getDefiningOp<CrossEntropyOp>()) {
      OpBuilder b(loss);
      b.setInsertionPointAfter(loss);
      logits = cast<func::FuncOp>(b.clone(*loss));
      logits.setSymName("logits");
      logits->removeAttr("nl.differentiate");
      auto ret = cast<func::ReturnOp>(logits.getBody().front().getTerminator());
      auto ce = ret.getOperand(0).getDefiningOp<CrossEntropyOp>();
      ret->setOperand(0, ce.getLogits());
      ce.erase();
      logits.setFunctionType(b.getFunctionType(logits.getArgumentTypes(),
                                               ret.getOperand(0).getType()));
      // @loss: the cross-entropy of @logits' result (one copy of the forward
      // pass to compile, not two).
      b.setInsertionPoint(lossCe);
      auto call = func::CallOp::create(b, lossCe.getLoc(), logits,
                                       loss.getBody().front().getArguments());
      lossCe.getLogitsMutable().assign(call.getResult(0));
      // Keep only what the targets need (the chunk calls are not known to be
      // free of side effects, so dead-code elimination would keep them).
      SetVector<Operation *> keep;
      BackwardSliceOptions sliceOptions;
      sliceOptions.inclusive = true;
      (void)getBackwardSlice(lossCe.getTargets(), &keep, sliceOptions);
      keep.insert(call);
      keep.insert(lossCe);
      keep.insert(lossRet);
      for (Operation &op :
           llvm::make_early_inc_range(llvm::reverse(loss.getBody().front())))
        if (!keep.contains(&op))
          op.erase();
    }

    // The manifest.
    llvm::json::Object manifest;
    manifest["model"] = model.getSymName();
    unsigned dataArg = loss.getNumArguments() - 1;
    auto data = cast<RankedTensorType>(loss.getArgumentTypes()[dataArg]);
    manifest["batch"] = data.getDimSize(0);
    if (isa<FloatType>(data.getElementType())) {
      // Rows of real values: features, then targets.
      manifest["input"] = "rows";
      manifest["width"] = data.getDimSize(1);
    } else {
      manifest["input"] = "tokens";
      if (auto v = loss.getArgAttrOfType<IntegerAttr>(dataArg, "nl.int_bound"))
        manifest["vocab"] = v.getInt();
      manifest["context"] = data.getDimSize(1) - 1;
    }
    manifest["dtype"] = dtypeOf(train.getArgumentTypes()[0]);

    llvm::json::Array params;
    model.walk([&](ParamOp p) {
      auto level = p->getParentOfType<LevelOp>();
      params.push_back(llvm::json::Object{
          {"name", p.getSymName()},
          {"level", level ? level.getSymName() : StringRef()},
          {"shape", shapeOf(p.getType())},
          {"init", stringifyParamInit(p.getInit())},
          {"std", p.getStd().convertToDouble()}});
    });
    manifest["levels"] = mlir::nl::describeLevels(model);
    manifest["params"] = std::move(params);

    llvm::json::Object functions;
    // train_step: (loss, params'..., state'...) in argument order.
    {
      llvm::json::Array args = describeArgs(train), results;
      results.push_back(tensorEntry("loss", "loss", train.getResultTypes()[0]));
      unsigned r = 1;
      for (const llvm::json::Value &a : args) {
        const llvm::json::Object *o = a.getAsObject();
        StringRef role = *o->getString("role");
        if (role != "param" && role != "state")
          continue;
        if (r >= train.getNumResults() ||
            train.getResultTypes()[r] !=
                train.getArgumentTypes()[&a - &args.front()]) {
          train.emitError() << "nl-export-entry-points: result " << r
                            << " of @train_step does not match its argument "
                            << *o->getString("name");
          return signalPassFailure();
        }
        results.push_back(tensorEntry(*o->getString("name"), role,
                                      train.getResultTypes()[r++]));
      }
      functions["train_step"] = llvm::json::Object{
          {"args", std::move(args)}, {"results", std::move(results)}};
    }
    functions["loss"] = llvm::json::Object{
        {"args", describeArgs(loss)},
        {"results", llvm::json::Array{tensorEntry("loss", "loss",
                                                  loss.getResultTypes()[0])}}};
    {
      llvm::json::Array args = describeArgs(lossGrad), results;
      results.push_back(
          tensorEntry("loss", "loss", lossGrad.getResultTypes()[0]));
      for (unsigned i = 1; i < lossGrad.getNumResults(); ++i) {
        auto p = lossGrad.getArgAttrOfType<SymbolRefAttr>(i - 1, "nl.param");
        results.push_back(
            tensorEntry(p ? p.getLeafReference().getValue() : StringRef("grad"),
                        "grad", lossGrad.getResultTypes()[i]));
      }
      functions["loss_grad"] = llvm::json::Object{
          {"args", std::move(args)}, {"results", std::move(results)}};
    }
    if (logits)
      functions["logits"] = llvm::json::Object{
          {"args", describeArgs(logits)},
          {"results", llvm::json::Array{tensorEntry(
                          "logits", "logits", logits.getResultTypes()[0])}}};
    // The stream entry points: each takes and returns the same state, the
    // one @stream_init makes.
    std::optional<std::vector<std::pair<std::string, std::string>>> state;
    for (StringRef name : {"stream_init", "decode", "prefill"}) {
      auto f = modelTable.lookup<func::FuncOp>(name);
      if (!f)
        continue;
      llvm::json::Array args = describeArgs(f),
                        results = describeStreamResults(f);
      auto out = streamTensors(results);
      bool same = !state || *state == out;
      if (name != "stream_init" && streamTensors(args) != out)
        same = false;
      if (!same) {
        f.emitError() << "nl-export-entry-points: @" << name
                      << " does not take and return the stream state of "
                         "@stream_init";
        return signalPassFailure();
      }
      state = out;
      functions[name] = llvm::json::Object{{"args", std::move(args)},
                                           {"results", std::move(results)}};
    }
    manifest["functions"] = std::move(functions);
    if (auto why = module->getAttrOfType<StringAttr>("nl.no_stream")) {
      manifest["no_stream"] = why.getValue().str();
      module->removeAttr("nl.no_stream");
    }

    std::string text;
    llvm::raw_string_ostream os(text);
    os << llvm::json::Value(std::move(manifest));
    module->setAttr("nl.manifest", StringAttr::get(&getContext(), text));

    // The functions move to the module; the model's levels are now in the
    // manifest and the computation.
    SymbolTable moduleTable(module);
    for (func::FuncOp f : llvm::make_early_inc_range(
             model.getBody().front().getOps<func::FuncOp>())) {
      f->moveBefore(model);
      if (f.isPrivate())
        continue;
      if (!llvm::is_contained({"train_step", "loss", "loss_grad", "logits",
                               "stream_init", "decode", "prefill"},
                              f.getSymName()))
        f.setPrivate();
    }
    model.erase();
  }
};

} // namespace

llvm::json::Array mlir::nl::describeLevels(Operation *root) {
  llvm::json::Array levels;
  root->walk<WalkOrder::PreOrder>([&](LevelOp level) {
    FrequencyAttr f = level.getFrequency();
    llvm::json::Object o{{"name", level.getSymName()},
                         {"every", f.getPeriod()},
                         {"unit", stringifyFrequencyUnit(f.getUnit())}};
    if (auto parent = level->getParentOfType<LevelOp>())
      o["parent"] = parent.getSymName();
    Block &body = level.getBody().front();
    // "adamw", or "adamw + muon for some parameters" (nl.param ... by).
    std::string kinds;
    for (auto opt : body.getOps<OptimizerOp>())
      kinds += (kinds.empty() ? "" : " + ") + opt.getKind().str();
    if (llvm::range_size(body.getOps<OptimizerOp>()) > 1)
      kinds += " for some parameters";
    if (!kinds.empty())
      o["optimizer"] = kinds;
    o["memory"] = !body.getOps<MemoryOp>().empty();
    levels.push_back(std::move(o));
  });
  return levels;
}

LogicalResult mlir::nl::updateManifest(
    Operation *module, llvm::function_ref<void(llvm::json::Object &)> update) {
  auto attr = module->getAttrOfType<StringAttr>("nl.manifest");
  llvm::Expected<llvm::json::Value> manifest =
      attr ? llvm::json::parse(attr.getValue())
           : llvm::Expected<llvm::json::Value>(nullptr);
  if (!manifest)
    llvm::consumeError(manifest.takeError());
  if (!manifest || !manifest->getAsObject())
    return module->emitError("the module's nl.manifest is missing or not a "
                             "JSON object");
  update(*manifest->getAsObject());
  std::string text;
  llvm::raw_string_ostream os(text);
  os << *manifest;
  module->setAttr("nl.manifest", StringAttr::get(module->getContext(), text));
  return success();
}
