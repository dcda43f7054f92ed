//===- CountFlops.cpp - the nl-count-flops pass ---------------------------===//
//
// Counts the floating-point operations of one call of each public function
// of linalg IR: what a step of a model costs, so that a measured time gives
// GFLOP/s (bench/peers.py) and two models, or two variants of one model,
// can be compared by their arithmetic (`nlc --emit=flops`).
//
//===----------------------------------------------------------------------===//

#include "nl/Dialect/NL/IR/NLDialect.h"
#include "nl/Dialect/NL/Transforms/Manifest.h"
#include "nl/Dialect/NL/Transforms/Passes.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Interfaces/CastInterfaces.h"
#include "llvm/Support/JSON.h"
#include "llvm/Support/raw_ostream.h"

namespace mlir::nl {
#define GEN_PASS_DEF_NLCOUNTFLOPS
#include "nl/Dialect/NL/Transforms/Passes.h.inc"
} // namespace mlir::nl

using namespace mlir;
using namespace mlir::nl;

namespace {

/// Operations of one call, by kind; `lowerBound` when a loop, a shape or a
/// callee could not be counted (warned at its location).
struct Flops {
  uint64_t contractions = 0, attention = 0, elementwise = 0;
  bool lowerBound = false;

  uint64_t total() const { return contractions + attention + elementwise; }
  void add(const Flops &o, uint64_t times) {
    contractions += o.contractions * times;
    attention += o.attention * times;
    elementwise += o.elementwise * times;
    lowerBound |= o.lowerBound;
  }
};

/// A float arithmetic op of a linalg body: arith or math, a float result,
/// not a constant, select or cast.
bool isFloatArithmetic(Operation &op) {
  Dialect *dialect = op.getDialect();
  if (!dialect ||
      (dialect->getNamespace() != "arith" && dialect->getNamespace() != "math"))
    return false;
  if (op.getNumResults() != 1 ||
      !isa<FloatType>(getElementTypeOrSelf(op.getResult(0).getType())))
    return false;
  return !isa<arith::ConstantOp, arith::SelectOp, CastOpInterface>(op);
}

/// The size of dimension `i` of a shaped value's type, or nullopt.
std::optional<uint64_t> dimOf(Value v, unsigned i) {
  auto t = dyn_cast<ShapedType>(v.getType());
  if (!t || !t.hasRank() || t.getRank() <= i || t.isDynamicDim(i))
    return std::nullopt;
  return t.getDimSize(i);
}

/// The trip count of a loop with static bounds and step, or nullopt.
std::optional<uint64_t> tripCount(OpFoldResult lb, OpFoldResult ub,
                                  OpFoldResult step) {
  std::optional<int64_t> l = getConstantIntValue(lb),
                         u = getConstantIntValue(ub),
                         s = getConstantIntValue(step);
  if (!l || !u || !s || *s <= 0)
    return std::nullopt;
  return *u > *l ? static_cast<uint64_t>((*u - *l + *s - 1) / *s) : 0;
}

/// The product of the trip counts of a multi-dimensional loop, or nullopt.
std::optional<uint64_t> tripCount(ArrayRef<OpFoldResult> lbs,
                                  ArrayRef<OpFoldResult> ubs,
                                  ArrayRef<OpFoldResult> steps) {
  uint64_t trips = 1;
  for (auto [lb, ub, step] : llvm::zip(lbs, ubs, steps)) {
    std::optional<uint64_t> n = tripCount(lb, ub, step);
    if (!n)
      return std::nullopt;
    trips *= *n;
  }
  return trips;
}

/// Counts functions, each once; warns at what it cannot count when `warn`.
class FlopCounter {
public:
  explicit FlopCounter(bool warn) : warn(warn) {}

  Flops countFunction(func::FuncOp fn) {
    if (auto it = perFunction.find(fn); it != perFunction.end())
      return it->second;
    Flops f;
    if (!inProgress.insert(fn).second) {
      warning(fn) << "nl-count-flops: @" << fn.getSymName()
                  << " calls itself: its operations are not counted";
      f.lowerBound = true;
      return f;
    }
    f = countRegion(fn.getBody());
    inProgress.erase(fn);
    perFunction[fn] = f;
    return f;
  }

private:
  bool warn;
  DenseMap<Operation *, Flops> perFunction;
  DenseSet<Operation *> inProgress;

