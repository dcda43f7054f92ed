//===- Kernels.h - which ops belong to a fused kernel ----------*- C++ -*-===//
//
// The fused memory-update kernels are the bodies of scf.forall loops over
// (batch, head) slices (fuse-memory-updates), and the functions those bodies
// call (nl-outline-checkpoints makes each chunk's body a private function,
// called once per slice). Passes that rewrite the dense ops of a model
// (convert-contractions-to-blas, nl-fold-transposes) leave the kernels'
// ops alone: their products are small, stay in cache, and are register-
// tiled by nl-vectorize-contractions, where a BLAS call per slice and chunk
// costs more than it computes.
//
//===----------------------------------------------------------------------===//

#ifndef NL_DIALECT_NL_UTILS_KERNELS_H
#define NL_DIALECT_NL_UTILS_KERNELS_H

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/IR/BuiltinOps.h"
#include "llvm/ADT/DenseSet.h"

namespace mlir::nl {

/// The ops of `module` that belong to a fused kernel: those inside an
/// scf.forall or scf.parallel, and those of every function called, directly
/// or through other functions, from inside one.
class KernelOps {
public:
  explicit KernelOps(ModuleOp module) {
    SmallVector<func::FuncOp> work;
    auto mark = [&](func::CallOp call) {
      auto callee = module.lookupSymbol<func::FuncOp>(call.getCallee());
      if (callee && kernels.insert(callee).second)
        work.push_back(callee);
    };
    module.walk([&](func::CallOp call) {
      if (inLoop(call))
        mark(call);
    });
    while (!work.empty())
      work.pop_back_val().walk([&](func::CallOp call) { mark(call); });
  }

  bool contains(Operation *op) const {
    if (inLoop(op))
      return true;
    auto f = op->getParentOfType<func::FuncOp>();
    return f && kernels.contains(f);
  }

private:
  static bool inLoop(Operation *op) {
    return op->getParentOfType<scf::ForallOp>() ||
           op->getParentOfType<scf::ParallelOp>();
  }

  llvm::DenseSet<Operation *> kernels;
};

} // namespace mlir::nl

#endif // NL_DIALECT_NL_UTILS_KERNELS_H
