//===- LoopsToGPU.cpp - bufferized loops as GPU kernels -------------------===//
//
// The first stage of the cuda target: every linalg op and scf.forall of a
// host function becomes a gpu.launch, and every buffer a kernel touches is
// allocated in CUDA managed memory. See the pass description in Passes.td.
//
//===----------------------------------------------------------------------===//

#include "nl/Conversion/Passes.h"

#include "mlir/Dialect/Func/Utils/Utils.h"
#include "mlir/Dialect/Linalg/IR/LinalgInterfaces.h"
#include "mlir/Dialect/Linalg/Transforms/Transforms.h"
#include "mlir/Dialect/SCF/Transforms/Transforms.h"
#include "mlir/IR/AttrTypeSubElements.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinTypes.h"
#include "mlir/IR/IRMapping.h"
#include "mlir/IR/PatternMatch.h"
#include "llvm/ADT/StringSet.h"

namespace mlir::nl {
#define GEN_PASS_DEF_CONVERTLOOPSTOGPU
#define GEN_PASS_DEF_MERGEGPUMODULES
#include "nl/Conversion/Passes.h.inc"
} // namespace mlir::nl

using namespace mlir;

namespace {

/// Where an op runs: in a GPU thread (inside a gpu.launch, an scf.forall
/// body, or a function called from one: the fused kernels' per-slice chunk
/// functions, which gpu-kernel-outlining copies into the kernel's module)
/// or on the host.
class Placement {
public:
  explicit Placement(ModuleOp module) {
    SmallVector<func::CallOp> work;
    module.walk([&](func::CallOp call) {
      if (call->getParentOfType<scf::ForallOp>())
        work.push_back(call);
    });
    while (!work.empty()) {
      func::CallOp call = work.pop_back_val();
      auto callee = module.lookupSymbol<func::FuncOp>(call.getCallee());
      if (!callee || !deviceFunctions.insert(callee).second)
        continue;
      callee.walk([&](func::CallOp inner) { work.push_back(inner); });
    }
  }

  /// Inside a kernel or a function that runs in one.
  bool inKernel(Operation *op) const {
    return op->getParentOfType<gpu::LaunchOp>() != nullptr ||
           inDeviceFunction(op);
  }

  /// Inside an scf.forall body or a function that runs in one.
  bool inForall(Operation *op) const {
    return op->getParentOfType<scf::ForallOp>() != nullptr ||
           inDeviceFunction(op);
  }

private:
  bool inDeviceFunction(Operation *op) const {
    auto fn = op->getParentOfType<func::FuncOp>();
    return fn && deviceFunctions.contains(fn);
  }

