//===- NLDialect.h - the nl dialect -----------------------------*- C++ -*-===//
//
// Public header of the nl dialect: include this to use its ops, types and
// attributes. See docs/dialect/NLOps.md for the generated reference.
//
//===----------------------------------------------------------------------===//

#ifndef NL_DIALECT_NL_IR_NLDIALECT_H
#define NL_DIALECT_NL_IR_NLDIALECT_H

#include "mlir/Bytecode/BytecodeOpInterface.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Bufferization/IR/BufferizableOpInterface.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Dialect/Traits.h"
#include "mlir/IR/BuiltinTypes.h"
#include "mlir/IR/Dialect.h"
#include "mlir/IR/OpDefinition.h"
#include "mlir/IR/OpImplementation.h"
#include "mlir/IR/SymbolTable.h"
#include "mlir/Interfaces/ControlFlowInterfaces.h"
#include "mlir/Interfaces/DestinationStyleOpInterface.h"
#include "mlir/Interfaces/InferTypeOpInterface.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"

#include "nl/Dialect/NL/IR/NLDialect.h.inc"
#include "nl/Dialect/NL/IR/NLEnums.h.inc"

#define GET_ATTRDEF_CLASSES
#include "nl/Dialect/NL/IR/NLAttrs.h.inc"

#define GET_TYPEDEF_CLASSES
#include "nl/Dialect/NL/IR/NLTypes.h.inc"

#include "nl/Dialect/NL/IR/NLInterfaces.h.inc"

namespace mlir::nl {
struct OptimizerKindInfo; // OptimizerKinds.h, included below the ops
} // namespace mlir::nl

#define GET_OP_CLASSES
#include "nl/Dialect/NL/IR/NLOps.h.inc"

#include "nl/Dialect/NL/IR/OptimizerKinds.h"

namespace mlir {
class DialectRegistry;
namespace nl {
/// Attaches DifferentiableOpInterface to the upstream ops that nl IR uses
/// beside its own (tensor.collapse_shape / expand_shape, arith.constant).
/// Tools call this before creating their MLIRContext.
void registerDifferentiableExternalModels(DialectRegistry &registry);
} // namespace nl
} // namespace mlir

#endif // NL_DIALECT_NL_IR_NLDIALECT_H
