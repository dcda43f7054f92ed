//===- Autodiff.cpp - reverse-mode automatic differentiation --------------===//

#include "nl/Dialect/NL/Transforms/Autodiff.h"
#include "nl/Dialect/NL/IR/NLDialect.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/AsmState.h"
#include "mlir/IR/IRMapping.h"
#include "llvm/ADT/BitVector.h"
#include "llvm/ADT/DenseSet.h"

using namespace mlir;
using namespace mlir::nl;

static Value zerosLike(OpBuilder &b, Location loc, Type type) {
  auto t = cast<RankedTensorType>(type);
  return arith::ConstantOp::create(
      b, loc, t,
      DenseElementsAttr::get(
          t, b.getFloatAttr(cast<FloatType>(t.getElementType()), 0.0)));
}

static FailureOr<SmallVector<Value>> reverseMode(OpBuilder &builder,
                                                 ArrayRef<Value> outputs,
                                                 ArrayRef<Value> seeds,
                                                 ValueRange wrt, Location loc);

std::string mlir::nl::checkpointBodyKey(CheckpointOp op) {
  std::string key;
  llvm::raw_string_ostream os(key);
  OpPrintingFlags flags;
  flags.printGenericOpForm().useLocalScope().skipRegions(false);
  for (Type t : op.getInputs().getTypes())
    os << t << ",";
  os << "->";
  for (Type t : op.getResultTypes())
    os << t << ",";
  // One numbering of the body's values for all its ops: Operation::print
  // with flags alone would number the whole checkpoint again for each op
  // (quadratic in the body's size: 11 s of Hope's compile).
  AsmState state(op, flags);
  for (Operation &inner : op.getBody().front())
    inner.print(os, state);
  return key;
}

/// The VJP of nl.checkpoint is itself an nl.checkpoint: a backward region
/// whose operands are the primal operands and the non-zero cotangents, whose
/// body recomputes the forward body and differentiates the recomputation, and
/// whose results are the cotangents of the operands at `positions`, one per
/// position (an operand passed twice gets two, which the caller adds up).
/// Which positions and which operands alias do not otherwise shape the
/// region: checkpoints with equal bodies given equal positions get equal
/// backward regions. Being isolated, the region can be outlined
/// (nl-outline-checkpoints) and shared by every chunk of the same shape, and
/// differentiated again (grad of grad).
static LogicalResult checkpointVJP(OpBuilder &builder, CheckpointOp op,
                                   ArrayRef<Value> dys,
                                   ArrayRef<unsigned> positions,
                                   SmallVectorImpl<Value> &wrt,
                                   SmallVectorImpl<Value> &dxs) {
  wrt.clear();
  for (unsigned i : positions)
    wrt.push_back(op.getInputs()[i]);

  SmallVector<Value> inputs(op.getInputs().begin(), op.getInputs().end());
  for (Value dy : dys)
    if (dy)
      inputs.push_back(dy);
  SmallVector<Type> resultTypes;
  for (Value w : wrt)
    resultTypes.push_back(w.getType());
  auto backward =
      CheckpointOp::create(builder, op.getLoc(), resultTypes, inputs);
  Block *block = new Block();
  backward.getBody().push_back(block);
  SmallVector<Location> locs(inputs.size(), op.getLoc());
  block->addArguments(ValueRange(inputs).getTypes(), locs);

  OpBuilder::InsertionGuard guard(builder);
  builder.setInsertionPointToStart(block);
  IRMapping map;
  Block &body = op.getBody().front();
  map.map(body.getArguments(),
          block->getArguments().take_front(body.getNumArguments()));
  for (Operation &inner : body.without_terminator())
    builder.clone(inner, map);
  SmallVector<Value> outs, seeds;
  unsigned nextSeed = op.getInputs().size();
  for (auto [y, dy] :
       llvm::zip(cast<YieldOp>(body.getTerminator()).getValues(), dys)) {
    if (!dy)
      continue;
    outs.push_back(map.lookupOrDefault(y));
    seeds.push_back(block->getArgument(nextSeed++));
  }
  SmallVector<Value> innerWrt;
  for (unsigned i : positions)
    innerWrt.push_back(block->getArgument(i));
  FailureOr<SmallVector<Value>> g =
      reverseMode(builder, outs, seeds, innerWrt, op.getLoc());
  if (failed(g))
    return failure();
  YieldOp::create(builder, op.getLoc(), *g);
  dxs.assign(backward.getResults().begin(), backward.getResults().end());
  return success();
}

