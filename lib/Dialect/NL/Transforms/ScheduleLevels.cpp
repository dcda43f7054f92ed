//===- ScheduleLevels.cpp - chunk sequences as loops ----------------------===//
//
// Two rewrites of the straight-line form that derive-inner-updates and
// reverse mode produce (one call per chunk, design/NESTED_LEARNING.md §9):
//
//  1. Chunk outputs assembled as sums of zero paddings,
//       y = pad(y0, 0) + pad(y1, C) + pad(y2, 2C) + ...,
//     become insertions into one zero tensor (the windows are disjoint, so
//     the sums are exact): one buffer instead of a full-size temporary and
//     a full-size add per chunk.
//  2. A chain of calls to the same chunk function, each taking the state
//     that the previous one returns, becomes an scf.for over the chunks that
//     carries the state: per-chunk inputs (slices at offsets i * C) are
//     sliced at a computed offset, accumulations become loop-carried, and
//     per-chunk results that later code reads (the chunk-start states the
//     backward pass needs) are stacked into one [n, ...] tensor.
//
// See the pass description in Passes.td.
//
//===----------------------------------------------------------------------===//

#include "nl/Dialect/NL/IR/NLDialect.h"
#include "nl/Dialect/NL/Transforms/Passes.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/Dominance.h"
#include "mlir/IR/Matchers.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

#include <optional>

namespace mlir::nl {
#define GEN_PASS_DEF_SCHEDULELEVELS
#include "nl/Dialect/NL/Transforms/Passes.h.inc"
} // namespace mlir::nl

using namespace mlir;
using namespace mlir::nl;

