//===- GenerateGradients.cpp - the nl-generate-gradients pass -------------===//
//
// Exposes reverse mode on whole functions: the entry point of gradient checks
// (nl-gradcheck compares the functions it adds with finite differences).
//
//===----------------------------------------------------------------------===//

#include "nl/Dialect/NL/IR/NLDialect.h"
#include "nl/Dialect/NL/Transforms/Autodiff.h"
#include "nl/Dialect/NL/Transforms/Passes.h"

namespace mlir::nl {
#define GEN_PASS_DEF_NLGENERATEGRADIENTS
#include "nl/Dialect/NL/Transforms/Passes.h.inc"
} // namespace mlir::nl

using namespace mlir;
using namespace mlir::nl;

namespace {

LogicalResult addGradientFunction(func::FuncOp f,
                                  func::FuncOp *gradient = nullptr) {
  FailureOr<func::FuncOp> g = buildGradientFunction(f);
  if (failed(g))
    return failure();
  if (gradient)
    *gradient = *g;
  return success();
}

/// For second-order checks: from @f_grad (x -> loss, g_1..g_n) builds
/// @f_dir(x, c_1..c_n) = Σ_i sum(g_i ⊙ c_i), a scalar whose own gradient
/// differentiates every VJP used in @f_grad (grad of grad).
func::FuncOp addDirectionalDerivative(func::FuncOp f, func::FuncOp g) {
  OpBuilder b(g);
  b.setInsertionPointAfter(g);
  auto d = cast<func::FuncOp>(b.clone(*g));
  d.setSymName((f.getSymName() + "_dir").str());
  Block &body = d.getBody().front();
  auto ret = cast<func::ReturnOp>(body.getTerminator());
  b.setInsertionPoint(ret);
  Value total;
  for (Value grad : ret.getOperands().drop_front()) {
    unsigned pos = d.getNumArguments();
    (void)d.insertArgument(pos, grad.getType(), DictionaryAttr(),
                           grad.getLoc());
    Value c = d.getArgument(pos);
    Value prod = MulOp::create(b, ret.getLoc(), grad.getType(), grad, c);
    Value s = SumOp::create(b, ret.getLoc(), ret.getOperand(0).getType(), prod);
    total =
        total
            ? AddOp::create(b, ret.getLoc(), s.getType(), total, s).getResult()
            : s;
  }
  func::ReturnOp::create(b, ret.getLoc(), total);
  ret.erase();
  d.setFunctionType(
      b.getFunctionType(body.getArgumentTypes(), TypeRange{total.getType()}));
  return d;
}

struct NLGenerateGradients
    : public mlir::nl::impl::NLGenerateGradientsBase<NLGenerateGradients> {
  void runOnOperation() override {
    SmallVector<func::FuncOp> todo;
    getOperation().walk([&](func::FuncOp f) {
      // build-train-step marks @loss and builds @loss_grad itself.
      if (f->hasAttr("nl.differentiate") &&
          !SymbolTable::lookupNearestSymbolFrom(
              f, StringAttr::get(f.getContext(), f.getSymName() + "_grad")))
        todo.push_back(f);
    });
    for (func::FuncOp f : todo) {
      func::FuncOp g;
      if (failed(addGradientFunction(f, &g)))
        return signalPassFailure();
      auto order = dyn_cast<IntegerAttr>(f->getAttr("nl.differentiate"));
      if (!order || order.getInt() == 1)
        continue;
      if (order.getInt() != 2) {
        f.emitOpError() << "nl.differentiate must be unit, 1 or 2, got "
                        << order.getInt();
        return signalPassFailure();
      }
      if (failed(addGradientFunction(addDirectionalDerivative(f, g))))
        return signalPassFailure();
    }
  }
};

} // namespace