/// For each checkpoint of `ops`, the operand positions its VJP
/// differentiates: those whose operand is varied in it or in any checkpoint
/// of `ops` with the same body. The chunks of one memory update are such
/// checkpoints, and they differ in what they are given: the first chunk's
/// momentum, say, starts from a constant, the later chunks' from the
/// previous chunk. With the union of their positions every chunk gets the
/// same backward region, and nl-outline-checkpoints one kernel for all of
/// them; the extra cotangents (of the constant) are not used. Bodies are
/// told apart by a hash of their generic form: a collision merges two
/// groups, which only adds positions.
static llvm::DenseMap<Operation *, SmallVector<unsigned>>
checkpointPositions(llvm::iterator_range<Block::iterator> ops,
                    const llvm::DenseSet<Value> &varied) {
  llvm::DenseMap<Operation *, SmallVector<unsigned>> positions;
  SmallVector<std::pair<CheckpointOp, llvm::hash_code>> checkpoints;
  llvm::DenseMap<llvm::hash_code, llvm::BitVector> unionOf;
  for (Operation &op : ops) {
    auto cp = dyn_cast<CheckpointOp>(op);
    if (!cp)
      continue;
    llvm::hash_code hash = llvm::hash_value(checkpointBodyKey(cp));
    llvm::BitVector &bits = unionOf[hash];
    bits.resize(cp.getInputs().size());
    for (auto [i, in] : llvm::enumerate(cp.getInputs()))
      if (varied.contains(in))
        bits.set(i);
    checkpoints.push_back({cp, hash});
  }
  for (auto [cp, hash] : checkpoints) {
    SmallVector<unsigned> &list = positions[cp];
    for (unsigned i : unionOf[hash].set_bits())
      list.push_back(i);
  }
  return positions;
}

static FailureOr<SmallVector<Value>> reverseMode(OpBuilder &builder,
                                                 ArrayRef<Value> outputs,
                                                 ArrayRef<Value> seeds,
                                                 ValueRange wrt, Location loc) {
  // The latest op defining an output; the walk starts there.
  Operation *last = nullptr;
  Block *block = builder.getInsertionBlock();
  for (Value o : outputs)
    if (Operation *d = o.getDefiningOp())
      if (!last || last->isBeforeInBlock(d))
        last = d;

  // Forward: the values that depend on `wrt` (varied).
  llvm::DenseSet<Value> varied(wrt.begin(), wrt.end());
  if (last)
    for (Operation &op : *last->getBlock()) {
      bool dependent = llvm::any_of(
          op.getOperands(), [&](Value v) { return varied.contains(v); });
      if (!dependent && op.getNumRegions() != 0)
        op.walk([&](Operation *inner) {
          for (Value v : inner->getOperands())
            dependent |= varied.contains(v);
        });
      if (dependent)
        varied.insert(op.getResults().begin(), op.getResults().end());
      if (&op == last)
        break;
    }
  (void)block;
  llvm::DenseMap<Operation *, SmallVector<unsigned>> positions;
  if (last)
    positions =
        checkpointPositions(llvm::make_range(last->getBlock()->begin(),
                                             std::next(Block::iterator(last))),
                            varied);

  llvm::DenseMap<Value, Value> cot;
  auto accumulate = [&](Value target, Value c,
                        Operation *from) -> LogicalResult {
    if (c.getType() != target.getType())
      return from->emitOpError()
             << "VJP returned a cotangent of type " << c.getType()
             << " for an operand of type " << target.getType();
    Value &slot = cot[target];
    slot =
        slot ? AddOp::create(builder, from->getLoc(), target.getType(), slot, c)
                   .getResult()
             : c;
    return success();
  };
  for (auto [o, seed] : llvm::zip(outputs, seeds))
    if (varied.contains(o)) {
      Value &slot = cot[o];
      slot =
          slot
              ? AddOp::create(builder, loc, o.getType(), slot, seed).getResult()
              : seed;
    }

  for (Operation *op = last; op; op = op->getPrevNode()) {
    SmallVector<Value> dys;
    bool any = false;
    for (Value r : op->getResults()) {
      auto it = cot.find(r);
      dys.push_back(it == cot.end() ? Value() : it->second);
      any |= it != cot.end();
    }
    if (!any)
      continue;
    SmallVector<Value> dxs, targets;
    if (auto cp = dyn_cast<CheckpointOp>(op)) {
      if (failed(checkpointVJP(builder, cp, dys, positions.lookup(cp), targets,
                               dxs)))
        return failure();
    } else {
      if (op->getNumRegions() != 0)
        return op->emitOpError()
               << "cannot be differentiated: ops with regions on the path "
                  "from the parameters to the output are not supported";
      auto diff = dyn_cast<DifferentiableOpInterface>(op);
      if (!diff)
        return op->emitOpError()
               << "is on the path from the parameters to the output but has "
                  "no VJP (DifferentiableOpInterface)";
      if (failed(diff.buildVJP(builder, dys, dxs)))
        return failure();
      if (dxs.size() > op->getNumOperands())
        return op->emitOpError()
               << "VJP returned " << dxs.size() << " cotangents for "
               << op->getNumOperands() << " operands";
      targets.assign(op->getOperands().begin(), op->getOperands().end());
    }
    for (auto [operand, dx] : llvm::zip(targets, dxs))
      if (dx && varied.contains(operand) && failed(accumulate(operand, dx, op)))
        return failure();
  }

  SmallVector<Value> grads;
  for (Value w : wrt) {
    Value g = cot.lookup(w);
    grads.push_back(g ? g : zerosLike(builder, loc, w.getType()));
  }
  return grads;
}

