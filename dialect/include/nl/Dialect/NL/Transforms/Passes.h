//===- Passes.h - passes of the nl dialect ----------------------*- C++ -*-===//

#ifndef NL_DIALECT_NL_TRANSFORMS_PASSES_H
#define NL_DIALECT_NL_TRANSFORMS_PASSES_H

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/Pass/Pass.h"

namespace mlir::nl {

#define GEN_PASS_DECL
#include "nl/Dialect/NL/Transforms/Passes.h.inc"

/// Prints the floating-point operations of one call of each public function
/// of `module` (linalg on tensors or buffers), one line each; what
/// nl-count-flops prints (its description gives the counting rules).
/// Warns at the location of what it cannot count.
void printFlopCounts(ModuleOp module, llvm::raw_ostream &os);

/// Records the same counts in `module`'s nl.manifest under "flops" (one
/// object per public function: contractions, attention, elementwise,
/// lower_bound), without warnings; a module without a manifest is left
/// alone. Fails on a manifest that is not a JSON object.
LogicalResult recordFlopCounts(ModuleOp module);

/// Runs `print` on the stream a printing pass's `output` option names:
/// stderr for "-", else the file, created or replaced (kept only when
/// `print` has run). A file that cannot be opened is an error at `op`,
/// prefixed with `passArgument`; the caller then signals pass failure.
LogicalResult
printToPassOutput(Operation *op, llvm::StringRef passArgument,
                  llvm::StringRef output,
                  llvm::function_ref<void(llvm::raw_ostream &)> print);

#define GEN_PASS_REGISTRATION
#include "nl/Dialect/NL/Transforms/Passes.h.inc"

} // namespace mlir::nl

#endif // NL_DIALECT_NL_TRANSFORMS_PASSES_H