namespace {

//===----------------------------------------------------------------------===//
// 1. Sums of disjoint paddings -> insertions
//===----------------------------------------------------------------------===//

/// A value that is zero outside some windows along one dim: an nl.pad, or
/// a chain of tensor.insert_slice ops (each writing a full-extent window
/// along `dim`) on a zero broadcast.
struct Windows {
  int64_t dim = -1;
  /// (source, offset) per window, in insertion order.
  SmallVector<std::pair<Value, int64_t>> pieces;
  /// The chain's base (a zero tensor) and its top insert, when a chain.
  Value base;
};

bool isZeroTensor(Value v) {
  auto bc = v.getDefiningOp<BroadcastOp>();
  if (bc)
    v = bc.getInput();
  DenseElementsAttr splat;
  return matchPattern(v, m_Constant(&splat)) && splat.isSplat() &&
         splat.getSplatValue<APFloat>().isPosZero();
}

/// The window dim of an insert_slice that writes a full-extent block except
/// along one dim (-1 if every dim is full; nullopt if not such an insert).
std::optional<int64_t> insertDim(tensor::InsertSliceOp ins) {
  auto dest = ins.getDestType();
  if (!dest.hasStaticShape() || !ins.hasUnitStride() ||
      !ins.getOffsets().empty() || !ins.getSizes().empty() ||
      ins.getSourceType().getRank() != dest.getRank())
    return std::nullopt;
  int64_t dim = -1;
  for (int64_t d = 0; d < dest.getRank(); ++d) {
    if (ins.getStaticSizes()[d] == dest.getDimSize(d) &&
        ins.getStaticOffsets()[d] == 0)
      continue;
    if (dim != -1)
      return std::nullopt;
    dim = d;
  }
  return dim;
}

/// The windows of `v` when it is zero outside them (and used once, so that
/// its ops may be reused or erased).
std::optional<Windows> windowsOf(Value v) {
  if (!v.hasOneUse())
    return std::nullopt;
  Windows w;
  if (auto pad = v.getDefiningOp<PadOp>()) {
    w.dim = pad.getDim();
    w.pieces.push_back({pad.getInput(), (int64_t)pad.getOffset()});
    return w;
  }
  SmallVector<tensor::InsertSliceOp> chain;
  Value cur = v;
  while (auto ins = cur.getDefiningOp<tensor::InsertSliceOp>()) {
    if (cur != v && !cur.hasOneUse())
      return std::nullopt;
    std::optional<int64_t> d = insertDim(ins);
    if (!d || *d == -1 || (w.dim != -1 && *d != w.dim))
      return std::nullopt;
    w.dim = *d;
    chain.push_back(ins);
    cur = ins.getDest();
  }
  if (chain.empty() || !isZeroTensor(cur))
    return std::nullopt;
  w.base = cur;
  for (tensor::InsertSliceOp ins : llvm::reverse(chain))
    w.pieces.push_back({ins.getSource(), ins.getStaticOffsets()[w.dim]});
  return w;
}

bool disjoint(const Windows &a, const Windows &b) {
  if (a.dim != b.dim)
    return false;
  auto extent = [&](Value src) {
    return cast<RankedTensorType>(src.getType()).getDimSize(a.dim);
  };
  for (auto [sa, oa] : a.pieces)
    for (auto [sb, ob] : b.pieces)
      if (oa < ob + extent(sb) && ob < oa + extent(sa))
        return false;
  return true;
}

/// Inserts `pieces` along `dim` into `into` (a zero tensor or a chain).
Value insertPieces(PatternRewriter &rewriter, Location loc, Value into,
                   int64_t dim, ArrayRef<std::pair<Value, int64_t>> pieces) {
  auto type = cast<RankedTensorType>(into.getType());
  for (auto [src, off] : pieces) {
    auto srcType = cast<RankedTensorType>(src.getType());
    SmallVector<OpFoldResult> offsets(type.getRank(), rewriter.getIndexAttr(0));
    offsets[dim] = rewriter.getIndexAttr(off);
    SmallVector<OpFoldResult> sizes,
        strides(type.getRank(), rewriter.getIndexAttr(1));
    for (int64_t s : srcType.getShape())
      sizes.push_back(rewriter.getIndexAttr(s));
    into = tensor::InsertSliceOp::create(rewriter, loc, src, into, offsets,
                                         sizes, strides);
  }
  return into;
}

Value zeroTensor(PatternRewriter &rewriter, Location loc,
                 RankedTensorType type) {
  auto scalar = RankedTensorType::get({}, type.getElementType());
  Value zero = arith::ConstantOp::create(
      rewriter, loc, scalar,
      DenseElementsAttr::get(
          scalar, rewriter.getFloatAttr(type.getElementType(), 0.0)));
  return BroadcastOp::create(rewriter, loc, type, zero);
}

/// add(a, b) with a and b zero outside disjoint windows along one dim ->
/// b's pieces inserted into a's chain (a fresh zero tensor if a is a pad).
/// add(add(x, a), b) -> add(x, add(a, b)) for such a and b (exact: at every
/// element one of a, b is zero).
struct InsertDisjointPads : OpRewritePattern<AddOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(AddOp add,
                                PatternRewriter &rewriter) const override {
    auto type = dyn_cast<RankedTensorType>(add.getType());
    if (!type || !type.hasStaticShape() || add.getLhs().getType() != type ||
        add.getRhs().getType() != type)
      return failure();
    Value lhs = add.getLhs(), rhs = add.getRhs();
    if (succeeded(combine(add, lhs, rhs, rewriter)))
      return success();
    // Reassociate: (x + a) + b, a + (x + b), ... with a, b disjoint windows.
    for (auto [outer, innerVal] : {std::pair{rhs, lhs}, std::pair{lhs, rhs}}) {
      auto inner = innerVal.getDefiningOp<AddOp>();
      if (!inner || !innerVal.hasOneUse() || inner.getType() != type)
        continue;
      std::optional<Windows> b = windowsOf(outer);
      if (!b)
        continue;
      for (auto [x, a] : {std::pair{inner.getLhs(), inner.getRhs()},
                          std::pair{inner.getRhs(), inner.getLhs()}}) {
        std::optional<Windows> wa = windowsOf(a);
        if (!wa || windowsOf(x) || !disjoint(*wa, *b))
          continue;
        rewriter.setInsertionPoint(add);
        Value ab = AddOp::create(rewriter, add.getLoc(), type, a, outer);
        rewriter.replaceOpWithNewOp<AddOp>(add, type, x, ab);
        rewriter.eraseOp(inner);
        return success();
      }
    }
    return failure();
  }

  LogicalResult combine(AddOp add, Value lhs, Value rhs,
                        PatternRewriter &rewriter) const {
    std::optional<Windows> a = windowsOf(lhs), b = windowsOf(rhs);
    if (!a || !b || !disjoint(*a, *b))
      return failure();
    // Extend the chain of whichever side is one (its ops stay); b's pieces
    // come after a's, so the order of the sum's terms is kept.
    rewriter.setInsertionPoint(add);
    Value into;
    ArrayRef<std::pair<Value, int64_t>> rest = b->pieces;
    if (a->base) {
      into = lhs;
    } else {
      // The zero tensor and the first piece where the pad was, so that a
      // chain of chunks finds its accumulator defined before the chunks.
      rewriter.setInsertionPoint(lhs.getDefiningOp());
      into = zeroTensor(rewriter, add.getLoc(),
                        cast<RankedTensorType>(add.getType()));
      into = insertPieces(rewriter, add.getLoc(), into, a->dim, a->pieces);
      rewriter.setInsertionPoint(add);
    }
    Value result = insertPieces(rewriter, add.getLoc(), into, a->dim, rest);
    rewriter.replaceOp(add, result);
    return success();
  }
};

