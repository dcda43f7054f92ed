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
  /// When > 0, builds a stream function instead of the training step: batch
  /// 1, tokens [1, streamTokens] -> logits [1, streamTokens, vocab], each
  /// causal convolution and attention reading and returning its cache of
  /// the tokens before the call (arguments and results with `nl.stream`);
  /// memories get theirs from derive-inner-updates (docs/streaming.md).
  int64_t streamTokens = 0;
};

/// Builds `builtin.module { nl.model @NAME { levels, read functions,
/// func.func @step } }` from a parsed file. Every op carries the
/// FileLineColLoc of the source construct it comes from. Checks names,
/// shapes, types and frequencies; returns null after reporting errors to
/// `diags`.
mlir::OwningOpRef<mlir::ModuleOp>
mlirGen(mlir::MLIRContext &context, const File &file, const SourceFiles &files,
        Diagnostics &diags, const MLIRGenOptions &options = {});

/// Adds the stream entry points to the nl.model of `module` (built by
/// mlirGen from `file`): `@decode` (one token) and `@prefill` (the
/// smallest multiple of every memory level's chunk size that reaches 64
/// tokens or the context), each a function with `nl.stream` = "decode" or
/// "prefill". Returns false, with the reason in `why`, when the model has
/// none: a loss that is not a cross-entropy of logits, rows of real values,
/// or parameters whose shapes depend on the context.
bool addStreamEntries(mlir::ModuleOp module, const File &file,
                      const SourceFiles &files, const MLIRGenOptions &options,
                      std::string &why);

} // namespace nlc::frontend

#endif // NL_FRONTEND_MLIRGEN_H