  llvm::DenseSet<Operation *> deviceFunctions;
};

/// A generic whose reduction loops all come after its parallel ones, so
/// that its parallel loops form one scf.parallel around them.
LogicalResult parallelLoopsFirst(RewriterBase &rewriter, linalg::GenericOp op) {
  SmallVector<utils::IteratorType> kinds = op.getIteratorTypesArray();
  SmallVector<unsigned> order;
  for (auto [i, kind] : llvm::enumerate(kinds))
    if (kind == utils::IteratorType::parallel)
      order.push_back(i);
  for (auto [i, kind] : llvm::enumerate(kinds))
    if (kind != utils::IteratorType::parallel)
      order.push_back(i);
  if (llvm::equal(order, llvm::seq<unsigned>(0, kinds.size())))
    return success();
  rewriter.setInsertionPoint(op);
  return linalg::interchangeGenericOp(rewriter, op, order);
}

/// gpu.launch over `n` threads (blocks of `blockSize`), built before `at`;
/// the body gets the flat thread id and is guarded by id < n. Returns the
/// builder positioned inside the guard, and the id.
std::pair<OpBuilder, Value> buildLaunch(Operation *at, Value n,
                                        int64_t blockSize) {
  OpBuilder b(at);
  Location loc = at->getLoc();
  Value one = arith::ConstantIndexOp::create(b, loc, 1);
  Value bs = arith::ConstantIndexOp::create(b, loc, blockSize);
  // At least one thread: a launch of none is an error (an empty loop, e.g.
  // a chunk of no tokens); the guard below keeps it from doing anything.
  Value threads = arith::MaxUIOp::create(
      b, loc, arith::MinUIOp::create(b, loc, n, bs), one);
  Value blocks = arith::MaxUIOp::create(
      b, loc, arith::CeilDivUIOp::create(b, loc, n, bs), one);
  auto launch =
      gpu::LaunchOp::create(b, loc, blocks, one, one, threads, one, one);
  OpBuilder in = OpBuilder::atBlockBegin(&launch.getBody().front());
  Value id = arith::AddIOp::create(
      in, loc, arith::MulIOp::create(in, loc, launch.getBlockIds().x, threads),
      launch.getThreadIds().x);
  Value inside =
      arith::CmpIOp::create(in, loc, arith::CmpIPredicate::ult, id, n);
  auto guard = scf::IfOp::create(in, loc, inside, /*withElse=*/false);
  gpu::TerminatorOp::create(in, loc);
  return {OpBuilder::atBlockBegin(guard.thenBlock()), id};
}

/// The scf.parallel `loop` as a gpu.launch of one thread per point: the
/// flat id is split into the loop's ivs, the last dim fastest.
LogicalResult launchParallel(scf::ParallelOp loop, int64_t blockSize) {
  if (loop.getNumReductions() != 0)
    return loop.emitOpError(
        "with reductions is not supported by the cuda target");
  OpBuilder b(loop);
  Location loc = loop.getLoc();
  SmallVector<Value> trips;
  Value n = arith::ConstantIndexOp::create(b, loc, 1);
  for (auto [lb, ub, step] :
       llvm::zip(loop.getLowerBound(), loop.getUpperBound(), loop.getStep())) {
    Value span = arith::SubIOp::create(b, loc, ub, lb);
    trips.push_back(arith::CeilDivUIOp::create(b, loc, span, step));
    n = arith::MulIOp::create(b, loc, n, trips.back());
  }
  auto [in, id] = buildLaunch(loop, n, blockSize);
  IRMapping map;
  Value rest = id;
  for (int64_t d = static_cast<int64_t>(trips.size()) - 1; d >= 0; --d) {
    Value i = arith::RemUIOp::create(in, loc, rest, trips[d]);
    rest = arith::DivUIOp::create(in, loc, rest, trips[d]);
    Value iv = arith::AddIOp::create(
        in, loc, loop.getLowerBound()[d],
        arith::MulIOp::create(in, loc, i, loop.getStep()[d]));
    map.map(loop.getInductionVars()[d], iv);
  }
  for (Operation &op : loop.getBody()->without_terminator())
    in.clone(op, map);
  loop.erase();
  return success();
}

/// Moves `op` into a launch of one thread.
void launchSingle(Operation *op, int64_t blockSize) {
  OpBuilder b(op);
  Value one = arith::ConstantIndexOp::create(b, op->getLoc(), 1);
  auto [in, id] = buildLaunch(op, one, blockSize);
  (void)id;
  op->moveBefore(in.getInsertionBlock(), in.getInsertionPoint());
}

/// Whether `value` (a buffer, or a view of one) may reach a kernel: every
/// use other than the host's scalar loads and stores, its deallocation and
/// the deallocation bookkeeping's pointer reads counts (a call's callee, a
/// loop's iteration argument or a kernel may touch it).
bool reachesDevice(const Placement &where, Value value) {
  SmallVector<Value> work{value};
  while (!work.empty()) {
    Value v = work.pop_back_val();
    for (Operation *user : v.getUsers()) {
      if (where.inKernel(user))
        return true;
      if (isa<memref::LoadOp, memref::StoreOp, memref::DeallocOp,
              memref::ExtractAlignedPointerAsIndexOp>(user))
        continue;
      if (isa<ViewLikeOpInterface, memref::ExtractStridedMetadataOp,
              memref::CastOp>(user)) {
        for (Value r : user->getResults())
          if (isa<MemRefType>(r.getType()))
            work.push_back(r);
        continue;
      }
      return true;
    }
  }
  return false;
}

/// A kernel's buffer small enough for the thread's registers or local
/// memory (static shape, at most kMaxPrivateBytes).
constexpr int64_t kMaxPrivateBytes = 4096;
bool isPrivate(MemRefType type) {
  if (!type.hasStaticShape() || !type.getElementType().isIntOrFloat())
    return false;
  int64_t bits =
      type.getNumElements() * type.getElementType().getIntOrFloatBitWidth();
  return bits <= kMaxPrivateBytes * 8;
}

/// Frees the managed buffer `buffer` before `at`: a call of the runtime's
/// `nlrt_gpu_free(pointer)` (gpu-to-llvm lowers only asynchronous
/// gpu.dealloc).
void freeShared(OpBuilder &b, Location loc, func::FuncOp free, Value buffer) {
  Value p = memref::ExtractAlignedPointerAsIndexOp::create(b, loc, buffer);
  func::CallOp::create(b, loc, free, ValueRange{p});
}

/// Frees `buffer` before the terminator of `block`.
void deallocAtEnd(func::FuncOp free, Value buffer, Block *block) {
  OpBuilder b = OpBuilder::atBlockTerminator(block);
  freeShared(b, buffer.getLoc(), free, buffer);
}

/// gpu.alloc host_shared of `type` before `at`, with the sizes `dynSizes`.
Value allocShared(OpBuilder &b, Location loc, MemRefType type,
                  ValueRange dynSizes) {
  auto alloc = gpu::AllocOp::create(b, loc, type, /*asyncToken=*/Type(),
                                    ValueRange{}, dynSizes, ValueRange{},
                                    /*hostShared=*/true);
  return alloc.getMemref();
}

struct ConvertLoopsToGPU : nl::impl::ConvertLoopsToGPUBase<ConvertLoopsToGPU> {
  using Base::Base;

