//===- Pipelines.cpp - nlc's registered pass pipelines --------------------===//

#include "nl/Pipelines/Pipelines.h"
#include "nl/Conversion/Passes.h"

#include "mlir/Pass/PassRegistry.h"

using namespace mlir;

/// nl -> linalg on tensors, fused and scheduled: the first stage of
/// nl-lower-to-llvm and what `nlc --emit=linalg` prints. CSE runs here
/// only: nl.checkpoint bodies are isolated regions before
/// convert-nl-to-linalg inlines them, so the backward pass's recomputation
/// is not merged with the forward pass (which would keep every chunk's
/// per-token states alive, O(T) memory). CSE before schedule-levels makes
/// the chunks' shared constants one value, which rolling needs.
static std::string nlToLinalg(bool rollChunks) {
  return std::string("fuse-memory-updates,canonicalize,cse,"
                     "schedule-levels{roll-chunks=") +
         (rollChunks ? "1" : "0") +
         "},canonicalize,cse,convert-nl-to-linalg,canonicalize,"
         "linalg-fuse-elementwise-ops,nl-fuse-multi-use-elementwise,"
         "linalg-fold-unit-extent-dims,"
         "canonicalize,nl-vectorize-contractions,canonicalize";
}

LogicalResult mlir::nl::buildNLToLinalgPipeline(OpPassManager &pm,
                                                bool rollChunks) {
  return parsePassPipeline(nlToLinalg(rollChunks), pm);
}

LogicalResult
mlir::nl::buildNLToLLVMPipeline(OpPassManager &pm,
                                const NLToLLVMPipelineOptions &options) {
  // The upstream passes are named by their registered pipeline text; the
  // order follows design/MLIR_NOTES.md §2 (expand-strided-metadata before
  // lower-affine; convert-bufferization-to-memref after the deallocation
  // pipeline, which creates bufferization.clone).
  std::string text = nlToLinalg(options.rollChunks) +
                     ",one-shot-bufferize{bufferize-function-boundaries "
                     "function-boundary-type-conversion=identity-layout-map "
                     "allow-return-allocs-from-loops},";
  if (options.resultsToOutParams)
    text += "buffer-results-to-out-params{modify-public-functions "
            "hoist-static-allocs},";
  text += "buffer-deallocation-pipeline,"
          "func.func(optimize-allocation-liveness),"
          "convert-bufferization-to-memref,convert-memref-copy-to-linalg,";
  // After the deallocations are placed: a call sees buffers only through
  // their pointers.
  if (options.blas)
    text += std::string("convert-contractions-to-blas{parallel=") +
            (options.openmp ? "1" : "0") + "},";
  if (options.openmp)
    text += "nl-parallelize-linalg,";
  text += "convert-linalg-to-loops,convert-vector-to-scf{full-unroll},"
          "expand-strided-metadata,lower-affine,";
  if (options.openmp)
    text +=
        "scf-forall-to-parallel,convert-scf-to-openmp,nl-inline-alloca-scopes,";
  text += "nl-approximate-math,convert-scf-to-cf,convert-vector-to-llvm,"
          "convert-math-to-llvm,"
          "convert-math-to-libm,convert-to-llvm,reconcile-unrealized-casts";
  return parsePassPipeline(text, pm);
}

void mlir::nl::registerNLPipelines() {
  PassPipelineRegistration<NLToLLVMPipelineOptions>(
      "nl-lower-to-llvm",
      "Lower nl compute ops to the LLVM dialect on the CPU (linalg, "
      "bufferization, loops, LLVM)",
      [](OpPassManager &pm, const NLToLLVMPipelineOptions &options) {
        if (failed(buildNLToLLVMPipeline(pm, options)))
          llvm::report_fatal_error("nl-lower-to-llvm: unknown pass name");
      });
}