//===----------------------------------------------------------------------===//
// 2. Chains of chunk calls -> scf.for
//===----------------------------------------------------------------------===//

/// One value per iteration of a loop being built.
using Lanes = SmallVector<Value>;

/// Builds the body of the loop that replaces iterations [0, n) of a chain,
/// by matching the iterations' computations in lockstep. Every value that an
/// iteration reads is one of:
///  - invariant: the same value in every iteration (defined before the loop);
///  - current: result `r` of the iteration's own call (or accumulation);
///  - carried: the previous iteration's result `r` (iteration 0 reads an
///    initial value), which becomes an iter_arg;
///  - computed: produced by ops that are equal in every iteration up to
///    offsets in arithmetic progression (slices at i * C), cloned into the
///    body with the offset computed from the induction variable.
class LoopBuilder {
public:
  LoopBuilder(ArrayRef<func::CallOp> calls, Operation *anchor,
              DominanceInfo &dom)
      : calls(calls), anchor(anchor), dom(dom), b(anchor->getContext()) {
    body = new Block();
    iv = body->addArgument(b.getIndexType(), anchor->getLoc());
    b.setInsertionPointToEnd(body);
  }
  ~LoopBuilder() {
    if (body) {
      body->dropAllDefinedValueUses();
      for (Operation &op : llvm::make_early_inc_range(llvm::reverse(*body)))
        op.erase();
      delete body;
    }
  }

  /// A family of per-iteration values produced by the loop: the calls'
  /// results and the accumulations.
  struct Family {
    Lanes lanes;
    Value init;     // iteration 0's "previous" value, when carried
    Value bodyArg;  // its iter_arg, when carried
    Value bodyNext; // its value at the end of an iteration
  };

  /// Registers the results of the calls; clones the call into the body.
  LogicalResult buildCall(std::string &why) {
    size_t n = calls.size();
    for (unsigned r = 0; r < calls[0]->getNumResults(); ++r) {
      Family f;
      for (size_t i = 0; i < n; ++i)
        f.lanes.push_back(calls[i]->getResult(r));
      families.push_back(std::move(f));
    }
    SmallVector<Value> operands;
    for (unsigned k = 0; k < calls[0]->getNumOperands(); ++k) {
      Lanes vs;
      for (size_t i = 0; i < n; ++i)
        vs.push_back(calls[i]->getOperand(k));
      FailureOr<Value> v = materialize(vs, why);
      if (failed(v))
        return failure();
      operands.push_back(*v);
    }
    func::CallOp c0 = calls[0];
    auto call = func::CallOp::create(b, c0.getLoc(), c0.getCallee(),
                                     c0.getResultTypes(), operands);
    for (unsigned r = 0; r < call->getNumResults(); ++r)
      families[r].bodyNext = call->getResult(r);
    return success();
  }

  /// Tries to make an accumulation (lanes[i] updates lanes[i-1]) part of the
  /// loop; leaves the builder as it was on failure.
  bool tryAccumulation(const Lanes &lanes) {
    size_t mark = body->getOperations().size();
    auto savedMemo = memo;
    size_t savedFamilies = families.size();
    unsigned savedArgs = body->getNumArguments();
    SmallVector<Value> savedInits;
    for (Family &f : families)
      savedInits.push_back(f.init);
    families.push_back(Family{lanes, {}, {}, {}});
    // Its bodyNext is unset until it is built, so its own lanes match only
    // the carried rule (the previous iteration's accumulation).
    std::string why;
    FailureOr<Value> v = materializeOp(lanes, why);
    if (succeeded(v) && families.back().init) {
      families.back().bodyNext = *v;
      return true;
    }
    while (body->getOperations().size() > mark) {
      Operation &op = body->back();
      op.dropAllUses();
      op.erase();
    }
    memo = std::move(savedMemo);
    families.resize(savedFamilies);
    while (body->getNumArguments() > savedArgs)
      body->eraseArgument(body->getNumArguments() - 1);
    for (auto [f, init] : llvm::zip(families, savedInits))
      if (!init)
        f.init = Value(), f.bodyArg = Value();
    return false;
  }

  /// Appends `[n, ...]` stacks of the call results whose lanes are read
  /// outside the loop (other than the carried last lane).
  void stack(unsigned r) { stacked.push_back(r); }