  void runOnOperation() override {
    ModuleOp module = getOperation();
    IRRewriter rewriter(module.getContext());
    OpBuilder top = OpBuilder::atBlockBegin(module.getBody());
    FunctionType freeType = top.getFunctionType({top.getIndexType()}, {});
    FailureOr<func::FuncOp> found =
        func::lookupFnDecl(module, "nlrt_gpu_free", freeType);
    if (failed(found)) // lookupFnDecl reported it at the function
      return signalPassFailure();
    func::FuncOp freeFn =
        *found ? *found
               : func::createFnDecl(top, module, "nlrt_gpu_free", freeType,
                                    /*setPrivate=*/true);

    Placement where(module);
    // 1. The forall bodies' linalg ops run in order inside their thread.
    SmallVector<linalg::LinalgOp> inner, outer;
    module.walk([&](linalg::LinalgOp op) {
      (where.inForall(op) ? inner : outer).push_back(op);
    });
    for (linalg::LinalgOp op : inner) {
      rewriter.setInsertionPoint(op);
      if (failed(linalg::linalgOpToLoops(rewriter, op))) {
        op->emitOpError("could not be lowered to loops for a GPU thread");
        return signalPassFailure();
      }
      rewriter.eraseOp(op);
    }

    // 2. Host linalg ops: one thread per point of their parallel loops.
    for (linalg::LinalgOp op : outer) {
      if (auto generic = dyn_cast<linalg::GenericOp>(op.getOperation()))
        if (failed(parallelLoopsFirst(rewriter, generic))) {
          op->emitOpError("could not be interchanged for the GPU");
          return signalPassFailure();
        }
    }
    outer.clear();
    module.walk([&](linalg::LinalgOp op) { outer.push_back(op); });
    for (linalg::LinalgOp op : outer) {
      if (op.getNumParallelLoops() == 0) {
        launchSingle(op, blockSize);
        rewriter.setInsertionPoint(op);
        if (failed(linalg::linalgOpToLoops(rewriter, op))) {
          op->emitOpError("could not be lowered to loops for a GPU thread");
          return signalPassFailure();
        }
        rewriter.eraseOp(op);
        continue;
      }
      rewriter.setInsertionPoint(op);
      FailureOr<linalg::LinalgLoops> loops =
          linalg::linalgOpToParallelLoops(rewriter, op);
      if (failed(loops) || loops->empty() ||
          !isa<scf::ParallelOp>(loops->front())) {
        op->emitOpError("could not be lowered to parallel loops for the GPU");
        return signalPassFailure();
      }
      rewriter.eraseOp(op);
      if (failed(
              launchParallel(cast<scf::ParallelOp>(loops->front()), blockSize)))
        return signalPassFailure();
    }

    // 3. The fused kernels: one thread per (batch, head) slice.
    SmallVector<scf::ForallOp> foralls;
    module.walk([&](scf::ForallOp op) {
      if (!op->getParentOfType<scf::ForallOp>())
        foralls.push_back(op);
    });
    for (scf::ForallOp forall : foralls) {
      if (forall.getNumResults() != 0) {
        forall.emitOpError("on tensors cannot be mapped to GPU threads");
        return signalPassFailure();
      }
      rewriter.setInsertionPoint(forall);
      scf::ParallelOp parallel;
      if (failed(scf::forallToParallelLoop(rewriter, forall, &parallel)) ||
          failed(launchParallel(parallel, blockSize)))
        return signalPassFailure();
    }
    // Other parallel loops: those of the host become kernels; nested ones
    // (inside a thread) run in order.
    SmallVector<scf::ParallelOp> host, nested;
    module.walk([&](scf::ParallelOp op) {
      if (!where.inKernel(op) && !op->getParentOfType<scf::ParallelOp>())
        host.push_back(op);
    });
    for (scf::ParallelOp op : host)
      if (failed(launchParallel(op, blockSize)))
        return signalPassFailure();
    module.walk([&](scf::ParallelOp op) { nested.push_back(op); });
    for (scf::ParallelOp op : nested) {
      if (op.getNumReductions() != 0) {
        op.emitOpError("with reductions is not supported by the cuda target");
        return signalPassFailure();
      }
      rewriter.setInsertionPoint(op);
      if (failed(scf::parallelForToNestedFors(rewriter, op)))
        return signalPassFailure();
    }

    // 4. Buffers: private inside kernels, managed memory where a kernel
    //    touches them.
    WalkResult result = module.walk([&](Operation *op) -> WalkResult {
      if (auto alloc = dyn_cast<memref::AllocOp>(op)) {
        OpBuilder b(op);
        if (where.inKernel(op)) {
          // Small buffers in the thread's registers or local memory; larger
          // ones (a chunk's states) on the device heap (malloc in the
          // kernel, sized by the runtime): a thread's local memory is at
          // most 512 KiB, and a fused kernel's buffers are all live at once.
          if (!isPrivate(alloc.getType()))
            return WalkResult::advance();
          Value a = memref::AllocaOp::create(b, op->getLoc(), alloc.getType());
          alloc.replaceAllUsesWith(a);
          op->erase();
          return WalkResult::skip();
        }
        // Every buffer of the host: its deallocation (the ownership-based
        // one of buffer-deallocation-pipeline frees the base buffer of
        // views, loop arguments and call results) cannot tell the host's
        // from the device's.
        Value a = allocShared(b, op->getLoc(), alloc.getType(),
                              alloc.getDynamicSizes());
        alloc.replaceAllUsesWith(a);
        op->erase();
        return WalkResult::skip();
      }
      if (auto dealloc = dyn_cast<memref::DeallocOp>(op)) {
        Value buf = dealloc.getMemref();
        Operation *def = buf.getDefiningOp();
        if (where.inKernel(op)) {
          if (!def || !where.inKernel(def))
            return op->emitOpError("inside a GPU kernel of a buffer "
                                   "allocated outside it is not supported "
                                   "by the cuda target");
          if (isa<memref::AllocaOp>(def)) // made private above
            op->erase();
          return WalkResult::skip();
        }
        OpBuilder b(op);
        freeShared(b, op->getLoc(), freeFn, buf);
        op->erase();
        return WalkResult::skip();
      }
      if (auto global = dyn_cast<memref::GetGlobalOp>(op)) {
        if (where.inKernel(op) || !reachesDevice(where, global))
          return WalkResult::advance();
        OpBuilder b(op);
        b.setInsertionPointAfter(op);
        Value a = allocShared(b, op->getLoc(), global.getType(), {});
        global.getResult().replaceAllUsesExcept(a, {});
        memref::CopyOp::create(b, op->getLoc(), global, a);
        deallocAtEnd(freeFn, a, op->getBlock());
        return WalkResult::advance();
      }
      if (auto alloca = dyn_cast<memref::AllocaOp>(op)) {
        if (where.inKernel(op) || !reachesDevice(where, alloca))
          return WalkResult::advance();
        if (!alloca.getType().hasStaticShape())
          return op->emitOpError("of dynamic shape is used by a GPU kernel; "
                                 "the cuda target does not support it");
        OpBuilder b(op);
        Value a = allocShared(b, op->getLoc(), alloca.getType(), {});
        alloca.replaceAllUsesWith(a);
        deallocAtEnd(freeFn, a, op->getBlock());
        op->erase();
        return WalkResult::skip();
      }
      return WalkResult::advance();
    });
    if (result.wasInterrupted())
      signalPassFailure();
  }
};

} // namespace

