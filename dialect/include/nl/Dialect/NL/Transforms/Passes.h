//===- Passes.h - passes of the nl dialect ----------------------*- C++ -*-===//

#ifndef NL_DIALECT_NL_TRANSFORMS_PASSES_H
#define NL_DIALECT_NL_TRANSFORMS_PASSES_H

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/Pass/Pass.h"

namespace mlir::nl {

#define GEN_PASS_DECL
#include "nl/Dialect/NL/Transforms/Passes.h.inc"

#define GEN_PASS_REGISTRATION
#include "nl/Dialect/NL/Transforms/Passes.h.inc"

} // namespace mlir::nl

#endif // NL_DIALECT_NL_TRANSFORMS_PASSES_H
