//===- NLOps.cpp - ops of the nl dialect: verifiers and helpers -----------===//
//
// Every verifier message names the rule it enforces, so that a user can find
// it in docs/dialect/rules.md.
//
//===----------------------------------------------------------------------===//

#include "nl/Dialect/NL/IR/NLDialect.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/Dominance.h"
#include "mlir/IR/OpImplementation.h"
#include "llvm/ADT/STLExtras.h"
#include "llvm/ADT/SmallString.h"
#include <cmath>

using namespace mlir;
using namespace mlir::nl;

//===----------------------------------------------------------------------===//
// Helpers
//===----------------------------------------------------------------------===//

namespace {

/// Prints a shape as [2x?x32].
std::string shapeStr(ArrayRef<int64_t> shape) {
  std::string s = "[";
  llvm::raw_string_ostream os(s);
  llvm::interleave(
      shape, os,
      [&](int64_t d) {
        if (ShapedType::isDynamic(d))
          os << '?';
        else
          os << d;
      },
      "x");
  os << ']';
  return s;
}

bool dimsCompatible(int64_t a, int64_t b) {
  return ShapedType::isDynamic(a) || ShapedType::isDynamic(b) || a == b;
}

/// Checks that `type` is a ranked tensor whose shape is compatible with
/// `expected` (kDynamic matches anything).
LogicalResult checkShape(Operation *op, StringRef what, Type type,
                         ArrayRef<int64_t> expected) {
  auto ranked = dyn_cast<RankedTensorType>(type);
  if (!ranked)
    return op->emitOpError()
           << what << " must be a ranked tensor, got " << type;
  ArrayRef<int64_t> got = ranked.getShape();
  bool ok = got.size() == expected.size();
  for (size_t i = 0; ok && i < got.size(); ++i)
    ok = dimsCompatible(got[i], expected[i]);
  if (!ok)
    return op->emitOpError() << what << " has shape " << shapeStr(got)
                             << " but expected " << shapeStr(expected);
  return success();
}

/// Checks that `type` is a ranked tensor of rank `rank` (or >= rank when
/// `atLeast`), returning its shape through `shape`.
LogicalResult checkRank(Operation *op, StringRef what, Type type, int64_t rank,
                        SmallVectorImpl<int64_t> &shape, bool atLeast = false) {
  auto ranked = dyn_cast<RankedTensorType>(type);
  if (!ranked)
    return op->emitOpError()
           << what << " must be a ranked tensor, got " << type;
  if (atLeast ? ranked.getRank() < rank : ranked.getRank() != rank)
    return op->emitOpError()
           << what << " must have rank " << (atLeast ? ">= " : "") << rank
           << ", got " << type;
  shape.assign(ranked.getShape().begin(), ranked.getShape().end());
  return success();
}

/// Checks that two dims agree (dynamic matches anything).
LogicalResult checkDim(Operation *op, int64_t got, int64_t expected,
                       const Twine &what) {
  if (!dimsCompatible(got, expected))
    return op->emitOpError() << what << ": " << got << " vs " << expected;
  return success();
}

ModelOp getModel(Operation *op) { return op->getParentOfType<ModelOp>(); }

/// Every float attribute of `op` (hyperparameters, eps, scales) is finite.
LogicalResult checkFiniteAttrs(Operation *op) {
  for (NamedAttribute attr : op->getAttrs())
    if (auto f = dyn_cast<FloatAttr>(attr.getValue()))
      if (!f.getValue().isFinite())
        return op->emitOpError()
               << "'" << attr.getName().getValue() << "' must be finite";
  return success();
}

/// Resolves a (possibly nested) symbol reference from the enclosing model.
Operation *lookupInModel(Operation *from, SymbolRefAttr ref,
                         SymbolTableCollection &tables) {
  ModelOp model = getModel(from);
  return model ? tables.lookupSymbolIn(model, ref) : nullptr;
}

/// Ops that name levels or parameters resolve them from their nl.model.
LogicalResult requireModel(Operation *op, SymbolRefAttr ref) {
  if (getModel(op))
    return success();
  return op->emitOpError() << "must be inside an nl.model to resolve " << ref;
}

/// The level that owns a state op (an nl.param or nl.memory inside a level or
/// an optimizer of a level).
LevelOp owningLevel(Operation *stateOp) {
  return stateOp->getParentOfType<LevelOp>();
}

std::string freqStr(FrequencyAttr f) {
  return (Twine(f.getPeriod()) + " " + stringifyFrequencyUnit(f.getUnit()))
      .str();
}

/// Resolves `ref` to an nl.level and checks that it is written per tokens.
FailureOr<LevelOp> resolveMemoryLevel(Operation *op, SymbolRefAttr ref,
                                      SymbolTableCollection &tables) {
  if (failed(requireModel(op, ref)))
    return failure();
  Operation *target = lookupInModel(op, ref, tables);
  if (!target)
    return op->emitOpError() << "level " << ref << " not found in the model";
  auto level = dyn_cast<LevelOp>(target);
  if (!level)
    return op->emitOpError() << ref << " does not name an nl.level";
  if (level.getFrequency().getUnit() != FrequencyUnit::tokens)
    return op->emitOpError()
           << "needs a level written every C tokens of its flow; " << ref
           << " is written every " << freqStr(level.getFrequency());
  if (!level.getUnique<ObjectiveOp>())
    return op->emitOpError()
           << "level " << ref << " has no inner objective (nl.objective)";
  return level;
}

SmallVector<MemoryOp> memoriesOf(LevelOp level) {
  return llvm::to_vector(level.getBody().front().getOps<MemoryOp>());
}

} // namespace

//===----------------------------------------------------------------------===//
// custom<OptimizerKind>: an optimizer kind as a bare keyword (`adam`)
//===----------------------------------------------------------------------===//

static ParseResult parseOptimizerKind(OpAsmParser &parser, StringAttr &kind) {
  SMLoc at = parser.getCurrentLocation();
  StringRef name;
  if (parser.parseKeyword(&name))
    return failure();
  if (!lookupOptimizerKind(name))
    return parser.emitError(at) << "unknown optimizer kind '" << name
                                << "' (known: " << optimizerKindList() << ")";
  kind = parser.getBuilder().getStringAttr(name);
  return success();
}

static void printOptimizerKind(OpAsmPrinter &printer, Operation *,
                               StringAttr kind) {
  printer.printKeywordOrString(kind.getValue());
}

//===----------------------------------------------------------------------===//
// custom<OptionalBody>: a single-block region printed only when non-empty
//===----------------------------------------------------------------------===//

static ParseResult parseOptionalBody(OpAsmParser &parser, Region &body) {
  OptionalParseResult result = parser.parseOptionalRegion(body);
  if (result.has_value() && failed(*result))
    return failure();
  if (body.empty())
    body.emplaceBlock();
  return success();
}

static void printOptionalBody(OpAsmPrinter &printer, Operation *,
                              Region &body) {
  if (body.empty() || body.front().empty())
    return;
  printer << ' ';
  printer.printRegion(body, /*printEntryBlockArgs=*/false,
                      /*printBlockTerminators=*/false);
}

//===----------------------------------------------------------------------===//
// ModelOp
//===----------------------------------------------------------------------===//

LogicalResult ModelOp::verify() {
  for (Operation &op : getBody().front()) {
    if (!isa<LevelOp, ReadFnOp, func::FuncOp>(op))
      return op.emitOpError()
             << "cannot be in an nl.model body (it holds only nl.level, "
                "nl.read_fn and func.func)";
  }
  return success();
}