namespace {

struct MergeGPUModules : nl::impl::MergeGPUModulesBase<MergeGPUModules> {
  void runOnOperation() override {
    ModuleOp module = getOperation();
    SmallVector<gpu::GPUModuleOp> gpuModules(module.getOps<gpu::GPUModuleOp>());
    if (gpuModules.size() < 2)
      return;
    gpu::GPUModuleOp into = gpuModules.front();
    // Names are tracked in sets, and uses renamed in one walk: a model has
    // thousands of kernels, and a symbol lookup or a use replacement per
    // kernel walks the whole module (quadratic).
    llvm::StringSet<> taken;
    for (Operation &op : into.getBody()->getOperations())
      if (auto symbol = dyn_cast<SymbolOpInterface>(op))
        taken.insert(symbol.getName());
    for (gpu::GPUModuleOp from : llvm::drop_begin(gpuModules)) {
      SmallVector<gpu::GPUFuncOp> fns(from.getOps<gpu::GPUFuncOp>());
      if (fns.size() != 1) {
        from.emitOpError("holds more than one kernel; only the modules of "
                         "gpu-kernel-outlining (one kernel each) are merged");
        return signalPassFailure();
      }
      if (taken.contains(from.getSymName())) {
        from.emitOpError("cannot be merged: its name is taken in @")
            << into.getSymName();
        return signalPassFailure();
      }
      fns.front().setName(from.getSymName());
      // The constants a kernel reads (memref.global) are copies of the host
      // module's: one of each name is kept.
      for (Operation &op :
           llvm::make_early_inc_range(from.getBody()->getOperations())) {
        auto symbol = dyn_cast<SymbolOpInterface>(op);
        if (!isa<gpu::GPUFuncOp>(op) && symbol &&
            taken.contains(symbol.getName()))
          continue;
        op.moveBefore(into.getBody(), into.getBody()->end());
        if (symbol)
          taken.insert(symbol.getName());
      }
    }
    // PTX names are [A-Za-z0-9_$]: nl's `f.chunk0` becomes `f_chunk0`.
    llvm::StringMap<StringAttr> kernelNames; // old kernel name -> new
    DenseMap<StringAttr, StringAttr> renamed;
    SmallVector<std::pair<SymbolOpInterface, StringAttr>> toRename;
    for (Operation &op : into.getBody()->getOperations()) {
      auto symbol = dyn_cast<SymbolOpInterface>(op);
      if (!symbol)
        continue;
      std::string name = symbol.getName().str();
      for (char &c : name)
        if (!llvm::isAlnum(c) && c != '_' && c != '$')
          c = '_';
      std::string unique = name;
      for (int i = 0; unique != symbol.getName() && taken.contains(unique); ++i)
        unique = name + "_" + std::to_string(i);
      StringAttr newName = StringAttr::get(&getContext(), unique);
      if (isa<gpu::GPUFuncOp>(op))
        kernelNames[symbol.getName()] = newName;
      if (newName == symbol.getNameAttr())
        continue;
      taken.insert(unique);
      renamed[symbol.getNameAttr()] = newName;
      toRename.push_back({symbol, newName});
    }
    AttrTypeReplacer replacer;
    replacer.addReplacement([&](SymbolRefAttr ref) -> std::optional<Attribute> {
      auto it = renamed.find(ref.getRootReference());
      if (it == renamed.end())
        return std::nullopt;
      return SymbolRefAttr::get(it->second, ref.getNestedReferences());
    });
    replacer.recursivelyReplaceElementsIn(into, /*replaceAttrs=*/true,
                                          /*replaceLocs=*/false,
                                          /*replaceTypes=*/false);
    for (auto [symbol, newName] : toRename)
      symbol.setName(newName);
    module.walk([&](gpu::LaunchFuncOp launch) {
      StringAttr mod = launch.getKernel().getRootReference();
      StringAttr fn =
          mod == into.getSymNameAttr() ? launch.getKernelName() : mod;
      launch.setKernelAttr(SymbolRefAttr::get(
          into.getSymNameAttr(),
          {FlatSymbolRefAttr::get(kernelNames.lookup(fn.getValue()))}));
    });
    for (gpu::GPUModuleOp from : llvm::drop_begin(gpuModules))
      from.erase();
  }
};

} // namespace
