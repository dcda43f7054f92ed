//===- MergeFunctions.cpp - one copy of each private function -------------===//
//
// See the pass description in Passes.td.
//
//===----------------------------------------------------------------------===//

#include "nl/Dialect/NL/Transforms/Passes.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/OperationSupport.h"
#include "mlir/IR/SymbolTable.h"
#include "llvm/ADT/DenseMap.h"
#include "llvm/ADT/DenseSet.h"

namespace mlir::nl {
#define GEN_PASS_DEF_MERGEFUNCTIONS
#include "nl/Dialect/NL/Transforms/Passes.h.inc"
} // namespace mlir::nl

using namespace mlir;

namespace {

/// A hash of `func`'s signature, attributes other than its name, and the
/// ops of its body (names, attributes, properties, types; not which values
/// they use): equal for functions that `sameFunction` may find equal.
llvm::hash_code structuralHash(func::FuncOp func) {
  llvm::hash_code hash = hash_value(func.getFunctionType());
  for (NamedAttribute attr : func->getAttrs())
    if (attr.getName() != SymbolTable::getSymbolAttrName())
      hash = llvm::hash_combine(hash, attr.getName(), attr.getValue());
  func.getBody().walk([&](Operation *op) {
    hash =
        llvm::hash_combine(hash, OperationEquivalence::computeHash(
                                     op, OperationEquivalence::ignoreHashValue,
                                     OperationEquivalence::ignoreHashValue,
                                     OperationEquivalence::IgnoreLocations));
  });
  return hash;
}

/// Whether `a` and `b` differ in nothing but their names (and locations).
bool sameFunction(func::FuncOp a, func::FuncOp b) {
  if (a.getFunctionType() != b.getFunctionType())
    return false;
  NamedAttrList attrsA(a->getAttrDictionary()), attrsB(b->getAttrDictionary());
  attrsA.erase(SymbolTable::getSymbolAttrName());
  attrsB.erase(SymbolTable::getSymbolAttrName());
  if (attrsA.getDictionary(a.getContext()) !=
      attrsB.getDictionary(b.getContext()))
    return false;
  return OperationEquivalence::isRegionEquivalentTo(
      &a.getBody(), &b.getBody(), OperationEquivalence::IgnoreLocations);
}

struct MergeFunctionsPass
    : public mlir::nl::impl::MergeFunctionsBase<MergeFunctionsPass> {
  void runOnOperation() override {
    ModuleOp module = getOperation();
    // A merge makes the callers of both functions call the same symbol, so
    // two callers that differed only in which copy they called become equal
    // in the next round: repeat until a round merges nothing.
    while (mergeRound(module)) {
    }
  }

  /// Replaces every private function that equals an earlier one (in the
  /// module's order) by that one; returns whether it replaced any. Only
  /// functions that nothing but `func.call`s name are merged, so that one
  /// walk over the calls renames every use.
  bool mergeRound(ModuleOp module) {
    llvm::DenseSet<StringAttr> namedElsewhere;
    if (std::optional<SymbolTable::UseRange> uses =
            SymbolTable::getSymbolUses(&module.getBodyRegion())) {
      for (const SymbolTable::SymbolUse &use : *uses)
        if (!isa<func::CallOp>(use.getUser()))
          namedElsewhere.insert(use.getSymbolRef().getRootReference());
    } else {
      return false; // an op that may name symbols in ways not visible here
    }

    llvm::DenseMap<llvm::hash_code, SmallVector<func::FuncOp, 1>> kept;
    llvm::DenseMap<StringAttr, FlatSymbolRefAttr> renamed; // copy -> kept
    SmallVector<func::FuncOp> copies;
    for (func::FuncOp func : module.getOps<func::FuncOp>()) {
      if (!func.isPrivate() || func.isExternal() ||
          namedElsewhere.contains(func.getSymNameAttr()))
        continue;
      SmallVector<func::FuncOp, 1> &candidates = kept[structuralHash(func)];
      auto same = llvm::find_if(candidates, [&](func::FuncOp other) {
        return sameFunction(other, func);
      });
      if (same == candidates.end()) {
        candidates.push_back(func);
        continue;
      }
      renamed[func.getSymNameAttr()] =
          FlatSymbolRefAttr::get(same->getSymNameAttr());
      copies.push_back(func);
    }
    if (copies.empty())
      return false;
    module.walk([&](func::CallOp call) {
      auto it = renamed.find(call.getCalleeAttr().getAttr());
      if (it != renamed.end())
        call.setCalleeAttr(it->second);
    });
    for (func::FuncOp copy : copies)
      copy.erase();
    numMerged += copies.size();
    return true;
  }
};

} // namespace
