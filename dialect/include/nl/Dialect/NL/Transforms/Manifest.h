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

/// Rewrites `module`'s nl.manifest (the JSON string attribute that
/// nl-export-entry-points writes; it must be there) with `update` applied
/// to its top-level object. Fails, with an error at `module`, where the
/// attribute is not a JSON object.
LogicalResult
updateManifest(Operation *module,
               llvm::function_ref<void(llvm::json::Object &)> update);

} // namespace mlir::nl

#endif // NL_DIALECT_NL_TRANSFORMS_MANIFEST_H