  SmallVector<Family> families;
  SmallVector<unsigned> stacked;

  /// Creates the scf.for before `anchor` and returns it; the builder's
  /// families then map to the loop's results (`resultOf`).
  scf::ForOp finish() {
    OpBuilder ob(anchor);
    Location loc = anchor->getLoc();
    size_t n = calls.size();
    // Stacks: tensor.empty [n, ...] carried, one insert per iteration.
    SmallVector<Value> stackInits;
    for (unsigned r : stacked) {
      auto t = cast<RankedTensorType>(families[r].lanes[0].getType());
      SmallVector<int64_t> shape{(int64_t)n};
      llvm::append_range(shape, t.getShape());
      stackInits.push_back(
          tensor::EmptyOp::create(ob, loc, shape, t.getElementType()));
    }
    SmallVector<Value> inits;
    SmallVector<unsigned> carried;
    for (auto [i, f] : llvm::enumerate(families))
      if (f.init) {
        inits.push_back(f.init);
        carried.push_back(i);
      }
    llvm::append_range(inits, stackInits);
    Value lb = arith::ConstantIndexOp::create(ob, loc, 0);
    Value ub = arith::ConstantIndexOp::create(ob, loc, n);
    Value one = arith::ConstantIndexOp::create(ob, loc, 1);
    auto loop = scf::ForOp::create(ob, loc, lb, ub, one, inits);
    Block *loopBody = loop.getBody();
    if (!loopBody->empty() &&
        loopBody->back().hasTrait<OpTrait::IsTerminator>())
      loopBody->back().erase();
    // Stack inserts, at the end of the iteration.
    b.setInsertionPointToEnd(body);
    SmallVector<Value> yields;
    for (unsigned r : carried)
      yields.push_back(families[r].bodyNext);
    SmallVector<Value> stackArgs;
    for (size_t s = 0; s < stacked.size(); ++s) {
      Value arg = body->addArgument(stackInits[s].getType(), loc);
      stackArgs.push_back(arg);
      Value src = families[stacked[s]].bodyNext;
      auto t = cast<RankedTensorType>(src.getType());
      SmallVector<OpFoldResult> offsets(t.getRank() + 1, b.getIndexAttr(0));
      offsets[0] = iv;
      SmallVector<OpFoldResult> sizes{b.getIndexAttr(1)};
      for (int64_t d : t.getShape())
        sizes.push_back(b.getIndexAttr(d));
      SmallVector<OpFoldResult> strides(t.getRank() + 1, b.getIndexAttr(1));
      yields.push_back(tensor::InsertSliceOp::create(b, loc, src, arg, offsets,
                                                     sizes, strides));
    }
    scf::YieldOp::create(b, loc, yields);
    // Move the body in: the induction variable, carried families, stacks.
    iv.replaceAllUsesWith(loop.getInductionVar());
    for (auto [idx, r] : llvm::enumerate(carried))
      families[r].bodyArg.replaceAllUsesWith(loop.getRegionIterArg(idx));
    for (auto [s, arg] : llvm::enumerate(stackArgs))
      arg.replaceAllUsesWith(loop.getRegionIterArg(carried.size() + s));
    loopBody->getOperations().splice(loopBody->end(), body->getOperations());
    delete body;
    body = nullptr;
    for (auto [idx, r] : llvm::enumerate(carried))
      carriedResult[r] = loop.getResult(idx);
    for (auto [s, r] : llvm::enumerate(stacked))
      stackResult[r] = loop.getResult(carried.size() + s);
    return loop;
  }

  DenseMap<unsigned, Value> carriedResult, stackResult;

private:
  ArrayRef<func::CallOp> calls;
  Operation *anchor;
  DominanceInfo &dom;
  OpBuilder b;
  Block *body;
  Value iv;
  /// Ops already cloned: lane-0 op -> (all lanes, the clone).
  DenseMap<Operation *, std::pair<SmallVector<Operation *>, Operation *>> memo;

  bool definedBeforeLoop(Value v) { return dom.properlyDominates(v, anchor); }

