//===- Outlining.h - functions made of ops taken out of another -*- C++ -*-===//
//
// nl-outline-parallel-regions and nl-split-functions move ops of a function
// into private functions of their own, called in their place, so that
// LLVM's passes see smaller functions.
//
//===----------------------------------------------------------------------===//

#ifndef NL_DIALECT_NL_TRANSFORMS_OUTLINING_H
#define NL_DIALECT_NL_TRANSFORMS_OUTLINING_H

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/IRMapping.h"
#include "mlir/IR/SymbolTable.h"

namespace mlir::nl {

/// A private function `name` with no results, placed after `after` in
/// `symbols`' table (renamed if the name is taken), for ops taken out of
/// another function that read the values `used` from it. Its arguments are
/// the `used` values that are not constants, in order (returned in
/// `arguments`: what its call passes); a constant (ConstantLike, no
/// operands, no regions) is cloned at the start of its entry block instead.
/// `mapping` maps every `used` value to its value in the new function. The
/// caller adds the body after the clones, then the terminator.
func::FuncOp createOutlinedFunction(SymbolTable &symbols, Operation *after,
                                    Location loc, const Twine &name,
                                    ArrayRef<Value> used, IRMapping &mapping,
                                    SmallVectorImpl<Value> &arguments);

} // namespace mlir::nl

#endif // NL_DIALECT_NL_TRANSFORMS_OUTLINING_H
