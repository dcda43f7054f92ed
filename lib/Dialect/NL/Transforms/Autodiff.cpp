//===- Autodiff.cpp - reverse-mode automatic differentiation --------------===//

#include "nl/Dialect/NL/Transforms/Autodiff.h"
#include "nl/Dialect/NL/IR/NLDialect.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
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

FailureOr<SmallVector<Value>> mlir::nl::buildGradients(OpBuilder &builder,
                                                       Value output, Value seed,
                                                       ValueRange wrt) {
  Operation *outDef = output.getDefiningOp();
  Block *block = outDef ? outDef->getBlock() : output.getParentBlock();
  Location loc = output.getLoc();

  // Forward: the values that depend on `wrt` (varied).
  llvm::DenseSet<Value> varied(wrt.begin(), wrt.end());
  for (Operation &op : *block) {
    bool dependent = llvm::any_of(op.getOperands(),
                                  [&](Value v) { return varied.contains(v); });
    if (!dependent && op.getNumRegions() != 0)
      op.walk([&](Operation *inner) {
        for (Value v : inner->getOperands())
          dependent |= varied.contains(v);
      });
    if (dependent)
      varied.insert(op.getResults().begin(), op.getResults().end());
    if (&op == outDef)
      break;
  }

  // Backward: cotangents, seeded at the output.
  llvm::DenseMap<Value, Value> cot;
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
  if (varied.contains(output))
    cot[output] = seed;

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

  if (outDef) {
    for (Operation *op = outDef; op; op = op->getPrevNode()) {
      SmallVector<Value> dys;
      bool any = false;
      for (Value r : op->getResults()) {
        auto it = cot.find(r);
        dys.push_back(it == cot.end() ? Value() : it->second);
        any |= it != cot.end();
      }
      if (!any)
        continue;
      if (op->getNumRegions() != 0)
        return op->emitOpError()
               << "cannot be differentiated: ops with regions on the path "
                  "from the parameters to the output are not supported";
      auto diff = dyn_cast<DifferentiableOpInterface>(op);
      if (!diff)
        return op->emitOpError()
               << "is on the path from the parameters to the output but has "
                  "no VJP (DifferentiableOpInterface)";
      SmallVector<Value> dxs;
      if (failed(diff.buildVJP(builder, dys, dxs)))
        return failure();
      if (dxs.size() > op->getNumOperands())
        return op->emitOpError()
               << "VJP returned " << dxs.size() << " cotangents for "
               << op->getNumOperands() << " operands";
      for (auto [operand, dx] : llvm::zip(op->getOperands(), dxs))
        if (dx && varied.contains(operand) &&
            failed(accumulate(operand, dx, op)))
          return failure();
    }
  }

  SmallVector<Value> grads;
  for (Value w : wrt) {
    Value g = cot.lookup(w);
    grads.push_back(g ? g : zerosLike(builder, loc, w.getType()));
  }
  return grads;
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
