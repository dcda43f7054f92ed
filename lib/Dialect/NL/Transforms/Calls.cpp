//===- Calls.cpp - the calls of a private function ------------------------===//

#include "nl/Dialect/NL/Transforms/Calls.h"

#include "mlir/IR/SymbolTable.h"

using namespace mlir;

std::optional<SmallVector<func::CallOp>> mlir::nl::callsOf(func::FuncOp fn,
                                                           ModuleOp module) {
  SmallVector<func::CallOp> calls;
  std::optional<SymbolTable::UseRange> uses =
      SymbolTable::getSymbolUses(fn, module);
  if (!uses)
    return std::nullopt;
  for (const SymbolTable::SymbolUse &use : *uses) {
    auto call = dyn_cast<func::CallOp>(use.getUser());
    if (!call)
      return std::nullopt;
    calls.push_back(call);
  }
  return calls;
}
