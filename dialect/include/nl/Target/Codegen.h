//===- Codegen.h - nlc's stages after the front end -------------*- C++ -*-===//
//
// From the nl dialect of a model to its entry points, linalg, the LLVM
// dialect of a target (TargetBackend.h), LLVM IR, an object file with a C
// header, or an executable linked with the runtime (runtime/README.md): one
// call per stage of the nlc driver.
//
//===----------------------------------------------------------------------===//

#ifndef NL_TARGET_CODEGEN_H
#define NL_TARGET_CODEGEN_H

#include "nl/Target/TargetBackend.h"

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
/// and the target's name into the manifest. `configure` adds the command line's
/// instrumentation to each pass manager.
mlir::LogicalResult
buildEntryPoints(mlir::ModuleOp module, const llvm::json::Array &levels,
                 llvm::StringRef target, bool fuse,
                 const std::function<void(mlir::PassManager &)> &configure);

/// The entry points -> linalg on tensors (buildNLToLinalgPipeline: the
/// first stage of lowerToLLVMDialect), for --emit=linalg. `rollChunks`:
/// schedule-levels rolls each level's chunk calls into loops;
/// `attentionKernels`: attention becomes nl.attention_kernel (the CPU
/// target with BLIS) instead of its decomposition.
mlir::LogicalResult
lowerToLinalg(mlir::ModuleOp module, bool rollChunks, bool attentionKernels,
              const std::function<void(mlir::PassManager &)> &configure);

/// The entry points -> the LLVM dialect of the host, by `target`'s
/// pipeline (nl-lower-to-llvm for the cpu, nl-lower-to-nvvm for cuda). The
/// module is verified after every pass with `verifyEach`, else once after
/// the last (verifying the whole module after each of about 60 passes took
/// a fifth of the stage's time on Hope).
mlir::LogicalResult
lowerToLLVMDialect(mlir::ModuleOp module, const mlir::nl::TargetBackend &target,
                   bool verifyEach,
                   const std::function<void(mlir::PassManager &)> &configure);

struct CodegenOptions {
  unsigned optLevel = 2;
  std::string output;    // file to write ("-" for stdout)
  bool emitLLVM = false; // LLVM IR text instead of an object
  bool header = false;   // also write <output>.h (--emit=obj)
  bool link = false;     // link an executable with the runtime (not with
                         // emitLLVM)
  const mlir::nl::TargetBackend *target = nullptr; // what lowered the module
  std::string argv0;    // nlc's path, to find the runtime
  bool timing = false;  // print LLVM's stage times
  std::string cpu;      // --mcpu: LLVM CPU name ("" or "native": the host)
  std::string features; // --mattr: "+avx2,-avx512f" on top of the CPU's
  unsigned jobs = 0;    // threads of an executable's LLVM optimization and
                        // code generation (0: every core)
};

/// The C header that --emit=obj writes beside `output`: <dir>/<stem>.h.
std::string headerPathFor(llvm::StringRef output);

/// Removes the temporaries that a killed `nlc -o output` leaves beside the
/// output (<output>.o.tmp, the object; <output>.tmp, the executable before
/// its rename): every run with that output names the same ones.
void removeStaleTemporaries(llvm::StringRef output);

/// Reports (on llvm::errs(), "nlc: error:") a --mcpu CPU or --mattr feature
/// that LLVM does not know for the host's triple; "" and "native" name the
/// host. emitNative checks the same; this lets --check and --emit=ptx,
/// which generate no host code, refuse them too.
mlir::LogicalResult checkMachineOptions(const std::string &cpu,
                                        const std::string &features);

/// The LLVM dialect -> LLVM IR with the packed entry points nl_<fn>(void **)
/// and nl_manifest, optimized for the host CPU (or options.cpu and
/// options.features), then written as IR, an
/// object (+ header) or a linked executable. Reports errors on llvm::errs()
/// prefixed with "nlc: error:" and returns failure.
mlir::LogicalResult emitNative(mlir::ModuleOp module,
                               const CodegenOptions &options);

} // namespace nlc

#endif // NL_TARGET_CODEGEN_H