//===----------------------------------------------------------------------===//
// LevelOp
//===----------------------------------------------------------------------===//

LevelOp LevelOp::getParentLevel() {
  return dyn_cast_or_null<LevelOp>((*this)->getParentOp());
}

FrequencyAttr LevelOp::getLevelFrequency() { return getFrequency(); }
StringRef LevelOp::getLevelName() { return getSymName(); }

/// Checks the at-most-one rule for the declarations of a level or optimizer.
static LogicalResult checkUniqueDecls(Operation *owner, Block &body) {
  auto count = [&](auto tag) {
    using OpTy = decltype(tag);
    return llvm::range_size(body.getOps<OpTy>());
  };
  if (count(ObjectiveOp()) > 1)
    return owner->emitOpError()
           << "has " << count(ObjectiveOp())
           << " nl.objective ops; a level has at most one inner objective";
  if (count(RetentionOp()) > 1)
    return owner->emitOpError()
           << "has " << count(RetentionOp())
           << " nl.retention ops; a level has at most one retention rule";
  if (count(ObjectiveOp()) > 0 && count(MemoryOp()) == 0 &&
      !isa<OptimizerOp>(owner))
    return owner->emitOpError()
           << "has an inner objective but no associative memory "
              "(nl.memory) for it to train";
  if (count(MemoryOp()) > 0 && count(ObjectiveOp()) == 0)
    return owner->emitOpError()
           << "has an associative memory but no inner objective "
              "(nl.objective) to train it";
  return success();
}

/// A level written every N steps may give some parameters another optimizer
/// (nl.param ... by @opt); every optimizer after the first must write some
/// parameter. A memory level has one optimizer.
static LogicalResult verifyOptimizers(LevelOp level, Block &body) {
  SmallVector<OptimizerOp> opts = llvm::to_vector(body.getOps<OptimizerOp>());
  if (opts.size() > 1 && level.getFrequency().getUnit() != FrequencyUnit::steps)
    return level.emitOpError()
           << "has " << opts.size()
           << " nl.optimizer ops; a level written every N tokens (a memory) "
              "has at most one optimizer";
  if (opts.size() < 2)
    return success();
  for (OptimizerOp extra : llvm::drop_begin(opts)) {
    StringRef name = extra.getSymName();
    bool used = llvm::any_of(body.getOps<ParamOp>(), [&](ParamOp p) {
      std::optional<StringRef> by = p.getOptimizer();
      return by && *by == name;
    });
    if (!used)
      return extra.emitOpError()
             << "writes no parameter: an optimizer after the level's first "
                "must be named by some nl.param (`by @"
             << name << "`)";
  }
  return success();
}

LogicalResult LevelOp::verify() {
  FrequencyAttr freq = getFrequency();
  if (LevelOp parent = getParentLevel()) {
    FrequencyAttr pf = parent.getFrequency();
    if (!freq.isAtLeastAsFastAs(pf))
      return emitOpError() << "(every " << freqStr(freq)
                           << ") is slower than its parent level @"
                           << parent.getSymName() << " (every " << freqStr(pf)
                           << "); rule: an inner level is at least as fast "
                              "as the level that contains it";
  }
  if (getTail() == TailPolicy::carry && freq.getUnit() != FrequencyUnit::tokens)
    return emitOpError() << "'tail carry' needs a frequency in tokens (a "
                            "partial chunk only exists over a token flow)";
  Block &body = getBody().front();
  for (Operation &op : body) {
    if (!isa<ParamOp, MemoryOp, ObjectiveOp, OptimizerOp, RetentionOp, LevelOp>(
            op))
      return op.emitOpError()
             << "cannot be in an nl.level body (it holds only nl.param, "
                "nl.memory, nl.objective, nl.optimizer, nl.retention and "
                "nl.level)";
  }
  if (failed(verifyOptimizers(*this, body)))
    return failure();
  return checkUniqueDecls(*this, body);
}

//===----------------------------------------------------------------------===//
// ParamOp, MemoryOp
//===----------------------------------------------------------------------===//

LogicalResult ParamOp::verify() {
  if (failed(checkFiniteAttrs(*this)))
    return failure();
  Type type = getType();
  if (!isa<MemoryType>(type)) {
    auto tensor = dyn_cast<RankedTensorType>(type);
    if (!tensor || !tensor.hasStaticShape() ||
        !isa<FloatType>(tensor.getElementType()))
      return emitOpError() << "type must be a static-shaped float tensor or "
                              "an !nl.memory, got "
                           << type;
    if (getInit() == ParamInit::identity &&
        (tensor.getRank() != 2 || tensor.getDimSize(0) != tensor.getDimSize(1)))
      return emitOpError() << "'identity' init needs a square 2-D tensor, got "
                           << type;
  }
  if (getStd().convertToDouble() < 0)
    return emitOpError() << "std must be >= 0, got "
                         << getStd().convertToDouble();
  if (auto by = getOptimizer()) {
    auto level = dyn_cast<LevelOp>((*this)->getParentOp());
    if (!level || !getWriter() || getWriter().getSymName() != *by)
      return emitOpError() << "is written by @" << *by
                           << ", which is not an nl.optimizer of its level";
  }
  return success();
}

OptimizerOp ParamOp::getWriter() {
  auto level = dyn_cast<LevelOp>((*this)->getParentOp());
  if (!level)
    return nullptr;
  auto opts = level.getBody().front().getOps<OptimizerOp>();
  if (auto by = getOptimizer()) {
    for (OptimizerOp o : opts)
      if (o.getSymName() == *by)
        return o;
    return nullptr;
  }
  return opts.empty() ? nullptr : *opts.begin();
}

/// A custom memory's read function exists, is an nl.read_fn, and maps the
/// memory's key width to its value width.
static LogicalResult verifyReadFn(Operation *op, Type type,
                                  SymbolTableCollection &tables) {
  auto mt = dyn_cast<MemoryType>(type);
  if (!mt || !mt.getFn())
    return success();
  FlatSymbolRefAttr fn = mt.getFn();
  auto readFn = dyn_cast_or_null<ReadFnOp>(lookupInModel(op, fn, tables));
  if (!readFn)
    return op->emitOpError() << "read function " << fn
                             << " does not name an nl.read_fn of the model";
  FunctionType ft = readFn.getFunctionType();
  if (ft.getNumInputs() < 2 || ft.getNumResults() != 1)
    return op->emitOpError() << "read function " << fn
                             << " must take parameters and a key and return "
                                "one value, has type "
                             << ft;
  SmallVector<int64_t> keyShape, valShape;
  if (failed(checkRank(op, "read function key", ft.getInputs().back(), 1,
                       keyShape, /*atLeast=*/true)) ||
      failed(checkRank(op, "read function value", ft.getResult(0), 1, valShape,
                       /*atLeast=*/true)))
    return failure();
  if (!dimsCompatible(keyShape.back(), mt.getIn()) ||
      !dimsCompatible(valShape.back(), mt.getOut()))
    return op->emitOpError()
           << "read function " << fn << " maps [" << keyShape.back() << "] to ["
           << valShape.back() << "] but the memory maps [" << mt.getIn()
           << "] to [" << mt.getOut() << "]";
  return success();
}

LogicalResult ParamOp::verifySymbolUses(SymbolTableCollection &tables) {
  return verifyReadFn(*this, getType(), tables);
}

