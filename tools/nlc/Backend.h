//===- Backend.h - nlc's CPU code generation ---------------------*- C++
//-*-===//
//
// From the nl dialect of a model to linalg, LLVM IR, an object file with a C
// header, or an executable linked with the runtime (runtime/README.md).
//
//===----------------------------------------------------------------------===//

#ifndef NLC_BACKEND_H
#define NLC_BACKEND_H

#include "mlir/IR/BuiltinOps.h"
#include "mlir/Pass/PassManager.h"
#include "llvm/ADT/StringRef.h"
#include "llvm/Support/JSON.h"

#include <functional>
#include <string>

namespace nlc {

/// nl -> the entry points of a trained model (derive-inner-updates,
/// build-train-step, fuse-memory-updates unless `fuse` is false,
/// nl-outline-checkpoints, nl-export-entry-points), with `levels` written
/// into the manifest. `configure` adds the command line's instrumentation to
/// each pass manager.
mlir::LogicalResult
buildEntryPoints(mlir::ModuleOp module, const llvm::json::Array &levels,
                 bool fuse,
                 const std::function<void(mlir::PassManager &)> &configure);

/// The entry points -> linalg on tensors (buildNLToLinalgPipeline: the
/// first stage of lowerToLLVMDialect), for --emit=linalg. `rollChunks`:
/// schedule-levels rolls each level's chunk calls into loops.
mlir::LogicalResult
lowerToLinalg(mlir::ModuleOp module, bool rollChunks,
              const std::function<void(mlir::PassManager &)> &configure);

/// The entry points -> the LLVM dialect (nl-lower-to-llvm with results
/// returned through out-parameters; with `openmp`, the fused chunk loops
/// over (batch, head) run on OpenMP threads; with `blas`, the plain dense
/// products call the runtime's nlrt_?gemm over BLIS).
mlir::LogicalResult
lowerToLLVMDialect(mlir::ModuleOp module, bool openmp, bool blas,
                   bool rollChunks,
                   const std::function<void(mlir::PassManager &)> &configure);

struct CodegenOptions {
  unsigned optLevel = 2;
  std::string output;    // file to write ("-" for stdout)
  bool emitLLVM = false; // LLVM IR text instead of an object
  bool header = false;   // also write <output>.h (--emit=obj)
  bool link = false;     // link an executable with the runtime
  bool openmp = false;   // the module calls OpenMP's runtime (libomp)
  bool blas = false;     // the module calls nlrt_?gemm (libnlrt.a, BLIS)
  std::string argv0;     // nlc's path, to find the runtime
  bool timing = false;   // print LLVM's stage times
  std::string cpu;       // --mcpu: LLVM CPU name ("" or "native": the host)
  std::string features;  // --mattr: "+avx2,-avx512f" on top of the CPU's
};

/// The C header that --emit=obj writes beside `output`: <dir>/<stem>.h.
std::string headerPathFor(llvm::StringRef output);

/// Removes the temporaries that a killed `nlc -o output` leaves beside the
/// output (<output>.o.tmp, the object; <output>.tmp, the executable before
/// its rename): every run with that output names the same ones.
void removeStaleTemporaries(llvm::StringRef output);

/// The LLVM dialect -> LLVM IR with the packed entry points nl_<fn>(void **)
/// and nl_manifest, optimized for the host CPU (or options.cpu and
/// options.features), then written as IR, an
/// object (+ header) or a linked executable. Reports errors on llvm::errs()
/// prefixed with "nlc: error:" and returns failure.
mlir::LogicalResult emitNative(mlir::ModuleOp module,
                               const CodegenOptions &options);

} // namespace nlc

#endif // NLC_BACKEND_H
