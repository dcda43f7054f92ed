//===- Outlining.cpp - functions made of ops taken out of another ---------===//

#include "nl/Dialect/NL/Transforms/Outlining.h"

using namespace mlir;

/// A value that the outlined function recomputes instead of taking as an
/// argument: a constant (its op has no operands and no regions).
static bool isClonedConstant(Value v) {
  Operation *def = v.getDefiningOp();
  return def && def->hasTrait<OpTrait::ConstantLike>() &&
         def->getNumOperands() == 0 && def->getNumRegions() == 0;
}

func::FuncOp
mlir::nl::createOutlinedFunction(SymbolTable &symbols, Operation *after,
                                 Location loc, const Twine &name,
                                 ArrayRef<Value> used, IRMapping &mapping,
                                 SmallVectorImpl<Value> &arguments) {
  SmallVector<Value> constants;
  for (Value v : used)
    (isClonedConstant(v) ? constants : arguments).push_back(v);

  OpBuilder builder(after);
  builder.setInsertionPointAfter(after);
  auto callee = func::FuncOp::create(
      builder, loc, name.str(),
      builder.getFunctionType(ValueRange(arguments).getTypes(), {}));
  callee.setPrivate();
  symbols.insert(callee, builder.getInsertionPoint()); // renamed if taken

  Block *entry = callee.addEntryBlock();
  mapping.map(arguments, entry->getArguments());
  OpBuilder body = OpBuilder::atBlockBegin(entry);
  for (Value c : constants)
    body.clone(*c.getDefiningOp(), mapping);
  return callee;
}