LogicalResult MemoryOp::verifySymbolUses(SymbolTableCollection &tables) {
  if (failed(verifyReadFn(*this, getType(), tables)))
    return failure();
  if (!getInit())
    return success();
  Operation *target = lookupInModel(*this, *getInit(), tables);
  auto param = dyn_cast_or_null<ParamOp>(target);
  if (!param)
    return emitOpError() << "initial state " << *getInit()
                         << " does not name an nl.param";
  if (param.getType() != getType())
    return emitOpError() << "initial state " << *getInit() << " has type "
                         << param.getType() << " but the memory is "
                         << getType();
  LevelOp mine = owningLevel(*this), theirs = owningLevel(param);
  if (!mine || !theirs ||
      theirs.getFrequency().isAtLeastAsFastAs(mine.getFrequency()))
    return emitOpError()
           << "initial state " << *getInit()
           << " must be a parameter of a slower level (rule: a memory's "
              "initial state is meta-learned by a slower level)";
  return success();
}

//===----------------------------------------------------------------------===//
// ObjectiveOp
//===----------------------------------------------------------------------===//

LogicalResult ObjectiveOp::verify() {
  if (failed(checkFiniteAttrs(*this)))
    return failure();
  ObjectiveKind kind = getKind();
  if (kind == ObjectiveKind::lp) {
    if (!getP())
      return emitOpError() << "lp objective needs an exponent (p = P)";
    if (getP()->convertToDouble() < 1.0)
      return emitOpError() << "lp objective needs p >= 1, got "
                           << getP()->convertToDouble();
  } else if (getP()) {
    return emitOpError() << "'p' is only valid for lp objectives";
  }
  if (kind == ObjectiveKind::huber) {
    if (!getDelta() || getDelta()->convertToDouble() <= 0)
      return emitOpError() << "huber objective needs a threshold delta > 0";
  } else if (getDelta()) {
    return emitOpError() << "'delta' is only valid for huber objectives";
  }
  bool hasRegion = !getBody().empty();
  if (kind == ObjectiveKind::custom && !hasRegion)
    return emitOpError() << "custom objective needs a region computing "
                            "L(M; k, v)";
  if (kind != ObjectiveKind::custom && hasRegion)
    return emitOpError() << "a " << stringifyObjectiveKind(kind)
                         << " objective takes no region (only custom "
                            "objectives do)";
  return success();
}

LogicalResult ObjectiveOp::verifyRegions() {
  if (getBody().empty())
    return success();
  if (!getBody().hasOneBlock())
    return emitOpError() << "objective region must have one block";
  Block &block = getBody().front();
  if (block.getNumArguments() != 3)
    return emitOpError() << "objective region takes (memory, key, value), "
                            "got "
                         << block.getNumArguments() << " arguments";
  auto mt = dyn_cast<MemoryType>(block.getArgument(0).getType());
  if (!mt)
    return emitOpError() << "objective region's first argument must be an "
                            "!nl.memory, got "
                         << block.getArgument(0).getType();
  SmallVector<int64_t> k, v;
  if (failed(checkRank(*this, "key argument", block.getArgument(1).getType(), 1,
                       k, /*atLeast=*/true)) ||
      failed(checkRank(*this, "value argument", block.getArgument(2).getType(),
                       1, v,
                       /*atLeast=*/true)))
    return failure();
  if (!dimsCompatible(k.back(), mt.getIn()) ||
      !dimsCompatible(v.back(), mt.getOut()))
    return emitOpError() << "objective region's key/value widths [" << k.back()
                         << "], [" << v.back() << "] do not match the memory ["
                         << mt.getIn() << "] -> [" << mt.getOut() << "]";
  SmallVector<MemoryOp> mems =
      llvm::to_vector((*this)->getBlock()->getOps<MemoryOp>());
  if (!mems.empty() &&
      llvm::none_of(mems, [&](MemoryOp m) { return m.getType() == Type(mt); }))
    return emitOpError() << "objective region's memory type " << mt
                         << " is not the type of any nl.memory of its level";
  auto yield = dyn_cast<YieldOp>(block.getTerminator());
  if (!yield)
    return emitOpError() << "objective region must end with nl.yield";
  if (yield.getValues().size() != 1)
    return emitOpError() << "objective region must return one scalar, got "
                         << yield.getValues().size() << " values";
  Type t = yield.getValues()[0].getType();
  auto tensor = dyn_cast<RankedTensorType>(t);
  bool scalar = isa<FloatType>(t) || (tensor && tensor.getRank() == 0 &&
                                      isa<FloatType>(tensor.getElementType()));
  if (!scalar)
    return emitOpError() << "objective region must return a scalar (rule: "
                            "an objective is a scalar loss), got "
                         << t;
  return success();
}

//===----------------------------------------------------------------------===//
// OptimizerOp
//===----------------------------------------------------------------------===//

FrequencyAttr OptimizerOp::getLevelFrequency() {
  return cast<LevelOp>((*this)->getParentOp()).getFrequency();
}
StringRef OptimizerOp::getLevelName() { return getSymName(); }

const OptimizerKindInfo &OptimizerOp::getKindInfo() {
  const OptimizerKindInfo *info = lookupOptimizerKind(getKind());
  assert(info && "nl.optimizer of an unknown kind (not verified)");
  return *info;
}

std::optional<double> OptimizerOp::getHyperIfSet(StringRef name) {
  Attribute a = (*this)->getAttr(name);
  if (auto f = dyn_cast_or_null<FloatAttr>(a))
    return f.getValueAsDouble();
  if (auto i = dyn_cast_or_null<IntegerAttr>(a))
    return double(i.getInt());
  return std::nullopt;
}

double OptimizerOp::getHyper(StringRef name) {
  if (std::optional<double> v = getHyperIfSet(name))
    return *v;
  const OptimizerHyper *h = getKindInfo().findHyper(name);
  return h ? h->byDefault : 0.0;
}

