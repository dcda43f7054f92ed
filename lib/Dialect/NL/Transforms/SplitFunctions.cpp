//===- SplitFunctions.cpp - large functions as calls of bounded parts -----===//
//
// See the pass description in Passes.td.
//
//===----------------------------------------------------------------------===//

#include "nl/Dialect/NL/Transforms/Outlining.h"
#include "nl/Dialect/NL/Transforms/Passes.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/IR/IRMapping.h"
#include "mlir/IR/SymbolTable.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"
#include "llvm/ADT/BitVector.h"
#include "llvm/ADT/SetVector.h"
#include "llvm/ADT/SmallPtrSet.h"

namespace mlir::nl {
#define GEN_PASS_DEF_SPLITFUNCTIONS
#include "nl/Dialect/NL/Transforms/Passes.h.inc"
} // namespace mlir::nl

using namespace mlir;

namespace {

/// An op that the caller may compute again when a part's result is needed
/// after the part: it reads and writes no memory and has no regions (views,
/// casts, index arithmetic, constants).
bool isClonable(Operation *op) {
  return op->getNumRegions() == 0 && isMemoryEffectFree(op);
}

/// An op whose results must not outlive the part that made them: a stack
/// allocation (memref.alloca, llvm.alloca), freed when the part returns.
/// (A buffer returned by a run that holds one anywhere might be a view of
/// it: `escaping` keeps such buffers in the caller too.)
bool allocatesOnStack(Operation *op) {
  auto effects = dyn_cast<MemoryEffectOpInterface>(op);
  if (!effects)
    return false;
  SmallVector<MemoryEffects::EffectInstance> instances;
  effects.getEffects(instances);
  return llvm::any_of(instances, [](const MemoryEffects::EffectInstance &e) {
    return isa<MemoryEffects::Allocate>(e.getEffect()) &&
           isa<SideEffects::AutomaticAllocationScopeResource>(e.getResource());
  });
}

struct SplitFunctionsPass
    : public mlir::nl::impl::SplitFunctionsBase<SplitFunctionsPass> {
  using SplitFunctionsBase::SplitFunctionsBase;

  void runOnOperation() override {
    if (maxOps == 0) {
      getOperation().emitError("nl-split-functions: max-ops must be positive");
      return signalPassFailure();
    }
    ModuleOp module = getOperation();
    SymbolTable symbols(module);
    SmallVector<func::FuncOp> funcs(module.getOps<func::FuncOp>());
    for (func::FuncOp f : funcs)
      if (!f.isExternal() && f.getBody().hasOneBlock())
        split(symbols, f);
  }

  /// The function's top-level ops, in order, with their sizes (ops in
  /// their walk), whether they hold a stack allocation (in their walk) and
  /// the position of the last top-level op that uses one of their results
  /// (ops.size() for the terminator).
  struct Body {
    SmallVector<Operation *> ops;
    SmallVector<uint64_t> weight;
    llvm::BitVector stack;
    SmallVector<unsigned> lastUse;
    DenseMap<Operation *, unsigned> position;
  };

  static Body analyze(Block &block) {
    Body b;
    for (Operation &op : block.without_terminator()) {
      b.position[&op] = b.ops.size();
      b.ops.push_back(&op);
      uint64_t w = 0;
      bool stack = false;
      op.walk([&](Operation *inner) {
        ++w;
        stack = stack || allocatesOnStack(inner);
      });
      b.weight.push_back(w);
      b.stack.push_back(stack);
    }
    unsigned n = b.ops.size();
    for (unsigned i = 0; i < n; ++i) {
      unsigned last = i;
      for (Operation *user : b.ops[i]->getUsers()) {
        Operation *top = block.findAncestorOpInBlock(*user);
        auto it = b.position.find(top);
        last = std::max(last, it == b.position.end() ? n : it->second);
      }
      b.lastUse.push_back(last);
    }
    return b;
  }

  /// The ops of [begin, end) whose results are needed at or after `end`.
  /// Those that can be cloned are computed again after the part's call, so
  /// their operands inside the part are needed too; the others' results
  /// are the part's results. Returns false, with `cut` at the first needed
  /// op whose results cannot leave the part (a stack allocation, or a
  /// buffer when the run holds a stack allocation), when there is one.
  static bool escaping(const Body &b, unsigned begin, unsigned end,
                       llvm::BitVector &escapes, unsigned &cut) {
    escapes.clear();
    escapes.resize(end - begin);
    llvm::DenseSet<Value> needed;
    bool clean = true;
    // With a stack allocation anywhere in the run, a buffer it returns
    // might be a view of it: such a run hands on no buffer.
    bool stack = b.stack.find_first_in(begin, end) != -1;
    for (unsigned k = end; k-- > begin;) {
      Operation *op = b.ops[k];
      bool needs = b.lastUse[k] >= end ||
                   llvm::any_of(op->getResults(),
                                [&](Value r) { return needed.contains(r); });
      if (!needs)
        continue;
      escapes.set(k - begin);
      if (isClonable(op)) {
        needed.insert(op->operand_begin(), op->operand_end());
      } else if (allocatesOnStack(op) ||
                 (stack && llvm::any_of(op->getResultTypes(), [](Type t) {
                    return isa<BaseMemRefType, LLVM::LLVMPointerType>(t);
                  }))) {
        clean = false;
        cut = k;
      }
    }
    return clean;
  }

  void split(SymbolTable &symbols, func::FuncOp f) {
    Block &block = f.getBody().front();
    Body b = analyze(block);
    unsigned n = b.ops.size();
    uint64_t total = 0;
    for (uint64_t w : b.weight)
      total += w;
    if (total <= maxOps)
      return;

    Operation *after = f; // the parts follow f in order
    unsigned part = 0;
    SmallVector<Operation *> copies;
    llvm::BitVector escapes;
    for (unsigned begin = 0; begin < n;) {
      // The longest run from `begin` within the budget (at least one op).
      unsigned end = begin;
      uint64_t w = 0;
      while (end < n && (end == begin || w + b.weight[end] <= maxOps))
        w += b.weight[end++];
      // Shortened until every result it must hand on can be recomputed
      // by the caller.
      unsigned cut;
      while (end > begin && !escaping(b, begin, end, escapes, cut))
        end = cut;
      if (end == begin) { // ops[begin] stays in the caller
        ++begin;
        continue;
      }
      // What moves: the ops that the caller does not compute again. A
      // short run is not worth a call.
      uint64_t size = 0;
      for (unsigned k = begin; k < end; ++k)
        if (!escapes.test(k - begin) || !isClonable(b.ops[k]))
          size += b.weight[k];
      if (size >= minOps)
        after =
            outline(symbols, f, after, b, begin, end, escapes, part++, copies);
      begin = end;
    }
    // The copies that no later op needed (constants, which each part
    // clones for itself).
    for (Operation *copy : llvm::reverse(copies))
      if (copy->use_empty())
        copy->erase();
  }

  /// Moves ops [begin, end) of `f` into a private function placed after
  /// `after`, called in their place; returns it.
  Operation *outline(SymbolTable &symbols, func::FuncOp f, Operation *after,
                     const Body &b, unsigned begin, unsigned end,
                     const llvm::BitVector &escapes, unsigned index,
                     SmallVectorImpl<Operation *> &copies) {
    Block &block = f.getBody().front();
    llvm::SmallPtrSet<Operation *, 32> inPart(b.ops.begin() + begin,
                                              b.ops.begin() + end);
    auto outside = [&](Operation *user) {
      return !inPart.contains(block.findAncestorOpInBlock(*user));
    };
    Operation *first = b.ops[begin];
    Operation *next = end < b.ops.size() ? b.ops[end] : block.getTerminator();
    Location loc = first->getLoc();

    // What the caller needs after the part: recomputed after its call
    // when it can be (views, casts, index arithmetic), the part's results
    // otherwise.
    OpBuilder builder(next);
    IRMapping recomputed;
    Operation *firstCopy = nullptr;
    for (unsigned k = begin; k < end; ++k) {
      Operation *op = b.ops[k];
      if (!escapes.test(k - begin) || !isClonable(op))
        continue;
      Operation *copy = builder.clone(*op, recomputed);
      if (!firstCopy)
        firstCopy = copy;
      copies.push_back(copy);
      for (auto [r, c] : llvm::zip(op->getResults(), copy->getResults()))
        r.replaceUsesWithIf(
            c, [&](OpOperand &use) { return outside(use.getOwner()); });
    }
    SmallVector<Value> results;
    for (unsigned k = begin; k < end; ++k)
      if (escapes.test(k - begin) && !isClonable(b.ops[k]))
        for (Value r : b.ops[k]->getResults())
          if (llvm::any_of(r.getUsers(), outside))
            results.push_back(r);

    // What the part reads from before it: its arguments (constants are
    // cloned instead, createOutlinedFunction).
    llvm::SetVector<Value> used;
    for (unsigned k = begin; k < end; ++k)
      b.ops[k]->walk<WalkOrder::PreOrder>([&](Operation *op) {
        for (Value v : op->getOperands()) {
          Operation *owner =
              isa<BlockArgument>(v)
                  ? cast<BlockArgument>(v).getOwner()->getParentOp()
                  : v.getDefiningOp();
          if (owner == f ||
              !inPart.contains(block.findAncestorOpInBlock(*owner)))
            used.insert(v);
        }
      });
    IRMapping mapping;
    SmallVector<Value> arguments;
    func::FuncOp callee = nl::createOutlinedFunction(
        symbols, after, loc, f.getSymName() + ".part" + Twine(index),
        used.getArrayRef(), mapping, arguments);
    callee.setFunctionType(builder.getFunctionType(
        callee.getArgumentTypes(), ValueRange(results).getTypes()));
    Block *entry = &callee.front();
    for (unsigned k = begin; k < end; ++k)
      b.ops[k]->moveBefore(entry, entry->end());
    OpBuilder tail = OpBuilder::atBlockEnd(entry);
    func::ReturnOp::create(tail, loc, results);
    for (Value v : used)
      v.replaceUsesWithIf(mapping.lookup(v), [&](OpOperand &use) {
        return callee->isProperAncestor(use.getOwner());
      });

    // The call, before the recomputed ops, which may use its results.
    builder.setInsertionPoint(firstCopy ? firstCopy : next);
    auto call = func::CallOp::create(builder, loc, callee, arguments);
    for (auto [r, c] : llvm::zip(results, call.getResults()))
      r.replaceUsesWithIf(c, [&](OpOperand &use) {
        return !callee->isProperAncestor(use.getOwner());
      });
    ++numParts;
    return callee;
  }
};

} // namespace
