//===- PlanBuffers.cpp - slots for a block's temporary buffers ------------===//
//
// See the pass description in Passes.td.
//
//===----------------------------------------------------------------------===//

#include "nl/Dialect/NL/Transforms/Passes.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/IR/Builders.h"
#include "mlir/Interfaces/CallInterfaces.h"
#include "mlir/Interfaces/ControlFlowInterfaces.h"
#include "llvm/ADT/STLExtras.h"

namespace mlir::nl {
#define GEN_PASS_DEF_PLANBUFFERS
#include "nl/Dialect/NL/Transforms/Passes.h.inc"
} // namespace mlir::nl

using namespace mlir;

namespace {

constexpr int64_t kAlignment = 64; // bytes: a cache line, an AVX-512 vector

/// A buffer the pass gives a slot in its block: live from its
/// allocation to its deallocation (indices of the block's ops, inclusive).
struct Interval {
  memref::AllocOp alloc;
  memref::DeallocOp dealloc;
  int64_t bytes = 0; // rounded up to kAlignment
  unsigned begin = 0, end = 0;
  unsigned slot = 0;
};

/// Bytes of a buffer of `type`, or nullopt when its elements have no byte
/// size that memref.view can address (i1, index, vectors of them).
std::optional<int64_t> byteSize(MemRefType type) {
  Type element = type.getElementType();
  if (!element.isIntOrFloat() || element.getIntOrFloatBitWidth() % 8 != 0)
    return std::nullopt;
  return type.getNumElements() * (element.getIntOrFloatBitWidth() / 8);
}

/// The interval of `alloc` in `block` (whose ops are numbered by `index`),
/// or nullopt when the buffer cannot move into a slot: a dynamic shape, a
/// layout or memory space, an alignment above a slot's, no single
/// unconditional deallocation in the block, or an alias used after that
/// deallocation or leaving the block.
std::optional<Interval> intervalOf(memref::AllocOp alloc, Block &block,
                                   const DenseMap<Operation *, unsigned> &index,
                                   int64_t maxBuffer) {
  MemRefType type = alloc.getType();
  if (!type.hasStaticShape() || !type.getLayout().isIdentity() ||
      type.getMemorySpace() || alloc.getAlignment().value_or(1) > kAlignment)
    return std::nullopt;
  std::optional<int64_t> bytes = byteSize(type);
  if (!bytes || *bytes > maxBuffer)
    return std::nullopt;

  Interval interval;
  interval.alloc = alloc;
  interval.bytes = llvm::alignTo(std::max<int64_t>(*bytes, 1), kAlignment);
  interval.begin = index.lookup(alloc);
  unsigned lastUse = interval.begin;
  // The buffer and every value that may alias it: views, reshapes, casts,
  // metadata, any memref result of a non-call op that uses it.
  SmallVector<Value> aliases = {alloc.getResult()};
  for (unsigned i = 0; i < aliases.size(); ++i) {
    for (OpOperand &use : aliases[i].getUses()) {
      Operation *user = use.getOwner();
      if (auto dealloc = dyn_cast<memref::DeallocOp>(user)) {
        // Only the buffer itself, freed once, unconditionally, here.
        if (i != 0 || interval.dealloc || dealloc->getBlock() != &block)
          return std::nullopt;
        interval.dealloc = dealloc;
        continue;
      }
      if (user->hasTrait<OpTrait::ReturnLike>() ||
          isa<RegionBranchTerminatorOpInterface, BranchOpInterface>(user))
        return std::nullopt; // leaves the block
      Operation *inBlock = block.findAncestorOpInBlock(*user);
      if (!inBlock)
        return std::nullopt;
      lastUse = std::max(lastUse, index.lookup(inBlock));
      if (isa<CallOpInterface>(user))
        continue; // a callee's results are its own buffers
      for (Value result : user->getResults())
        if (isa<BaseMemRefType>(result.getType()) &&
            !llvm::is_contained(aliases, result))
          aliases.push_back(result);
    }
  }
  if (!interval.dealloc)
    return std::nullopt;
  interval.end = index.lookup(interval.dealloc);
  if (lastUse >= interval.end)
    return std::nullopt;
  return interval;
}

/// Assigns each interval a slot, in order of allocation: the smallest free
/// slot that holds it, else the largest free slot (grown to hold it), else
/// a new slot. A slot is free once the buffer it last held is deallocated,
/// so buffers live at the same time never share one. Returns each slot's
/// size in bytes.
SmallVector<int64_t> assignSlots(MutableArrayRef<Interval> intervals) {
  SmallVector<int64_t> size;
  SmallVector<unsigned> freeAfter; // index of the last holder's dealloc
  for (Interval &interval : intervals) {
    std::optional<unsigned> fit, largest;
    for (unsigned slot = 0; slot < size.size(); ++slot) {
      if (freeAfter[slot] >= interval.begin)
        continue;
      if (size[slot] >= interval.bytes && (!fit || size[slot] < size[*fit]))
        fit = slot;
      if (!largest || size[slot] > size[*largest])
        largest = slot;
    }
    unsigned slot = fit ? *fit : largest ? *largest : size.size();
    if (slot == size.size()) {
      size.push_back(0);
      freeAfter.push_back(0);
    }
    size[slot] = std::max(size[slot], interval.bytes);
    freeAfter[slot] = interval.end;
    interval.slot = slot;
  }
  return size;
}

struct PlanBuffersPass
    : public mlir::nl::impl::PlanBuffersBase<PlanBuffersPass> {
  using Base::Base;

  void runOnOperation() override {
    func::FuncOp function = getOperation();
    if (function.isExternal())
      return;
    SmallVector<Block *> blocks;
    function.walk([&](Block *block) { blocks.push_back(block); });
    for (Block *block : blocks)
      plan(*block, block == &function.getBody().front());
  }

  void plan(Block &block, bool entry) {
    if (block.getOps<memref::AllocOp>().empty() || !block.mightHaveTerminator())
      return;
    DenseMap<Operation *, unsigned> index;
    for (Operation &op : block)
      index[&op] = index.size();
    SmallVector<Interval> intervals;
    for (auto alloc : block.getOps<memref::AllocOp>())
      if (std::optional<Interval> interval =
              intervalOf(alloc, block, index, maxBuffer))
        intervals.push_back(*interval);
    if (intervals.empty())
      return;
    SmallVector<int64_t> slotSize = assignSlots(intervals);
    // In the entry block, the smallest slots on the stack, as many as
    // stack-limit holds; the rest on the heap.
    SmallVector<bool> onStack(slotSize.size(), false);
    if (entry) {
      auto bySize = llvm::to_vector(
          llvm::seq<unsigned>(0, static_cast<unsigned>(slotSize.size())));
      llvm::stable_sort(bySize, [&](unsigned a, unsigned b) {
        return slotSize[a] < slotSize[b];
      });
      int64_t stack = 0;
      for (unsigned slot : bySize) {
        if (stack + slotSize[slot] > stackLimit)
          break;
        stack += slotSize[slot];
        onStack[slot] = true;
      }
    }
    auto numOnStack = static_cast<unsigned>(llvm::count(onStack, true));
    // As many heap buffers as before gains nothing.
    if (numOnStack == 0 && slotSize.size() == intervals.size())
      return;

    // Each slot its own allocation, so that LLVM's alias analysis still
    // tells the buffers of different slots apart (views at offsets of one
    // arena would all alias, and cost the chunk functions their
    // vectorization: Titans' step 27 % slower).
    OpBuilder builder(&block, block.begin());
    IntegerAttr alignment = builder.getI64IntegerAttr(kAlignment);
    Location loc = intervals.front().alloc.getLoc();
    SmallVector<Value> slots;
    for (auto [size, stack] : llvm::zip_equal(slotSize, onStack)) {
      auto type = MemRefType::get({size}, builder.getI8Type());
      if (stack)
        slots.push_back(memref::AllocaOp::create(
            builder, loc, type, ValueRange{}, ValueRange{}, alignment));
      else
        slots.push_back(memref::AllocOp::create(
            builder, loc, type, ValueRange{}, ValueRange{}, alignment));
    }
    Value zero = arith::ConstantIndexOp::create(builder, loc, 0);
    for (Interval &interval : intervals) {
      builder.setInsertionPoint(interval.alloc);
      Value view = memref::ViewOp::create(
          builder, interval.alloc.getLoc(), interval.alloc.getType(),
          slots[interval.slot], zero, ValueRange{});
      interval.alloc.getResult().replaceAllUsesWith(view);
      interval.dealloc.erase();
      interval.alloc.erase();
    }
    builder.setInsertionPoint(block.getTerminator());
    for (auto [slot, stack] : llvm::zip_equal(slots, onStack))
      if (!stack)
        memref::DeallocOp::create(builder, loc, slot);
    numPlanned += intervals.size();
    numStackSlots += numOnStack;
    numHeapSlots += slots.size() - numOnStack;
  }
};

} // namespace