LogicalResult OptimizerOp::verify() {
  if (failed(checkFiniteAttrs(*this)))
    return failure();
  const OptimizerKindInfo *info = lookupOptimizerKind(getKind());
  if (!info)
    return emitOpError() << "unknown optimizer kind '" << getKind()
                         << "' (known: " << optimizerKindList() << ")";
  StringRef kindName = info->name;
  if (getLr().convertToDouble() <= 0)
    return emitOpError() << "learning rate must be positive, got lr = "
                         << getLr().convertToDouble();
  // Only the kind's own hyperparameters, each of its declared type and
  // range.
  for (NamedAttribute attr : (*this)->getAttrs()) {
    StringRef name = attr.getName().getValue();
    if (name == getSymNameAttrName() || name == getKindAttrName() ||
        isCommonHyper(name))
      continue;
    const OptimizerHyper *h = info->findHyper(name);
    if (!h)
      return emitOpError() << "'" << name << "' is not a hyperparameter of "
                           << kindName << " optimizers";
    bool count = h->range == OptimizerHyper::Range::count;
    if (count ? !isa<IntegerAttr>(attr.getValue())
              : !isa<FloatAttr>(attr.getValue()))
      return emitOpError() << "'" << name << "' must be "
                           << (count ? "an integer (i64)" : "a float (f64)");
    double v = *getHyperIfSet(name);
    switch (h->range) {
    case OptimizerHyper::Range::unit:
      if (v < 0 || v >= 1)
        return emitOpError() << name << " must be in [0, 1), got " << v;
      break;
    case OptimizerHyper::Range::positive:
      if (v <= 0)
        return emitOpError() << name << " must be positive";
      break;
    case OptimizerHyper::Range::nonNegative:
      if (v < 0)
        return emitOpError() << name << " must be >= 0";
      break;
    case OptimizerHyper::Range::count:
      // IntegerAttr holds an i64: compare the signed value.
      if (int64_t n = cast<IntegerAttr>(attr.getValue()).getInt();
          n < 1 || n > h->maxCount)
        return emitOpError()
               << name << " (" << h->meaning << ") must be in [1, "
               << h->maxCount << "], got " << n;
      break;
    }
  }
  for (const OptimizerHyper &h : info->hypers)
    if (h.required && !(*this)->hasAttr(h.name))
      return emitOpError() << kindName << " needs " << h.name << ": "
                           << h.meaning;
  if (getWeightDecay() && getWeightDecay()->convertToDouble() < 0)
    return emitOpError() << "weight_decay must be >= 0";
  // The stabilizers: clip_norm clips an outer level's gradient, clamp_norm
  // soft-clamps a memory's per-token inner gradient.
  auto level = (*this)->getParentOfType<LevelOp>();
  bool perToken =
      level && level.getFrequency().getUnit() == FrequencyUnit::tokens;
  if (auto c = getClipNorm()) {
    if (c->convertToDouble() <= 0)
      return emitOpError() << "clip_norm must be > 0, got "
                           << c->convertToDouble();
    if (perToken)
      return emitOpError()
             << "clip_norm clips the gradient of a level written every N "
                "steps; a memory level (written every "
             << level.getFrequency().getPeriod() << " tokens) takes clamp_norm";
  }
  if (auto c = getClampNorm()) {
    if (c->convertToDouble() <= 0)
      return emitOpError() << "clamp_norm must be > 0, got "
                           << c->convertToDouble();
    if (!perToken)
      return emitOpError()
             << "clamp_norm soft-clamps the inner gradient of a memory level "
                "(written every N tokens); a level written every N steps "
                "takes clip_norm";
  }

  Block *body = &getBody().front();
  {
    for (Operation &op : *body)
      if (!isa<ParamOp, MemoryOp, ObjectiveOp, RetentionOp>(op))
        return op.emitOpError()
               << "cannot be in an nl.optimizer body (it holds only the "
                  "optimizer's state and its objective: nl.param, "
                  "nl.memory, nl.objective, nl.retention)";
    if (failed(checkUniqueDecls(*this, *body)))
      return failure();
  }
  if (info->verify && failed(info->verify(*this)))
    return failure();
  return success();
}

//===----------------------------------------------------------------------===//
// RetentionOp
//===----------------------------------------------------------------------===//

LogicalResult RetentionOp::verify() {
  if (failed(checkFiniteAttrs(*this)))
    return failure();
  switch (getKind()) {
  case RetentionKind::decay:
    if (!getAlpha() || getAlpha()->convertToDouble() <= 0 ||
        getAlpha()->convertToDouble() > 1)
      return emitOpError() << "decay retention needs 0 < alpha <= 1";
    if (getLambda())
      return emitOpError() << "'lambda' is only valid for local retention";
    break;
  case RetentionKind::gate:
    if (getAlpha() || getLambda())
      return emitOpError() << "gate retention is data-dependent: its alpha_t "
                              "is the decay(...) operand of nl.memorize, not "
                              "an attribute";
    break;
  case RetentionKind::local:
    if (!getLambda() || getLambda()->convertToDouble() <= 0)
      return emitOpError() << "local retention needs lambda > 0";
    if (getAlpha())
      return emitOpError() << "'alpha' is only valid for decay retention";
    break;
  }
  return success();
}

//===----------------------------------------------------------------------===//
// ReadFnOp
//===----------------------------------------------------------------------===//

LogicalResult ReadFnOp::verifyRegions() {
  FunctionType ft = getFunctionType();
  if (ft.getNumInputs() < 2 || ft.getNumResults() != 1)
    return emitOpError() << "a read function takes the memory's parameters "
                            "and a key and returns one value, got "
                         << ft;
  Block &block = getBody().front();
  if (block.getArgumentTypes() != ft.getInputs())
    return emitOpError() << "entry block arguments do not match the function "
                            "type "
                         << ft;
  auto yield = dyn_cast<YieldOp>(block.getTerminator());
  if (!yield || TypeRange(yield.getValues()) != ft.getResults())
    return emitOpError() << "must end with nl.yield of " << ft.getResults();
  if (auto names = getParamNames();
      names && names->size() != ft.getNumInputs() - 1)
    return emitOpError() << "param_names names " << names->size()
                         << " parameter(s), the function takes "
                         << ft.getNumInputs() - 1;
  return success();
}

//===----------------------------------------------------------------------===//
// GetParamOp, FlowOp
//===----------------------------------------------------------------------===//

LogicalResult GetParamOp::verifySymbolUses(SymbolTableCollection &tables) {
  if (failed(requireModel(*this, getParam())))
    return failure();
  auto param =
      dyn_cast_or_null<ParamOp>(lookupInModel(*this, getParam(), tables));
  if (!param)
    return emitOpError() << getParam() << " does not name an nl.param";
  if (param.getType() != getResult().getType())
    return emitOpError() << "result type " << getResult().getType()
                         << " does not match parameter " << getParam()
                         << " of type " << param.getType();
  return success();
}

LogicalResult FlowOp::verify() {
  auto ft = cast<FlowType>(getResult().getType());
  FlowKind kind = getKind();
  if (ft.getKind() != kind)
    return emitOpError() << "result is a " << stringifyFlowKind(ft.getKind())
                         << " flow but the op makes a "
                         << stringifyFlowKind(kind) << " flow";
  size_t n = getInputs().size();
  bool needsSource = kind == FlowKind::gradients || kind == FlowKind::output;
  if (needsSource != bool(getSource()))
    return emitOpError() << "a " << stringifyFlowKind(kind) << " flow "
                         << (needsSource ? "needs" : "takes no")
                         << " source level ('of @...')";
  size_t want = kind == FlowKind::keys_values ? 2
                : kind == FlowKind::gradients ? 0
                                              : 1;
  if (n != want)
    return emitOpError() << "a " << stringifyFlowKind(kind) << " flow takes "
                         << want << " input(s), got " << n;
  if (kind != FlowKind::gradients &&
      TypeRange(getInputs()) != TypeRange(ft.getElements()))
    return emitOpError() << "flow element types must match its inputs";
  if (kind == FlowKind::gradients && ft.getElements().size() != 1)
    return emitOpError() << "a gradients flow carries one element type";
  if (kind == FlowKind::tokens) {
    auto t = dyn_cast<RankedTensorType>(getInputs()[0].getType());
    if (!t || !t.getElementType().isSignlessInteger() || t.getRank() != 2)
      return emitOpError() << "a tokens flow carries integer token ids [B, T]";
  }
  if (kind == FlowKind::keys_values) {
    SmallVector<int64_t> k, v;
    if (failed(checkRank(*this, "keys", getInputs()[0].getType(), 4, k)) ||
        failed(checkRank(*this, "values", getInputs()[1].getType(), 4, v)))
      return failure();
    for (int i = 0; i < 3; ++i)
      if (!dimsCompatible(k[i], v[i]))
        return emitOpError()
               << "keys " << shapeStr(k) << " and values " << shapeStr(v)
               << " must agree on [B, H, T] (rule: shapes of "
                  "keys and values agree)";
  }
  return success();
}