  /// A warning at `op`, or a diagnostic that is dropped.
  InFlightDiagnostic warning(Operation *op) {
    InFlightDiagnostic d = op->emitWarning();
    if (!warn)
      d.abandon();
    return d;
  }

  Flops countRegion(Region &region) {
    Flops f;
    for (Block &block : region)
      for (Operation &op : block)
        f.add(countOp(op), 1);
    return f;
  }

  /// Each float op of the body counts once per point of the loops it
  /// depends on (through the block arguments' indexing maps and
  /// linalg.index), not of the whole iteration space: a producer that
  /// linalg-fuse-elementwise-ops moved into a product (a normalization in
  /// front of a projection) counts at its own size. The multiplies of two
  /// different operands over the whole space, and the adds that reduce
  /// them, are the contraction's.
  Flops countLinalg(linalg::LinalgOp op) {
    Flops f;
    SmallVector<int64_t> ranges = op.getStaticLoopRanges();
    if (ranges.size() > 64 || llvm::any_of(ranges, ShapedType::isDynamic)) {
      warning(op) << "nl-count-flops: a dynamic iteration space: "
                     "not counted";
      f.lowerBound = true;
      return f;
    }
    uint64_t all = ranges.size() == 64 ? ~0ull : (1ull << ranges.size()) - 1;
    auto pointsOf = [&](uint64_t dims) {
      uint64_t n = 1;
      for (auto [d, range] : llvm::enumerate(ranges))
        if (dims >> d & 1)
          n *= static_cast<uint64_t>(range);
      return n;
    };
    // The loops each value of the body depends on, as a bit mask.
    DenseMap<Value, uint64_t> dims;
    Block *body = op.getBlock();
    for (OpOperand &operand : op->getOpOperands()) {
      AffineMap map = op.getMatchingIndexingMap(&operand);
      uint64_t mask = 0;
      for (unsigned d = 0; d < map.getNumDims(); ++d)
        if (map.isFunctionOfDim(d))
          mask |= 1ull << d;
      dims[op.getMatchingBlockArgument(&operand)] = mask;
    }
    bool reduces = op.getNumReductionLoops() > 0;
    DenseSet<Value> products;
    for (Operation &inner : body->without_terminator()) {
      uint64_t mask = 0;
      if (auto index = dyn_cast<linalg::IndexOp>(inner))
        mask = 1ull << index.getDim();
      for (Value v : inner.getOperands())
        mask |= dims.lookup(v);
      for (Value r : inner.getResults())
        dims[r] = mask;
      if (!isFloatArithmetic(inner))
        continue;
      uint64_t n = pointsOf(mask);
      // A multiply of two different values over the whole space, and the
      // add that accumulates it.
      bool whole = reduces && mask == all;
      bool product = whole && isa<arith::MulFOp, math::FmaOp>(inner) &&
                     inner.getOperand(0) != inner.getOperand(1);
      bool accumulate = whole && isa<arith::AddFOp>(inner) &&
                        llvm::any_of(inner.getOperands(), [&](Value v) {
                          return products.contains(v);
                        });
      if (product)
        products.insert(inner.getResult(0));
      if (product || accumulate)
        f.contractions += n;
      else
        f.elementwise += n;
    }
    return f;
  }

  /// torch.utils.flop_counter's scaled dot-product attention: the whole
  /// T x S scores, 2 B H T S per product's inner dimension. Forward: Q K^T
  /// (dk) and P V (dv); backward: the scores recomputed, dQ and dK (dk),
  /// dP and dV (dv).
  Flops countAttention(Operation *op, Value query, Value key, Value value,
                       bool backward) {
    Flops f;
    std::optional<uint64_t> b = dimOf(query, 0), h = dimOf(query, 1),
                            t = dimOf(query, 2), dk = dimOf(query, 3),
                            s = dimOf(key, 2), dv = dimOf(value, 3);
    if (!b || !h || !t || !dk || !s || !dv) {
      warning(op) << "nl-count-flops: attention with dynamic sizes: "
                     "not counted";
      f.lowerBound = true;
      return f;
    }
    uint64_t inner = backward ? 3 * *dk + 2 * *dv : *dk + *dv;
    f.attention = 2 * *b * *h * *t * *s * inner;
    return f;
  }

