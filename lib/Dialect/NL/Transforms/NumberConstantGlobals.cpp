//===- NumberConstantGlobals.cpp - deterministic constant globals ---------===//
//
// See the pass description in Passes.td.
//
//===----------------------------------------------------------------------===//

#include "nl/Dialect/NL/Transforms/Passes.h"

#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/IR/AttrTypeSubElements.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/SymbolTable.h"
#include "mlir/IR/Visitors.h"

#include "llvm/ADT/MapVector.h"
#include "llvm/ADT/StringMap.h"
#include "llvm/ADT/StringSet.h"

namespace mlir::nl {
#define GEN_PASS_DEF_NUMBERCONSTANTGLOBALS
#include "nl/Dialect/NL/Transforms/Passes.h.inc"
} // namespace mlir::nl

using namespace mlir;

namespace {

/// The prefix one-shot-bufferize gives the globals of tensor constants
/// (bufferization::getGlobalFor).
constexpr llvm::StringLiteral kPrefix = "__constant_";

/// `name` without a trailing `_<digits>` (the uniquing suffix).
StringRef baseName(StringRef name) {
  size_t underscore = name.rfind('_');
  if (underscore == StringRef::npos || underscore + 1 == name.size() ||
      underscore < kPrefix.size())
    return name;
  StringRef suffix = name.drop_front(underscore + 1);
  if (!llvm::all_of(suffix, [](char c) { return c >= '0' && c <= '9'; }))
    return name;
  return name.take_front(underscore);
}

/// A global that bufferization made for a tensor constant.
bool isConstantGlobal(memref::GlobalOp global) {
  return global.getConstant() && global.isPrivate() &&
         global.getSymName().starts_with(kPrefix);
}

struct NumberConstantGlobalsPass
    : public mlir::nl::impl::NumberConstantGlobalsBase<
          NumberConstantGlobalsPass> {
  void runOnOperation() override {
    ModuleOp module = getOperation();
    llvm::StringMap<memref::GlobalOp> globals;
    for (auto global : module.getOps<memref::GlobalOp>())
      if (isConstantGlobal(global))
        globals[global.getSymName()] = global;
    if (globals.empty())
      return;

    // The globals in the order of their first use: ops in order, the ops
    // of an op's regions before the ops after it.
    llvm::MapVector<Operation *, StringAttr> order;
    module.getBodyRegion().walk<WalkOrder::PreOrder>([&](Operation *op) {
      op->getAttrDictionary().walk([&](FlatSymbolRefAttr ref) {
        auto it = globals.find(ref.getValue());
        if (it != globals.end())
          order.insert({it->second.getOperation(), StringAttr()});
      });
    });

    // New names: `<base>`, `<base>_1`, ... per base, in that order. Names
    // that other symbols already hold are skipped.
    llvm::StringMap<unsigned> nextIndex;
    llvm::StringSet<> taken;
    for (Operation &op : module.getBody()->getOperations()) {
      auto global = dyn_cast<memref::GlobalOp>(op);
      if (auto name =
              op.getAttrOfType<StringAttr>(SymbolTable::getSymbolAttrName());
          name && !(global && isConstantGlobal(global)))
        taken.insert(name.getValue());
    }
    for (auto &[op, newName] : order) {
      StringRef base = baseName(cast<memref::GlobalOp>(op).getSymName());
      std::string name;
      do {
        unsigned index = nextIndex[base]++;
        name = index == 0 ? base.str() : (base + "_" + Twine(index)).str();
      } while (!taken.insert(name).second);
      newName = StringAttr::get(&getContext(), name);
    }

    // Rename every use in one walk, then the globals.
    DenseMap<Attribute, Attribute> renamed;
    for (auto &[op, newName] : order) {
      auto global = cast<memref::GlobalOp>(op);
      if (global.getSymNameAttr() == newName)
        continue;
      renamed[FlatSymbolRefAttr::get(global.getSymNameAttr())] =
          FlatSymbolRefAttr::get(newName);
      ++numRenamed;
    }
    if (!renamed.empty()) {
      AttrTypeReplacer replacer;
      replacer.addReplacement(
          [&](FlatSymbolRefAttr ref) -> std::optional<Attribute> {
            auto it = renamed.find(ref);
            if (it == renamed.end())
              return std::nullopt;
            return it->second;
          });
      module.getBodyRegion().walk([&](Operation *op) {
        replacer.replaceElementsIn(op, /*replaceAttrs=*/true,
                                   /*replaceLocs=*/false,
                                   /*replaceTypes=*/false);
      });
    }

    // Unused ones go; the others move to the top in their new order.
    for (auto &entry : globals) {
      Operation *global = entry.second.getOperation();
      if (!order.count(global)) {
        global->erase();
        ++numErased;
      }
    }
    Block *body = module.getBody();
    Operation *anchor = nullptr;
    for (Operation &op : *body)
      if (!order.count(&op)) {
        anchor = &op;
        break;
      }
    for (auto &[op, newName] : order) {
      cast<memref::GlobalOp>(op).setSymNameAttr(newName);
      if (anchor)
        op->moveBefore(anchor);
      else
        op->moveBefore(body, body->end());
    }
  }
};

} // namespace