/// The level written by a memorize-like op, or null.
static Operation *writtenLevel(Operation *op, SymbolTableCollection &tables) {
  SymbolRefAttr ref;
  if (auto m = dyn_cast<MemorizeOp>(op))
    ref = m.getLevel();
  else if (auto s = dyn_cast<SelfModifyOp>(op))
    ref = s.getLevel();
  else
    return nullptr;
  return lookupInModel(op, ref, tables);
}

LogicalResult FlowOp::verifySymbolUses(SymbolTableCollection &tables) {
  if (!getSource())
    return success();
  if (failed(requireModel(*this, *getSource())))
    return failure();
  Operation *source = lookupInModel(*this, *getSource(), tables);
  if (!source)
    return emitOpError() << "source " << *getSource()
                         << " not found in the model";
  LevelOp level;
  if (getKind() == FlowKind::gradients) {
    if (!isa<ParamOp, MemoryOp>(source))
      return emitOpError() << "a gradients flow reads an nl.param or "
                              "nl.memory; "
                           << *getSource() << " is neither";
    if (auto param = dyn_cast<ParamOp>(source))
      if (!isa<MemoryType>(param.getType()) &&
          cast<FlowType>(getResult().getType()).getElements()[0] !=
              param.getType())
        return emitOpError() << "gradients of " << *getSource() << " have type "
                             << param.getType();
    level = owningLevel(source);
  } else {
    level = dyn_cast<LevelOp>(source);
    if (!level)
      return emitOpError() << "an output flow reads an nl.level; "
                           << *getSource() << " is not one";
    Operation *def = getInputs()[0].getDefiningOp();
    if (!def || writtenLevel(def, tables) != level.getOperation())
      return emitOpError() << "an output flow of " << *getSource()
                           << " must carry a result of nl.memorize or "
                              "nl.self_modify of that level";
  }
  // Causality: the op that writes `level` in this function must come first.
  Operation *fn = (*this)->getParentOfType<func::FuncOp>();
  if (!fn || !level)
    return success();
  SmallVector<Operation *> writers;
  fn->walk([&](Operation *op) {
    if (writtenLevel(op, tables) == level.getOperation())
      writers.push_back(op);
  });
  if (writers.empty())
    return success();
  DominanceInfo dom(fn);
  if (llvm::none_of(writers, [&](Operation *w) {
        return dom.properlyDominates(w, *this);
      })) {
    InFlightDiagnostic diag =
        emitOpError() << "reads the state of level @" << level.getSymName()
                      << " before it is written in the same step (rule: "
                         "causality)";
    diag.attachNote(writers.front()->getLoc()) << "the level is written here";
    return diag;
  }
  return success();
}

//===----------------------------------------------------------------------===//
// MemorizeOp, SelfModifyOp, ReadOp
//===----------------------------------------------------------------------===//

LogicalResult MemorizeOp::verifySymbolUses(SymbolTableCollection &tables) {
  FailureOr<LevelOp> level = resolveMemoryLevel(*this, getLevel(), tables);
  if (failed(level))
    return failure();
  SmallVector<MemoryOp> mems = memoriesOf(*level);
  if (mems.size() != 1)
    return emitOpError() << "needs a level with exactly one nl.memory; "
                         << getLevel() << " has " << mems.size()
                         << " (nl.self_modify runs several)";
  MemoryType mt = mems.front().getMemoryType();
  auto ft = cast<FlowType>(getFlow().getType());
  if (ft.getKind() != FlowKind::keys_values)
    return emitOpError() << "learns from a keys_values flow, got a "
                         << stringifyFlowKind(ft.getKind()) << " flow";
  SmallVector<int64_t> k, v, q;
  if (failed(checkRank(*this, "keys", ft.getElements()[0], 4, k)) ||
      failed(checkRank(*this, "values", ft.getElements()[1], 4, v)) ||
      failed(checkRank(*this, "queries", getQueries().getType(), 4, q)))
    return failure();
  int64_t H = mt.getHeads(), dk = mt.getIn(), dv = mt.getOut();
  const char *rule = " (rule: shapes of keys, values, queries and memory "
                     "agree)";
  if (failed(checkDim(*this, k[1], H,
                      Twine("keys' heads vs the memory's") + rule)) ||
      failed(checkDim(*this, k[3], dk,
                      Twine("key width vs the memory's in") + rule)) ||
      failed(checkDim(
          *this, v[3], getSelfValues() ? dk : dv,
          Twine("value width vs the memory's ") +
              (getSelfValues() ? "in (self_values: v̂ = M(v))" : "out") +
              rule)) ||
      failed(checkDim(*this, q[0], k[0],
                      Twine("queries' batch vs keys'") + rule)) ||
      failed(checkDim(*this, q[1], H,
                      Twine("queries' heads vs the memory's") + rule)) ||
      failed(checkDim(*this, q[3], dk,
                      Twine("query width vs the memory's in") + rule)))
    return failure();
  if (failed(checkShape(*this, "result", getResult().getType(),
                        {q[0], q[1], q[2], dv})))
    return failure();
  for (auto [name, gate] : {std::pair<StringRef, Value>{"lr", getLr()},
                            {"decay", getDecay()},
                            {"momentum", getMomentum()}})
    if (gate && failed(checkShape(*this, (name + " gate").str(), gate.getType(),
                                  {k[0], k[1], k[2]})))
      return failure();
  RetentionOp ret = level->getUnique<RetentionOp>();
  bool gated = ret && ret.getKind() == RetentionKind::gate;
  if (gated && !getDecay())
    return emitOpError() << "level " << getLevel()
                         << " has gate retention: a decay(...) operand with "
                            "alpha_t per token is required";
  if (!gated && getDecay())
    return emitOpError() << "has a decay(...) operand but level " << getLevel()
                         << " has no gate retention";
  return success();
}

LogicalResult SelfModifyOp::verifySymbolUses(SymbolTableCollection &tables) {
  FailureOr<LevelOp> level = resolveMemoryLevel(*this, getLevel(), tables);
  if (failed(level))
    return failure();
  SmallVector<MemoryOp> mems = memoriesOf(*level);
  if (mems.size() != getResults().size())
    return emitOpError() << "level " << getLevel() << " has " << mems.size()
                         << " memories but the op returns "
                         << getResults().size()
                         << " results (one read per memory)";
  SmallVector<int64_t> x;
  if (failed(checkRank(*this, "input", getInput().getType(), 4, x)))
    return failure();
  for (auto [i, mem] : llvm::enumerate(mems)) {
    MemoryType mt = mem.getMemoryType();
    if (failed(checkDim(*this, x[1], mt.getHeads(),
                        "input heads vs memory @" + mem.getSymName())) ||
        failed(
            checkDim(*this, x[3], mt.getIn(),
                     "input width vs memory @" + mem.getSymName() + "'s in")) ||
        failed(checkShape(*this, ("result #" + Twine(i)).str(),
                          getResults()[i].getType(),
                          {x[0], x[1], x[2], (int64_t)mt.getOut()})))
      return failure();
  }
  // The first memory makes the keys and the second the values, which every
  // memory reads for its self-generated value (v̂_i = M_i(v)).
  if (mems.size() < 2)
    return emitOpError() << "level " << getLevel()
                         << " needs at least two memories: the first makes "
                            "the keys, the second the values";
  MemoryType values = mems[1].getMemoryType();
  for (MemoryOp mem : mems)
    if (mem.getMemoryType().getIn() != values.getOut())
      return emitOpError() << "the values, made by level " << getLevel()
                           << "'s second memory @" << mems[1].getSymName()
                           << " (width " << values.getOut()
                           << "), are read by every memory of the level "
                           << "(v̂_i = M_i(v)), but @" << mem.getSymName()
                           << " reads width " << mem.getMemoryType().getIn();
  return success();
}

