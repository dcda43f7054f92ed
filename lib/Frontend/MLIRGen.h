//===- MLIRGen.h - .nl AST to the nl dialect --------------------*- C++ -*-===//

#ifndef NL_FRONTEND_MLIRGEN_H
#define NL_FRONTEND_MLIRGEN_H

#include "AST.h"

#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/OwningOpRef.h"

namespace nlc::frontend {

struct MLIRGenOptions {
  /// Float tensors are f64 instead of f32 (gradient checks in float64).
  bool float64 = false;
  /// The limit on the operations of the model's nl IR (block instances and
  /// Newton-Schulz iterations unrolled): compile time and memory grow with
  /// it (docs/nlc.md, "Compile-time limits"); nlc --max-ops sets it.
  int64_t maxOps = 512;
};

/// Builds `builtin.module { nl.model @NAME { levels, read functions,
/// func.func @step } }` from a parsed file. Every op carries the
/// FileLineColLoc of the source construct it comes from. Checks names,
/// shapes, types and frequencies; returns null after reporting errors to
/// `diags`.
mlir::OwningOpRef<mlir::ModuleOp>
mlirGen(mlir::MLIRContext &context, const File &file, const SourceFiles &files,
        Diagnostics &diags, const MLIRGenOptions &options = {});

} // namespace nlc::frontend

#endif // NL_FRONTEND_MLIRGEN_H