  FailureOr<Value> materialize(const Lanes &vs, std::string &why) {
    size_t n = vs.size();
    if (llvm::all_equal(vs)) {
      if (auto call = vs[0].getDefiningOp<func::CallOp>();
          call && llvm::is_contained(calls, call)) {
        why = "every chunk reads one chunk's result";
        return failure();
      }
      if (!definedBeforeLoop(vs[0])) {
        why = "a value read by every chunk is defined after the first";
        return failure();
      }
      return vs[0];
    }
    for (Family &f : families) {
      // Current: this iteration's own result.
      if (f.bodyNext && vs == f.lanes)
        return f.bodyNext;
      // Carried: the previous iteration's result.
      bool shifted = true;
      for (size_t i = 1; i < n && shifted; ++i)
        shifted = vs[i] == f.lanes[i - 1];
      if (!shifted)
        continue;
      if (f.init && f.init != vs[0]) {
        why = "a carried value starts from two different values";
        return failure();
      }
      if (!definedBeforeLoop(vs[0])) {
        why = "a carried value starts from a value defined after the loop";
        return failure();
      }
      if (!f.init) {
        f.init = vs[0];
        f.bodyArg = body->addArgument(vs[0].getType(), anchor->getLoc());
      }
      return f.bodyArg;
    }
    return materializeOp(vs, why);
  }

  /// The offset of each lane's op at attribute position `k` (slice, pad and
  /// insert/extract offsets): lane i has off0 + i * step.
  static std::optional<int64_t> progression(ArrayRef<int64_t> offs) {
    int64_t step = offs.size() > 1 ? offs[1] - offs[0] : 0;
    for (size_t i = 0; i < offs.size(); ++i)
      if (offs[i] != offs[0] + (int64_t)i * step)
        return std::nullopt;
    return step;
  }

  Value offsetValue(int64_t off0, int64_t step) {
    Location loc = anchor->getLoc();
    Value base = arith::ConstantIndexOp::create(b, loc, off0);
    if (step == 0)
      return base;
    Value s = arith::ConstantIndexOp::create(b, loc, step);
    Value scaled = arith::MulIOp::create(b, loc, iv, s);
    return arith::AddIOp::create(b, loc, base, scaled);
  }