FailureOr<SmallVector<Value>> mlir::nl::buildGradients(OpBuilder &builder,
                                                       Value output, Value seed,
                                                       ValueRange wrt) {
  Location loc = output.getLoc();
  if (!seed) {
    auto t = dyn_cast<RankedTensorType>(output.getType());
    if (!t || t.getRank() != 0 || !isa<FloatType>(t.getElementType()))
      return emitError(loc) << "buildGradients needs a seed for the non-scalar "
                               "output of type "
                            << output.getType();
    seed = arith::ConstantOp::create(
        builder, loc, t,
        DenseElementsAttr::get(
            t, builder.getFloatAttr(cast<FloatType>(t.getElementType()), 1.0)));
  }
  return reverseMode(builder, {output}, {seed}, wrt, loc);
}

FailureOr<func::FuncOp> mlir::nl::buildGradientFunction(func::FuncOp f) {
  FunctionType ft = f.getFunctionType();
  auto loss = ft.getNumResults() == 1
                  ? dyn_cast<RankedTensorType>(ft.getResult(0))
                  : RankedTensorType();
  if (!loss || loss.getRank() != 0 || !isa<FloatType>(loss.getElementType()))
    return f.emitOpError() << "marked nl.differentiate must return one rank-0 "
                              "float tensor (a loss), got "
                           << ft;
  if (!f.getBody().hasOneBlock())
    return f.emitOpError() << "marked nl.differentiate must have one block";

  OpBuilder b(f);
  b.setInsertionPointAfter(f);
  auto g = cast<func::FuncOp>(b.clone(*f));
  g.setSymName((f.getSymName() + "_grad").str());
  g->removeAttr("nl.differentiate");

  Block &body = g.getBody().front();
  auto ret = cast<func::ReturnOp>(body.getTerminator());
  SmallVector<Value> wrt;
  for (BlockArgument a : body.getArguments())
    if (isa<FloatType>(getElementTypeOrSelf(a.getType())))
      wrt.push_back(a);
  b.setInsertionPoint(ret);
  FailureOr<SmallVector<Value>> grads =
      buildGradients(b, ret.getOperand(0), Value(), wrt);
  if (failed(grads))
    return failure();
  SmallVector<Value> results{ret.getOperand(0)};
  results.append(grads->begin(), grads->end());
  func::ReturnOp::create(b, ret.getLoc(), results);
  ret.erase();
  g.setFunctionType(
      b.getFunctionType(ft.getInputs(), ValueRange(results).getTypes()));
  return g;
}