  Flops countOp(Operation &op) {
    if (auto l = dyn_cast<linalg::LinalgOp>(op))
      return countLinalg(l);
    if (auto a = dyn_cast<AttentionKernelOp>(op))
      return countAttention(&op, a.getQuery(), a.getKey(), a.getValue(),
                            /*backward=*/false);
    if (auto a = dyn_cast<AttentionGradKernelOp>(op))
      return countAttention(&op, a.getQuery(), a.getKey(), a.getValue(),
                            /*backward=*/true);
    Flops f;
    if (auto call = dyn_cast<func::CallOp>(op)) {
      auto callee = SymbolTable::lookupNearestSymbolFrom<func::FuncOp>(
          call, call.getCalleeAttr());
      if (callee && !callee.isExternal())
        return countFunction(callee);
      warning(call) << "nl-count-flops: @" << call.getCallee()
                    << " has no body here: not counted";
      f.lowerBound = true;
      return f;
    }
    if (auto ifOp = dyn_cast<scf::IfOp>(op)) {
      Flops thenF = countRegion(ifOp.getThenRegion());
      Flops elseF = countRegion(ifOp.getElseRegion());
      return thenF.total() >= elseF.total() ? thenF : elseF;
    }
    // A loop's body counts once per iteration; any other op's regions once.
    std::optional<uint64_t> loopTrips;
    bool loop = true;
    if (auto forOp = dyn_cast<scf::ForOp>(op))
      loopTrips = tripCount(forOp.getLowerBound(), forOp.getUpperBound(),
                            forOp.getStep());
    else if (auto forall = dyn_cast<scf::ForallOp>(op))
      loopTrips = tripCount(forall.getMixedLowerBound(),
                            forall.getMixedUpperBound(), forall.getMixedStep());
    else if (auto par = dyn_cast<scf::ParallelOp>(op))
      loopTrips = tripCount(getAsOpFoldResult(par.getLowerBound()),
                            getAsOpFoldResult(par.getUpperBound()),
                            getAsOpFoldResult(par.getStep()));
    else
      loop = isa<LoopLikeOpInterface>(op);
    uint64_t trips = loopTrips.value_or(1);
    if (loop && !loopTrips) {
      warning(&op) << "nl-count-flops: a loop without a static trip "
                      "count: its body is counted once";
      f.lowerBound = true;
    }
    for (Region &region : op.getRegions())
      f.add(countRegion(region), trips);
    return f;
  }
};

struct CountFlopsPass
    : public mlir::nl::impl::NLCountFlopsBase<CountFlopsPass> {
  using NLCountFlopsBase::NLCountFlopsBase;

  void runOnOperation() override {
    if (toManifest) {
      if (failed(recordFlopCounts(getOperation())))
        signalPassFailure();
      markAllAnalysesPreserved();
      return;
    }
    if (failed(printToPassOutput(
            getOperation(), getArgument(), output,
            [&](raw_ostream &os) { printFlopCounts(getOperation(), os); })))
      return signalPassFailure();
    markAllAnalysesPreserved();
  }
};

} // namespace

void mlir::nl::printFlopCounts(ModuleOp module, raw_ostream &os) {
  FlopCounter counter(/*warn=*/true);
  for (auto fn : module.getOps<func::FuncOp>()) {
    if (!fn.isPublic() || fn.isExternal())
      continue;
    Flops f = counter.countFunction(fn);
    os << "@" << fn.getSymName() << " contractions=" << f.contractions
       << " attention=" << f.attention << " elementwise=" << f.elementwise
       << " total=" << f.total();
    if (f.lowerBound)
      os << " (lower bound)";
    os << "\n";
  }
}

LogicalResult mlir::nl::recordFlopCounts(ModuleOp module) {
  if (!module->hasAttr("nl.manifest")) // IR written by hand
    return success();
  FlopCounter counter(/*warn=*/false);
  llvm::json::Object flops;
  for (auto fn : module.getOps<func::FuncOp>()) {
    if (!fn.isPublic() || fn.isExternal())
      continue;
    Flops f = counter.countFunction(fn);
    flops[fn.getSymName()] = llvm::json::Object{
        {"contractions", static_cast<int64_t>(f.contractions)},
        {"attention", static_cast<int64_t>(f.attention)},
        {"elementwise", static_cast<int64_t>(f.elementwise)},
        {"lower_bound", f.lowerBound}};
  }
  return updateManifest(module, [&](llvm::json::Object &manifest) {
    manifest["flops"] = std::move(flops);
  });
}