  FailureOr<Value> materializeOp(const Lanes &vs, std::string &why) {
    size_t n = vs.size();
    SmallVector<Operation *> ops;
    unsigned resultNo = 0;
    for (Value v : vs) {
      auto res = dyn_cast<OpResult>(v);
      Operation *op = res ? res.getOwner() : nullptr;
      if (!op || (!ops.empty() && (op->getName() != ops[0]->getName() ||
                                   res.getResultNumber() != resultNo))) {
        why = "the chunks read values computed differently";
        return failure();
      }
      resultNo = res.getResultNumber();
      ops.push_back(op);
    }
    Operation *op0 = ops[0];
    auto it = memo.find(op0);
    if (it != memo.end()) {
      if (it->second.first != ops) {
        why = "the chunks share a computation in different ways";
        return failure();
      }
      return it->second.second->getResult(resultNo);
    }
    if (op0->getNumRegions() != 0 || !isMemoryEffectFree(op0)) {
      why = "a chunk's input comes from '" +
            op0->getName().getStringRef().str() + "', which is not pure";
      return failure();
    }
    // Same op in every lane up to progressive offsets.
    std::optional<int64_t> sliceStep;
    SmallVector<std::optional<int64_t>> offsetSteps;
    for (size_t i = 1; i < n; ++i)
      if (ops[i]->getNumOperands() != op0->getNumOperands() ||
          ops[i]->getResultTypes() != op0->getResultTypes()) {
        why = "the chunks read values of different shapes";
        return failure();
      }
    auto staticOffsets = [](Operation *op) -> ArrayRef<int64_t> {
      if (auto e = dyn_cast<tensor::ExtractSliceOp>(op))
        return e.getStaticOffsets();
      return cast<tensor::InsertSliceOp>(op).getStaticOffsets();
    };
    bool isSlice = isa<SliceOp>(op0);
    bool isTensorSlice =
        isa<tensor::ExtractSliceOp, tensor::InsertSliceOp>(op0);
    if (isSlice) {
      SmallVector<int64_t> offs;
      for (Operation *op : ops)
        offs.push_back(cast<SliceOp>(op).getOffset());
      sliceStep = progression(offs);
      if (!sliceStep) {
        why = "chunk slices are not at evenly spaced offsets";
        return failure();
      }
    } else if (isTensorSlice) {
      for (Operation *op : ops)
        if (!op->getAttrOfType<DenseI64ArrayAttr>("static_sizes") ||
            llvm::any_of(staticOffsets(op), ShapedType::isDynamic) ||
            op->getNumOperands() != op0->getNumOperands() ||
            op->getAttr("static_sizes") != op0->getAttr("static_sizes") ||
            op->getAttr("static_strides") != op0->getAttr("static_strides")) {
          why = "chunk slices differ in size";
          return failure();
        }
      if (op0->getNumOperands() != (isa<tensor::InsertSliceOp>(op0) ? 2 : 1)) {
        why = "a slice has dynamic offsets";
        return failure();
      }
      for (size_t d = 0; d < staticOffsets(op0).size(); ++d) {
        SmallVector<int64_t> offs;
        for (Operation *op : ops)
          offs.push_back(staticOffsets(op)[d]);
        offsetSteps.push_back(progression(offs));
        if (!offsetSteps.back()) {
          why = "chunk slices are not at evenly spaced offsets";
          return failure();
        }
      }
    } else {
      for (size_t i = 1; i < n; ++i)
        if (ops[i]->getAttrDictionary() != op0->getAttrDictionary()) {
          why = "the chunks read values computed with different attributes";
          return failure();
        }
    }
    // Operands, lane by lane.
    SmallVector<Value> operands;
    for (unsigned k = 0; k < op0->getNumOperands(); ++k) {
      Lanes lanes;
      for (Operation *op : ops)
        lanes.push_back(op->getOperand(k));
      FailureOr<Value> v = materialize(lanes, why);
      if (failed(v))
        return failure();
      operands.push_back(*v);
    }
    Operation *clone;
    Location loc = op0->getLoc();
    if (isSlice) {
      auto s = cast<SliceOp>(op0);
      auto inType = cast<RankedTensorType>(s.getInput().getType());
      SmallVector<OpFoldResult> offsets(inType.getRank(), b.getIndexAttr(0));
      offsets[s.getDim()] = offsetValue(s.getOffset(), *sliceStep);
      SmallVector<OpFoldResult> sizes,
          strides(inType.getRank(), b.getIndexAttr(1));
      for (int64_t d : s.getType().getShape())
        sizes.push_back(b.getIndexAttr(d));
      clone = tensor::ExtractSliceOp::create(b, loc, s.getType(), operands[0],
                                             offsets, sizes, strides);
    } else if (isTensorSlice) {
      SmallVector<OpFoldResult> offsets;
      for (auto [d, step] : llvm::enumerate(offsetSteps)) {
        int64_t off0 = staticOffsets(op0)[d];
        if (*step == 0)
          offsets.push_back(b.getIndexAttr(off0));
        else
          offsets.push_back(offsetValue(off0, *step));
      }
      auto toOFR = [&](ArrayRef<int64_t> xs) {
        SmallVector<OpFoldResult> r;
        for (int64_t x : xs)
          r.push_back(b.getIndexAttr(x));
        return r;
      };
      if (auto e = dyn_cast<tensor::ExtractSliceOp>(op0))
        clone = tensor::ExtractSliceOp::create(
            b, loc, e.getType(), operands[0], offsets,
            toOFR(e.getStaticSizes()), toOFR(e.getStaticStrides()));
      else {
        auto ins = cast<tensor::InsertSliceOp>(op0);
        clone = tensor::InsertSliceOp::create(
            b, loc, operands[0], operands[1], offsets,
            toOFR(ins.getStaticSizes()), toOFR(ins.getStaticStrides()));
      }
    } else {
      IRMapping map;
      for (auto [k, v] : llvm::enumerate(operands))
        map.map(op0->getOperand(k), v);
      clone = b.clone(*op0, map);
    }
    memo[op0] = {ops, clone};
    return clone->getResult(resultNo);
  }
};

} // namespace

