//===- Calls.h - the calls of a private function ----------------*- C++ -*-===//
//
// Passes that change a private function's signature (nl-drop-equivalent-
// results, nl-slice-argument-layouts) must see all of its calls: a
// function whose symbol is used by anything but func.call is left alone.
//
//===----------------------------------------------------------------------===//

#ifndef NL_DIALECT_NL_TRANSFORMS_CALLS_H
#define NL_DIALECT_NL_TRANSFORMS_CALLS_H

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/BuiltinOps.h"

#include <optional>

namespace mlir::nl {

/// The `func.call`s of `fn` in `module`, or nothing when its symbol has
/// another use (an address taken, a reference in an attribute).
std::optional<SmallVector<func::CallOp>> callsOf(func::FuncOp fn,
                                                 ModuleOp module);

} // namespace mlir::nl

#endif // NL_DIALECT_NL_TRANSFORMS_CALLS_H
