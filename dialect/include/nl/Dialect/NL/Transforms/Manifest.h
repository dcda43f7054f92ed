//===- Manifest.h - describing a model for the runtime ----------*- C++ -*-===//
//
// Pieces of the manifest that nl-export-entry-points writes (runtime/README.md)
// that a driver also needs before the passes run.
//
//===----------------------------------------------------------------------===//

#ifndef NL_DIALECT_NL_TRANSFORMS_MANIFEST_H
#define NL_DIALECT_NL_TRANSFORMS_MANIFEST_H

#include "mlir/IR/Operation.h"
#include "llvm/Support/JSON.h"

namespace mlir::nl {

/// Every nl.level under `root`, slowest first (pre-order): name, every,
/// unit, parent, optimizer, memory (whether the level writes a memory).
/// Memory levels exist only before derive-inner-updates erases them, so a
/// driver describes them first.
llvm::json::Array describeLevels(Operation *root);

} // namespace mlir::nl

#endif // NL_DIALECT_NL_TRANSFORMS_MANIFEST_H