namespace {

/// Chains of calls to one function where each call reads a result of the
/// previous one, in block order.
SmallVector<SmallVector<func::CallOp>> findChains(Block &block) {
  SmallVector<SmallVector<func::CallOp>> chains;
  DenseMap<Operation *, size_t> chainOfLast;
  for (Operation &op : block) {
    auto call = dyn_cast<func::CallOp>(&op);
    if (!call)
      continue;
    std::optional<size_t> found;
    for (Value v : call->getOperands()) {
      auto prev = v.getDefiningOp<func::CallOp>();
      if (!prev || prev.getCallee() != call.getCallee())
        continue;
      auto it = chainOfLast.find(prev);
      if (it != chainOfLast.end()) {
        found = it->second;
        break;
      }
    }
    if (found) {
      chainOfLast.erase(chains[*found].back());
      chains[*found].push_back(call);
      chainOfLast[call] = *found;
    } else {
      chains.push_back({call});
      chainOfLast[call] = chains.size() - 1;
    }
  }
  return chains;
}

/// Accumulations that lanes of `calls` feed: chains v_0 .. v_m of
/// insert_slice (into v_{j-1}) or nl.add (of v_{j-1}), each v_j for j < m
/// used once. Returned as the lanes of every n-long window of each chain
/// that some call result reaches.
SmallVector<SmallVector<Lanes>> accumulationsOf(ArrayRef<func::CallOp> calls) {
  SetVector<Operation *> tops;
  auto accOperand = [](Operation *op) -> SmallVector<Value> {
    if (auto ins = dyn_cast<tensor::InsertSliceOp>(op))
      return {ins.getDest()};
    if (auto add = dyn_cast<AddOp>(op))
      return {add.getLhs(), add.getRhs()};
    return {};
  };
  auto previous = [&](Operation *op) -> Operation * {
    for (Value v : accOperand(op)) {
      Operation *p = v.getDefiningOp();
      if (p && v.hasOneUse() && p->getName() == op->getName() &&
          p->getResultTypes() == op->getResultTypes())
        return p;
    }
    return nullptr;
  };
  // Users reachable from the call results through a few pure ops.
  for (func::CallOp call : calls) {
    SmallVector<std::pair<Operation *, int>> work;
    for (Value r : call->getResults())
      for (Operation *u : r.getUsers())
        work.push_back({u, 0});
    while (!work.empty()) {
      auto [u, depth] = work.pop_back_val();
      if (u->getBlock() != call->getBlock() || depth > 4)
        continue;
      if (!accOperand(u).empty()) {
        // The top of its chain.
        Operation *top = u;
        while (top->getNumResults() == 1 && top->getResult(0).hasOneUse()) {
          Operation *next = *top->getResult(0).getUsers().begin();
          if (next->getName() != top->getName() || previous(next) != top)
            break;
          top = next;
        }
        tops.insert(top);
        continue;
      }
      if (u->getNumRegions() == 0 && isMemoryEffectFree(u))
        for (Value r : u->getResults())
          for (Operation *uu : r.getUsers())
            work.push_back({uu, depth + 1});
    }
  }
  SmallVector<SmallVector<Lanes>> result;
  size_t n = calls.size();
  for (Operation *top : tops) {
    SmallVector<Value> chain;
    for (Operation *op = top; op; op = previous(op))
      chain.push_back(op->getResult(0));
    std::reverse(chain.begin(), chain.end());
    SmallVector<Lanes> windows;
    for (size_t a = 0; a + n <= chain.size(); ++a)
      windows.push_back(Lanes(chain.begin() + a, chain.begin() + a + n));
    result.push_back(std::move(windows));
  }
  return result;
}

struct ScheduleLevelsPass
    : public mlir::nl::impl::ScheduleLevelsBase<ScheduleLevelsPass> {
  using ScheduleLevelsBase::ScheduleLevelsBase;

  void runOnOperation() override {
    ModuleOp module = getOperation();
    RewritePatternSet patterns(&getContext());
    patterns.add<InsertDisjointPads>(&getContext());
    if (failed(applyPatternsGreedily(module, std::move(patterns))))
      return signalPassFailure();
    if (!rollChunks)
      return;
    SmallVector<func::FuncOp> funcs;
    module.walk([&](func::FuncOp f) { funcs.push_back(f); });
    for (func::FuncOp f : funcs) {
      if (f.isExternal())
        continue;
      DenseSet<Operation *> tried;
      while (true) {
        bool changed = false;
        for (SmallVector<func::CallOp> &chain : findChains(f.front())) {
          if (chain.size() < 2 || tried.contains(chain[0]))
            continue;
          tried.insert(chain[0]);
          if (rollSomeOf(chain)) {
            changed = true;
            break;
          }
        }
        if (!changed)
          break;
      }
    }
  }

  /// Rolls the whole chain, or the longest run of it that matches (the
  /// first and last chunks are often special: a zero initial adjoint, an
  /// initial state that no earlier chunk returns).
  bool rollSomeOf(ArrayRef<func::CallOp> chain) {
    std::string why;
    size_t n = chain.size();
    for (size_t drop = 0; drop + 2 <= n; ++drop)
      for (size_t front = 0; front <= drop; ++front) {
        ArrayRef<func::CallOp> run = chain.slice(front, n - drop);
        if (succeeded(roll(run, why)))
          return true;
        if (drop >= 2)
          break;
      }
    if (remarks)
      chain[0]->emitRemark("chunks of '")
          << func::CallOp(chain[0]).getCallee() << "' left unrolled: " << why;
    return false;
  }

  LogicalResult roll(ArrayRef<func::CallOp> calls, std::string &why) {
    size_t n = calls.size();
    Operation *anchor = calls.back();
    DominanceInfo dom(calls[0]->getParentOp());
    LoopBuilder lb(calls, anchor, dom);
    if (failed(lb.buildCall(why)))
      return failure();
    // Accumulations fed by the calls, moved into the loop when they match.
    SmallVector<Lanes> accs;
    for (SmallVector<Lanes> &windows : accumulationsOf(calls))
      for (Lanes &lanes : windows)
        if (lb.tryAccumulation(lanes)) {
          accs.push_back(lanes);
          break;
        }
    // Ops that go away with the loop: the calls, the accumulations, and
    // whatever only they read.
    DenseSet<Operation *> gone;
    for (func::CallOp c : calls)
      gone.insert(c);
    for (Lanes &lanes : accs)
      for (Value v : lanes)
        gone.insert(v.getDefiningOp());
    Block *block = anchor->getBlock();
    DenseSet<Operation *> keep;
    for (auto &f : lb.families)
      if (f.init && f.init.getDefiningOp())
        keep.insert(f.init.getDefiningOp());
    for (Operation &op : llvm::reverse(*block)) {
      if (gone.contains(&op) || keep.contains(&op) || op.getNumRegions() != 0 ||
          !isMemoryEffectFree(&op) || op.use_empty())
        continue;
      if (llvm::all_of(op.getUsers(),
                       [&](Operation *u) { return gone.contains(u); }))
        gone.insert(&op);
    }
    // Results read elsewhere: the last lane of a carried family is the
    // loop's result; any other lane read later is stacked.
    size_t numCallResults = calls[0]->getNumResults();
    for (unsigned r = 0; r < numCallResults; ++r) {
      const auto &f = lb.families[r];
      bool needStack = false;
      for (size_t i = 0; i < n; ++i)
        for (Operation *u : f.lanes[i].getUsers()) {
          if (gone.contains(u))
            continue;
          if (i == n - 1 && f.init)
            continue;
          needStack = true;
        }
      if (needStack)
        lb.stack(r);
    }
    // Every reader of what the loop produces must come after it.
    auto readersAfter = [&](Value v) {
      return llvm::all_of(v.getUsers(), [&](Operation *u) {
        return gone.contains(u) || anchor->isBeforeInBlock(u) || u == anchor;
      });
    };
    for (auto [r, f] : llvm::enumerate(lb.families)) {
      if (r >= numCallResults && !readersAfter(f.lanes.back())) {
        why = "an accumulation is read before the last chunk";
        return failure();
      }
      if (r < numCallResults)
        for (Value v : f.lanes)
          if (!readersAfter(v)) {
            why = "a chunk's result is read before the last chunk";
            return failure();
          }
    }
    scf::ForOp loop = lb.finish();
    OpBuilder after(block, std::next(loop->getIterator()));
    // Replace what is read outside.
    for (unsigned r = 0; r < numCallResults; ++r) {
      auto &f = lb.families[r];
      for (size_t i = 0; i < n; ++i) {
        Value v = f.lanes[i];
        Value replacement;
        if (i == n - 1 && f.init)
          replacement = lb.carriedResult[r];
        else if (lb.stackResult.count(r)) {
          auto t = cast<RankedTensorType>(v.getType());
          SmallVector<OpFoldResult> offsets(t.getRank() + 1,
                                            after.getIndexAttr(0)),
              sizes{after.getIndexAttr(1)},
              strides(t.getRank() + 1, after.getIndexAttr(1));
          offsets[0] = after.getIndexAttr(i);
          for (int64_t d : t.getShape())
            sizes.push_back(after.getIndexAttr(d));
          if (llvm::any_of(v.getUsers(),
                           [&](Operation *u) { return !gone.contains(u); }))
            replacement = tensor::ExtractSliceOp::create(
                after, loop.getLoc(), t, lb.stackResult[r], offsets, sizes,
                strides);
        }
        if (replacement)
          v.replaceUsesWithIf(replacement, [&](OpOperand &use) {
            return !gone.contains(use.getOwner());
          });
      }
    }
    for (size_t a = 0; a < accs.size(); ++a)
      accs[a].back().replaceUsesWithIf(
          lb.carriedResult[numCallResults + a],
          [&](OpOperand &use) { return !gone.contains(use.getOwner()); });
    // Erase the straight-line chunks, last op first.
    for (Operation &op : llvm::make_early_inc_range(llvm::reverse(*block)))
      if (gone.contains(&op)) {
        if (!op.use_empty()) {
          why = "internal: a rolled op is still read";
          op.emitError("schedule-levels: ") << why;
          signalPassFailure();
          return success();
        }
        op.erase();
      }
    ++numLoops;
    numChunksRolled += n;
    return success();
  }
};

} // namespace