LogicalResult ReadOp::verify() {
  auto mt = cast<MemoryType>(getMemory().getType());
  SmallVector<int64_t> k;
  if (failed(checkRank(*this, "key", getKey().getType(), 1, k, true)))
    return failure();
  if (failed(checkDim(*this, k.back(), mt.getIn(),
                      "key width vs the memory's in")))
    return failure();
  k.back() = mt.getOut();
  return checkShape(*this, "result", getResult().getType(), k);
}

//===----------------------------------------------------------------------===//
// Compute ops
//===----------------------------------------------------------------------===//

LogicalResult EmbeddingOp::verify() {
  SmallVector<int64_t> table, ids;
  if (failed(checkRank(*this, "table", getTable().getType(), 2, table)) ||
      failed(checkRank(*this, "ids", getIds().getType(), 1, ids, true)))
    return failure();
  ids.push_back(table[1]);
  return checkShape(*this, "result", getResult().getType(), ids);
}

LogicalResult LinearOp::verify() {
  SmallVector<int64_t> x, w, b;
  if (failed(checkRank(*this, "input", getInput().getType(), 1, x, true)) ||
      failed(checkRank(*this, "weight", getWeight().getType(), 2, w)))
    return failure();
  if (failed(checkDim(*this, x.back(), w[0],
                      "input width [..., K] vs weight [K, N]")))
    return failure();
  if (getBias() &&
      failed(checkShape(*this, "bias", getBias().getType(), {w[1]})))
    return failure();
  x.back() = w[1];
  return checkShape(*this, "result", getResult().getType(), x);
}

LogicalResult MatmulOp::verify() {
  SmallVector<int64_t> a, b;
  if (failed(checkRank(*this, "lhs", getLhs().getType(), 2, a, true)) ||
      failed(checkRank(*this, "rhs", getRhs().getType(), 2, b, true)))
    return failure();
  if (a.size() != b.size())
    return emitOpError() << "lhs and rhs must have the same rank";
  for (size_t i = 0; i + 2 < a.size(); ++i)
    if (failed(checkDim(*this, a[i], b[i], "batch dim " + Twine(i))))
      return failure();
  if (failed(checkDim(*this, a[a.size() - 1], b[b.size() - 2],
                      "contraction dim: lhs [..., M, K] vs rhs [..., K, N]")))
    return failure();
  SmallVector<int64_t> r(a);
  r.back() = b.back();
  return checkShape(*this, "result", getResult().getType(), r);
}

LogicalResult RmsNormOp::verify() {
  if (failed(checkFiniteAttrs(*this)))
    return failure();
  SmallVector<int64_t> x;
  if (failed(checkRank(*this, "input", getInput().getType(), 1, x, true)) ||
      failed(checkShape(*this, "gamma", getGamma().getType(), {x.back()})))
    return failure();
  if (getEps().convertToDouble() <= 0)
    return emitOpError() << "eps must be positive";
  return success();
}

LogicalResult L2NormOp::verify() {
  if (failed(checkFiniteAttrs(*this)))
    return failure();
  SmallVector<int64_t> x;
  if (failed(checkRank(*this, "input", getInput().getType(), 1, x, true)))
    return failure();
  if (getEps().convertToDouble() <= 0)
    return emitOpError() << "eps must be positive";
  return success();
}

LogicalResult SoftmaxOp::verify() {
  SmallVector<int64_t> x;
  return checkRank(*this, "input", getInput().getType(), 1, x, true);
}

LogicalResult CausalConvOp::verify() {
  SmallVector<int64_t> x, w;
  if (failed(checkRank(*this, "input", getInput().getType(), 3, x)) ||
      failed(checkRank(*this, "weight", getWeight().getType(), 2, w)))
    return failure();
  if (failed(checkDim(*this, w[1], x[2], "weight [K, D] vs input [B, T, D]")))
    return failure();
  return success();
}

/// nl.attention's and nl.attention_grad's operands: q, k `[B, H, T, dk]`,
/// v `[B, H, T, dv]`; `out` gets `[B, H, T, dv]`, the shape of the result.
template <typename OpTy>
static LogicalResult verifyAttentionOperands(OpTy op,
                                             SmallVectorImpl<int64_t> &out) {
  if (failed(checkFiniteAttrs(op)))
    return failure();
  SmallVector<int64_t> q, k, v;
  if (failed(checkRank(op, "query", op.getQuery().getType(), 4, q)) ||
      failed(checkRank(op, "key", op.getKey().getType(), 4, k)) ||
      failed(checkRank(op, "value", op.getValue().getType(), 4, v)))
    return failure();
  out.assign({q[0], q[1], q[2], v[3]});
  if (failed(checkShape(op, "key", op.getKey().getType(), q)) ||
      failed(checkShape(op, "value", op.getValue().getType(), out)))
    return failure();
  return success();
}

/// The window (at least one token) and scale (positive) of nl.attention and
/// nl.attention_grad.
template <typename OpTy> static LogicalResult verifyAttentionAttrs(OpTy op) {
  if (op.getWindowAttr() && op.getWindowAttr().getInt() < 1)
    return op.emitOpError()
           << "window must be >= 1 token, got " << op.getWindowAttr().getInt();
  if (op.getScale() && op.getScale()->convertToDouble() <= 0)
    return op.emitOpError() << "scale must be positive";
  return success();
}

template <typename OpTy> static double attentionScale(OpTy op) {
  if (op.getScale())
    return op.getScale()->convertToDouble();
  return 1.0 /
         std::sqrt(static_cast<double>(
             cast<ShapedType>(op.getQuery().getType()).getShape().back()));
}

double AttentionOp::getScaleOrDefault() { return attentionScale(*this); }
double AttentionGradOp::getScaleOrDefault() { return attentionScale(*this); }

LogicalResult AttentionOp::verify() {
  SmallVector<int64_t> out;
  if (failed(verifyAttentionOperands(*this, out)) ||
      failed(checkShape(*this, "result", getResult().getType(), out)))
    return failure();
  return verifyAttentionAttrs(*this);
}

template <typename OpTy> static LogicalResult verifyReduction(OpTy op) {
  auto in = cast<ShapedType>(op.getInput().getType());
  auto out = cast<ShapedType>(op.getResult().getType());
  if (!out.hasRank() || out.getRank() != 0 ||
      out.getElementType() != in.getElementType())
    return op.emitOpError() << "returns a scalar tensor<" << in.getElementType()
                            << ">, got " << out;
  return success();
}
LogicalResult SumOp::verify() { return verifyReduction(*this); }
LogicalResult MeanOp::verify() { return verifyReduction(*this); }

LogicalResult CrossEntropyOp::verify() {
  SmallVector<int64_t> l, t;
  if (failed(checkRank(*this, "logits", getLogits().getType(), 3, l)) ||
      failed(
          checkShape(*this, "targets", getTargets().getType(), {l[0], l[1]})))
    return failure();
  auto out = cast<ShapedType>(getResult().getType());
  if (!out.hasRank() || out.getRank() != 0)
    return emitOpError() << "returns a scalar loss (nats/token), got " << out;
  return success();
}

