//===- ParallelizeLinalg.cpp - large linalg ops over threads --------------===//
//
// Tiles the outermost parallel loop of each large linalg op (outside the
// fused kernels) into an scf.forall of one tile per OpenMP thread. See the
// pass description in Passes.td.
//
//===----------------------------------------------------------------------===//

#include "nl/Dialect/NL/Transforms/Passes.h"

#include "mlir/Dialect/Affine/IR/AffineOps.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Func/Utils/Utils.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/SCF/Transforms/TileUsingInterface.h"
#include "mlir/IR/PatternMatch.h"
#include "llvm/ADT/DenseSet.h"

namespace mlir::nl {
#define GEN_PASS_DEF_PARALLELIZELINALG
#include "nl/Dialect/NL/Transforms/Passes.h.inc"
} // namespace mlir::nl

using namespace mlir;

namespace {

constexpr llvm::StringLiteral kThreads = "omp_get_max_threads";

struct ParallelizeLinalgPass
    : public mlir::nl::impl::ParallelizeLinalgBase<ParallelizeLinalgPass> {
  using Base::Base;

  /// Whether `op` is worth splitting along its first loop (see Passes.td).
  bool eligible(linalg::LinalgOp op) const {
    if (!op.hasPureBufferSemantics() || op.getNumLoops() < 2 ||
        op->getParentOfType<scf::ForallOp>() ||
        op->getParentOfType<scf::ParallelOp>() ||
        !isa<TilingInterface>(op.getOperation()))
      return false;
    if (op.getIteratorTypesArray().front() != utils::IteratorType::parallel)
      return false;
    SmallVector<int64_t> ranges = op.getStaticLoopRanges();
    if (llvm::any_of(ranges, ShapedType::isDynamic) || ranges.front() < 2)
      return false;
    int64_t n = 1;
    for (int64_t r : ranges)
      n *= r;
    return n >= minElements;
  }

  /// Whether `op` is in a func.func named in `fns`.
  static bool inFunctionOf(Operation *op,
                           const llvm::DenseSet<StringAttr> &fns) {
    auto fn = op->getParentOfType<func::FuncOp>();
    return fn && fns.contains(fn.getSymNameAttr());
  }

  /// The functions that only ever run inside a parallel loop: every call
  /// of them is inside an `scf.forall`/`scf.parallel` or in another such
  /// function (e.g. a fused memory kernel's chunk function, called once per
  /// (batch, head) slice). A parallel region there would be nested inside
  /// the slices' and run serialized: no threads gained, only the OpenMP
  /// runtime's fork on every call of the op.
  static llvm::DenseSet<StringAttr> nestedFunctions(ModuleOp module) {
    llvm::DenseMap<StringAttr, SmallVector<func::CallOp>> callsOf;
    module.walk([&](func::CallOp call) {
      callsOf[call.getCalleeAttr().getAttr()].push_back(call);
    });
    // The greatest fixpoint: start from every called function and drop one
    // with a call outside a parallel loop and outside the set, until none is
    // dropped (a function that calls itself keeps its other callers' say).
    llvm::DenseSet<StringAttr> nested;
    for (auto &[callee, calls] : callsOf)
      nested.insert(callee);
    for (bool changed = true; changed;) {
      changed = false;
      for (auto &[callee, calls] : callsOf) {
        if (!nested.contains(callee))
          continue;
        bool allNested = llvm::all_of(calls, [&](func::CallOp call) {
          return call->getParentOfType<scf::ForallOp>() ||
                 call->getParentOfType<scf::ParallelOp>() ||
                 inFunctionOf(call, nested);
        });
        if (!allNested) {
          nested.erase(callee);
          changed = true;
        }
      }
    }
    return nested;
  }

  void runOnOperation() override {
    ModuleOp module = getOperation();
    llvm::DenseSet<StringAttr> nested = nestedFunctions(module);
    SmallVector<linalg::LinalgOp> ops;
    module.walk([&](linalg::LinalgOp op) {
      if (eligible(op) && !inFunctionOf(op, nested))
        ops.push_back(op);
    });
    if (ops.empty())
      return;
    MLIRContext *ctx = &getContext();
    IRRewriter rewriter(ctx);
    FailureOr<func::FuncOp> threadsFn = func::lookupOrCreateFnDecl(
        rewriter, module, kThreads, {}, nullptr, rewriter.getI32Type());
    if (failed(threadsFn)) // reported at the function of that name
      return signalPassFailure();
    for (linalg::LinalgOp op : ops) {
      rewriter.setInsertionPoint(op);
      Location loc = op.getLoc();
      Value n = func::CallOp::create(rewriter, loc, *threadsFn, ValueRange{})
                    .getResult(0);
      n = arith::IndexCastOp::create(rewriter, loc, rewriter.getIndexType(), n);
      SmallVector<OpFoldResult> numThreads(op.getNumLoops(),
                                           rewriter.getIndexAttr(0));
      numThreads.front() = n;
      scf::SCFTilingOptions options;
      options.setLoopType(scf::SCFTilingOptions::LoopType::ForallOp);
      options.setNumThreads(numThreads);
      FailureOr<scf::SCFTilingResult> tiled = scf::tileUsingSCF(
          rewriter, cast<TilingInterface>(op.getOperation()), options);
      if (failed(tiled)) {
        op->emitError("nl-parallelize-linalg: could not tile the op over "
                      "threads");
        return signalPassFailure();
      }
      rewriter.eraseOp(op);
    }
  }
};

} // namespace
