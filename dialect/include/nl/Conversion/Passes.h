//===- Passes.h - conversions out of the nl dialect -------------*- C++ -*-===//

#ifndef NL_CONVERSION_PASSES_H
#define NL_CONVERSION_PASSES_H

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/Pass/Pass.h"

namespace mlir::nl {

/// Patterns lowering every nl compute op to linalg/tensor/arith/math.
void populateNLToLinalgConversionPatterns(RewritePatternSet &patterns);

#define GEN_PASS_DECL
#include "nl/Conversion/Passes.h.inc"

#define GEN_PASS_REGISTRATION
#include "nl/Conversion/Passes.h.inc"

} // namespace mlir::nl

#endif // NL_CONVERSION_PASSES_H