LogicalResult SplitHeadsOp::verify() {
  SmallVector<int64_t> x;
  if (failed(checkRank(*this, "input", getInput().getType(), 3, x)))
    return failure();
  int64_t h = getHeads();
  if (h < 1)
    return emitOpError() << "heads must be >= 1";
  int64_t d = ShapedType::kDynamic;
  if (!ShapedType::isDynamic(x[2])) {
    if (x[2] % h != 0)
      return emitOpError() << "width " << x[2] << " is not divisible by " << h
                           << " heads";
    d = x[2] / h;
  }
  return checkShape(*this, "result", getResult().getType(), {x[0], h, x[1], d});
}

LogicalResult MergeHeadsOp::verify() {
  SmallVector<int64_t> x;
  if (failed(checkRank(*this, "input", getInput().getType(), 4, x)))
    return failure();
  int64_t d = ShapedType::isDynamic(x[1]) || ShapedType::isDynamic(x[3])
                  ? ShapedType::kDynamic
                  : x[1] * x[3];
  return checkShape(*this, "result", getResult().getType(), {x[0], x[2], d});
}

LogicalResult SliceOp::verify() {
  auto in = cast<RankedTensorType>(getInput().getType());
  int64_t dim = getDim(), off = getOffset(), size = getSize();
  if (dim < 0 || dim >= in.getRank())
    return emitOpError() << "dim " << dim << " out of range for rank "
                         << in.getRank();
  if (off < 0 || size < 1)
    return emitOpError() << "needs offset >= 0 and size >= 1";
  if (!in.isDynamicDim(dim) &&
      (off > in.getDimSize(dim) || size > in.getDimSize(dim) - off))
    return emitOpError() << "slice of " << size << " at offset " << off
                         << " exceeds dim " << dim << " of size "
                         << in.getDimSize(dim);
  SmallVector<int64_t> r(in.getShape());
  r[dim] = size;
  if (cast<RankedTensorType>(getResult().getType()).getElementType() !=
      in.getElementType())
    return emitOpError() << "result element type must match the input";
  return checkShape(*this, "result", getResult().getType(), r);
}

//===----------------------------------------------------------------------===//
// Primitive ops used by the VJPs
//===----------------------------------------------------------------------===//

/// True when `from` broadcasts to `to` by NumPy rules (dims aligned on the
/// right; a size-1 or missing leading dim repeats).
static bool broadcastsTo(ArrayRef<int64_t> from, ArrayRef<int64_t> to) {
  if (from.size() > to.size())
    return false;
  size_t lead = to.size() - from.size();
  for (size_t i = 0; i < from.size(); ++i)
    if (from[i] != 1 && !dimsCompatible(from[i], to[lead + i]))
      return false;
  return true;
}

static LogicalResult verifyBroadcastPair(Operation *op, Type small, Type big,
                                         StringRef smallName,
                                         StringRef bigName) {
  auto s = cast<RankedTensorType>(small), b = cast<RankedTensorType>(big);
  if (s.getElementType() != b.getElementType())
    return op->emitOpError() << "input and result element types differ";
  if (!broadcastsTo(s.getShape(), b.getShape()))
    return op->emitOpError() << smallName << " shape " << shapeStr(s.getShape())
                             << " does not broadcast to the " << bigName
                             << " shape " << shapeStr(b.getShape());
  return success();
}

LogicalResult TransposeOp::verify() {
  SmallVector<int64_t> x;
  if (failed(checkRank(*this, "input", getInput().getType(), 2, x, true)))
    return failure();
  std::swap(x[x.size() - 1], x[x.size() - 2]);
  return checkShape(*this, "result", getResult().getType(), x);
}

LogicalResult BroadcastOp::verify() {
  return verifyBroadcastPair(*this, getInput().getType(), getResult().getType(),
                             "input", "result");
}

LogicalResult SumToOp::verify() {
  return verifyBroadcastPair(*this, getResult().getType(), getInput().getType(),
                             "result", "input");
}

LogicalResult PadOp::verify() {
  auto in = cast<RankedTensorType>(getInput().getType());
  int64_t dim = getDim(), off = getOffset(), size = getSize();
  if (dim < 0 || dim >= in.getRank())
    return emitOpError() << "dim " << dim << " out of range for rank "
                         << in.getRank();
  if (off < 0 || (!in.isDynamicDim(dim) && off + in.getDimSize(dim) > size))
    return emitOpError() << "input of size " << in.getDimSize(dim)
                         << " at offset " << off << " does not fit in " << size;
  SmallVector<int64_t> r(in.getShape());
  r[dim] = size;
  return checkShape(*this, "result", getResult().getType(), r);
}

LogicalResult EmbeddingGradOp::verify() {
  SmallVector<int64_t> dy, ids, table;
  if (failed(checkRank(*this, "input", getInput().getType(), 2, dy, true)) ||
      failed(checkRank(*this, "result", getResult().getType(), 2, table)))
    return failure();
  ids.assign(dy.begin(), dy.end() - 1);
  if (failed(checkShape(*this, "ids", getIds().getType(), ids)))
    return failure();
  return checkDim(*this, table[1], dy.back(), "result width vs input width");
}

LogicalResult OneHotOp::verify() {
  auto ids = cast<RankedTensorType>(getIds().getType());
  SmallVector<int64_t> r(ids.getShape());
  auto res = cast<RankedTensorType>(getResult().getType());
  if (res.getRank() != ids.getRank() + 1)
    return emitOpError() << "result must have rank " << ids.getRank() + 1;
  r.push_back(res.getShape().back());
  return checkShape(*this, "result", res, r);
}

LogicalResult CausalMaskOp::verify() {
  SmallVector<int64_t> x;
  if (failed(checkRank(*this, "input", getInput().getType(), 2, x, true)))
    return failure();
  if (failed(checkDim(*this, x[x.size() - 2], x.back(),
                      "scores must be square [..., T, T]")))
    return failure();
  if (getWindowAttr() && getWindowAttr().getInt() < 1)
    return emitOpError() << "window must be >= 1 token, got "
                         << getWindowAttr().getInt();
  return success();
}

LogicalResult LinearScanOp::verify() {
  SmallVector<int64_t> a, x, h;
  if (failed(checkRank(*this, "gate", getGate().getType(), 3, a)) ||
      failed(checkRank(*this, "input", getInput().getType(), 3, x, true)))
    return failure();
  if (failed(
          checkShape(*this, "gate", getGate().getType(), {x[0], x[1], x[2]})))
    return failure();
  SmallVector<int64_t> h0{x[0], x[1]};
  h0.append(x.begin() + 3, x.end());
  if (failed(checkShape(*this, "init", getInit().getType(), h0)))
    return failure();
  return checkShape(*this, "result", getResult().getType(), x);
}

LogicalResult MatrixScanOp::verify() {
  SmallVector<int64_t> a, x;
  if (failed(checkRank(*this, "gate", getGate().getType(), 5, a)) ||
      failed(checkRank(*this, "input", getInput().getType(), 5, x)))
    return failure();
  if (failed(checkShape(*this, "gate", getGate().getType(),
                        {x[0], x[1], x[2], x[4], x[4]})) ||
      failed(checkShape(*this, "init", getInit().getType(),
                        {x[0], x[1], x[3], x[4]})))
    return failure();
  return checkShape(*this, "result", getResult().getType(), x);
}

LogicalResult CheckpointOp::verify() {
  Block &body = getBody().front();
  if (body.getArgumentTypes() != getInputs().getTypes())
    return emitOpError() << "region arguments must match the operands";
  auto yield = cast<YieldOp>(body.getTerminator());
  if (yield.getValues().getTypes() != getResults().getTypes())
    return emitOpError() << "yields " << yield.getValues().size()
                         << " values whose types must match the results";
  return success();
}

LogicalResult AttentionGradOp::verify() {
  SmallVector<int64_t> out;
  if (failed(verifyAttentionOperands(*this, out)) ||
      failed(checkShape(*this, "output", getOutput().getType(), out)) ||
      failed(checkShape(*this, "cotangent", getCotangent().getType(), out)))
    return failure();
  if (getDquery().getType() != getQuery().getType() ||
      getDkey().getType() != getKey().getType() ||
      getDvalue().getType() != getValue().getType())
    return emitOpError() << "results must have the types of query, key and "
                            "value";
  return verifyAttentionAttrs(*this);
}

//===----------------------------------------------------------------------===//
// nl.attention_kernel, nl.attention_grad_kernel: destination-passing style
// on tensors or memrefs (bufferization), lowered to the runtime's kernels.
//===----------------------------------------------------------------------===//

/// The shared checks of the two kernel ops: operands all tensors or all
/// memrefs of rank 4 with one element type, B, H and T shared, q and k of
/// one shape, `numInits` inits shaped like q, k, v (grad) or like the
/// output; on tensors one result per init, of its type, and none on
/// memrefs; a positive window and scale.
static LogicalResult verifyAttentionKernel(Operation *op, unsigned numInputs,
                                           ValueRange inits, TypeRange results,
                                           IntegerAttr window,
                                           FloatAttr scale) {
  SmallVector<ShapedType> types;
  for (Value v : op->getOperands())
    types.push_back(cast<ShapedType>(v.getType()));
  bool tensors = isa<RankedTensorType>(types[0]);
  for (ShapedType t : types) {
    if (isa<RankedTensorType>(t) != tensors || !t.hasRank() ||
        t.getRank() != 4 || t.getElementType() != types[0].getElementType() ||
        !isa<FloatType>(t.getElementType()))
      return op->emitOpError()
             << "operands must be all ranked tensors or all memrefs of rank "
                "4 with one float element type, got "
             << t;
  }
  ArrayRef<int64_t> q = types[0].getShape(), v = types[2].getShape();
  SmallVector<int64_t> out{q[0], q[1], q[2], v[3]};
  auto expect = [&](unsigned i, ArrayRef<int64_t> shape,
                    StringRef what) -> LogicalResult {
    if (types[i].getShape() != shape)
      return op->emitOpError()
             << what << " has shape " << shapeStr(types[i].getShape())
             << " but expected " << shapeStr(shape);
    return success();
  };
  if (failed(expect(1, q, "key")) || failed(expect(2, out, "value")))
    return failure();
  for (unsigned i = 3; i < numInputs; ++i)
    if (failed(expect(i, out, i == 3 ? "output" : "cotangent")))
      return failure();
  bool grad = numInputs == 5;
  if (inits.size() != (grad ? 3u : 1u))
    return op->emitOpError()
           << "takes " << (grad ? 3 : 1) << " init(s), got " << inits.size();
  for (unsigned i = 0; i < inits.size(); ++i)
    if (failed(expect(numInputs + i, grad ? types[i].getShape() : out, "init")))
      return failure();
  if (tensors ? results.size() != inits.size() : !results.empty())
    return op->emitOpError()
           << (tensors ? "on tensors returns one result per init"
                       : "on memrefs returns no results");
  for (auto [r, init] : llvm::zip(results, inits))
    if (r != init.getType())
      return op->emitOpError()
             << "result type " << r << " differs from its init's type "
             << init.getType();
  if (window && window.getInt() < 1)
    return op->emitOpError()
           << "window must be >= 1 token, got " << window.getInt();
  if (scale.getValueAsDouble() <= 0 || !std::isfinite(scale.getValueAsDouble()))
    return op->emitOpError() << "scale must be positive and finite";
  return success();
}

LogicalResult AttentionKernelOp::verify() {
  return verifyAttentionKernel(*this, 3, getInits(), getResultTypes(),
                               getWindowAttr(), getScaleAttr());
}

LogicalResult AttentionGradKernelOp::verify() {
  return verifyAttentionKernel(*this, 5, getInits(), getResultTypes(),
                               getWindowAttr(), getScaleAttr());
}

/// On memrefs: reads its inputs, writes its inits (whose contents it does
/// not read). On tensors: no effects.
static void attentionKernelEffects(
    Operation *op,
    SmallVectorImpl<SideEffects::EffectInstance<MemoryEffects::Effect>>
        &effects) {
  auto dps = cast<DestinationStyleOpInterface>(op);
  for (OpOperand &operand : op->getOpOperands()) {
    if (!isa<MemRefType>(operand.get().getType()))
      continue;
    if (dps.isDpsInit(&operand))
      effects.emplace_back(MemoryEffects::Write::get(), &operand,
                           SideEffects::DefaultResource::get());
    else
      effects.emplace_back(MemoryEffects::Read::get(), &operand,
                           SideEffects::DefaultResource::get());
  }
}

/// The op again on the buffers of its operands, without results; its
/// results become the inits' buffers.
static LogicalResult
bufferizeAttentionKernel(Operation *op, RewriterBase &rewriter,
                         const bufferization::BufferizationOptions &options,
                         bufferization::BufferizationState &state) {
  SmallVector<Value> buffers;
  for (Value v : op->getOperands()) {
    FailureOr<Value> b = bufferization::getBuffer(rewriter, v, options, state);
    if (failed(b))
      return failure();
    buffers.push_back(*b);
  }
  rewriter.setInsertionPoint(op);
  OperationState st(op->getLoc(), op->getName(), buffers, TypeRange{},
                    op->getAttrs());
  rewriter.create(st);
  auto dps = cast<DestinationStyleOpInterface>(op);
  SmallVector<Value> inits;
  for (OpOperand &init : dps.getDpsInitsMutable())
    inits.push_back(buffers[init.getOperandNumber()]);
  bufferization::replaceOpWithBufferizedValues(rewriter, op, inits);
  return success();
}

#define ATTENTION_KERNEL_INTERFACES(OP)                                        \
  void OP::getEffects(                                                         \
      SmallVectorImpl<SideEffects::EffectInstance<MemoryEffects::Effect>>      \
          &effects) {                                                          \
    attentionKernelEffects(*this, effects);                                    \
  }                                                                            \
  bool OP::bufferizesToMemoryRead(OpOperand &operand,                          \
                                  const bufferization::AnalysisState &) {      \
    return !isDpsInit(&operand);                                               \
  }                                                                            \
  bool OP::bufferizesToMemoryWrite(OpOperand &operand,                         \
                                   const bufferization::AnalysisState &) {     \
    return isDpsInit(&operand);                                                \
  }                                                                            \
  bufferization::AliasingValueList OP::getAliasingValues(                      \
      OpOperand &operand, const bufferization::AnalysisState &) {              \
    if (!isDpsInit(&operand))                                                  \
      return {};                                                               \
    return {{getTiedOpResult(&operand),                                        \
             bufferization::BufferRelation::Equivalent}};                      \
  }                                                                            \
  LogicalResult OP::bufferize(RewriterBase &rewriter,                          \
                              const bufferization::BufferizationOptions &o,    \
                              bufferization::BufferizationState &state) {      \
    return bufferizeAttentionKernel(*this, rewriter, o, state);                \
  }
ATTENTION_KERNEL_INTERFACES(AttentionKernelOp)
ATTENTION_KERNEL_INTERFACES(AttentionGradKernelOp)
#undef ATTENTION_KERNEL_INTERFACES

#define GET_OP_CLASSES
#include "nl/Dialect/NL/IR/NLOps.cpp.inc"
