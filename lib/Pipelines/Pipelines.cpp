//===- Pipelines.cpp - nlc's registered pass pipelines --------------------===//

#include "nl/Pipelines/Pipelines.h"
#include "nl/Conversion/Passes.h"
#include "nl/Dialect/NL/Transforms/Passes.h"

#include "mlir/Conversion/Passes.h"
#include "mlir/Dialect/GPU/Pipelines/Passes.h"
#include "mlir/Dialect/GPU/Transforms/Passes.h"
#include "mlir/Dialect/MemRef/Transforms/Passes.h"
#include "mlir/Transforms/Passes.h"

#include "mlir/Pass/PassRegistry.h"

using namespace mlir;

/// nl -> linalg on tensors, fused and scheduled: the first stage of
/// nl-lower-to-llvm and what `nlc --emit=linalg` prints. CSE runs here
/// only: nl.checkpoint bodies are isolated regions before
/// convert-nl-to-linalg inlines them, so the backward pass's recomputation
/// is not merged with the forward pass (which would keep every chunk's
/// per-token states alive, O(T) memory). CSE before schedule-levels makes
/// the chunks' shared constants one value, which rolling needs.
static std::string nlToLinalg(bool rollChunks, bool attentionKernels) {
  return std::string("fuse-memory-updates,canonicalize,cse,"
                     "schedule-levels{roll-chunks=") +
         (rollChunks ? "1" : "0") +
         "},canonicalize,cse,convert-nl-to-linalg{attention-kernels=" +
         (attentionKernels ? "1" : "0") +
         "},canonicalize,"
         "nl-fuse-elementwise,nl-fuse-multi-use-elementwise,"
         "nl-fold-transposes,"
         "linalg-fold-unit-extent-dims,"
         "canonicalize";
}

/// The FLOPs of each entry point, counted on linalg on tensors (what
/// `nlc --emit=flops` prints), into the manifest: an executable's `info`
/// and `train` report them.
static constexpr const char *kCountFlops = "nl-count-flops{to-manifest=1},";

LogicalResult mlir::nl::buildNLToLinalgPipeline(OpPassManager &pm,
                                                bool rollChunks,
                                                bool attentionKernels) {
  return parsePassPipeline(nlToLinalg(rollChunks, attentionKernels), pm);
}

/// Bufferization with identity layouts at function boundaries (each result
/// its own tensor first, nl-distinct-results; scans that update their
/// carried tensor in place, nl-update-in-place; the constants' globals
/// named and ordered by first use, nl-number-constant-globals; results
/// through out-parameters with `resultsToOutParams`), deallocation, static
/// copies as linalg.copy: the stage both targets share, from linalg on
/// tensors to memrefs.
static std::string bufferize(bool resultsToOutParams) {
  std::string text = "nl-distinct-results,nl-update-in-place,"
                     "one-shot-bufferize{bufferize-function-boundaries "
                     "function-boundary-type-conversion=identity-layout-map "
                     "allow-return-allocs-from-loops},"
                     "nl-number-constant-globals,";
  if (resultsToOutParams)
    text += "buffer-results-to-out-params{modify-public-functions "
            "hoist-static-allocs},";
  // MLIR's buffer-deallocation-pipeline, with its function-local passes
  // nested on func.func so that they run on the functions in parallel
  // (bufferization-lower-deallocations may add a helper function to the
  // module, and stays on it).
  return text + "expand-realloc{emit-deallocs=0},func.func(canonicalize),"
                "ownership-based-buffer-deallocation,"
                "func.func(canonicalize,buffer-deallocation-simplification),"
                "bufferization-lower-deallocations,func.func(cse,canonicalize),"
                "func.func(optimize-allocation-liveness),"
                "convert-bufferization-to-memref,convert-memref-copy-to-linalg";
}

LogicalResult
mlir::nl::buildNLToNVVMPipeline(OpPassManager &pm,
                                const NLToNVVMPipelineOptions &options) {
  // The target-neutral stages, as for the CPU (without its register
  // tiling, BLIS and OpenMP).
  std::string text = nlToLinalg(options.rollChunks,
                                /*attentionKernels=*/false) +
                     "," + kCountFlops + bufferize(/*resultsToOutParams=*/true);
  if (failed(parsePassPipeline(text, pm)))
    return failure();
  // Every linalg op and scf.forall a kernel, outlined into one gpu.module;
  // the host code calls the runtime's mgpu* functions
  // (runtime/lib/Cuda.cpp).
  pm.addPass(createConvertLoopsToGPU());
  pm.addPass(createCanonicalizerPass());
  pm.addPass(createCSEPass());
  pm.addPass(memref::createExpandStridedMetadataPass());
  pm.addPass(createLowerAffinePass());
  pm.addPass(createApproximateMath());
  pm.addPass(createCanonicalizerPass());
  pm.addPass(createGpuKernelOutliningPass());
  pm.addPass(createMergeGPUModules());
  // NVVM, PTX for the chip (LLVM's NVPTX back end), ptxas (fatbin); the
  // host to the LLVM dialect.
  gpu::GPUToNVVMPipelineOptions nvvm;
  nvvm.cubinChip = options.chip;
  nvvm.cubinFeatures = "+ptx81"; // kernel parameters over 4352 bytes
  nvvm.cubinFormat = options.format;
  nvvm.optLevel = 3;
  gpu::buildLowerToNVVMPassPipeline(pm, nvvm);
  return success();
}

LogicalResult
mlir::nl::buildNLToLLVMPipeline(OpPassManager &pm,
                                const NLToLLVMPipelineOptions &options) {
  // The upstream passes are named by their registered pipeline text; the
  // order follows design/MLIR_NOTES.md §2 (expand-strided-metadata before
  // lower-affine; convert-bufferization-to-memref after the deallocation
  // pipeline, which creates bufferization.clone).
  // nl-vectorize-contractions: the fused kernels' products tiled for the
  // CPU's registers (AVX-512 or AVX2), on tensors before bufferization.
  // With BLIS, attention and its gradient run on the runtime's fused
  // kernels (in the same library as the BLAS calls; their float64 block
  // products are BLIS calls).
  bool kernels = options.blas && options.fusedAttention;
  std::string text =
      nlToLinalg(options.rollChunks, kernels) + "," + kCountFlops +
      "nl-vectorize-contractions,func.func(canonicalize)," +
      bufferize(options.resultsToOutParams) + ",func.func(nl-plan-buffers),";
  // After the deallocations are placed: a call sees buffers only through
  // their pointers.
  if (kernels)
    text += std::string("convert-attention-to-runtime{parallel=") +
            (options.openmp ? "1" : "0") + "},";
  if (options.blas)
    text += std::string("convert-contractions-to-blas{parallel=") +
            (options.openmp ? "1" : "0") + "},";
  if (options.openmp)
    text += "nl-parallelize-linalg,";
  // Passes that work within a function run nested on func.func, so that
  // MLIR runs them on the functions in parallel (--mlir-disable-threading
  // turns it off); the others need the module: convert-scf-to-openmp and
  // convert-math-to-libm declare symbols in it, convert-to-llvm converts
  // the functions themselves.
  // Copies and zero fills of contiguous blocks become memcpy/memset calls
  // instead of loop nests (less code for LLVM to compile).
  text += "func.func(convert-copies-to-memcpy,convert-linalg-to-loops,"
          "convert-vector-to-scf{full-unroll},"
          "expand-strided-metadata,lower-affine),";
  // Functions of bounded size for LLVM, whose register allocation and
  // loop strength reduction grow faster than linearly with a function.
  text += "nl-split-functions,";
  if (options.openmp)
    text += "func.func(scf-forall-to-parallel),convert-scf-to-openmp,"
            "func.func(nl-inline-alloca-scopes),nl-outline-parallel-regions,";
  // After the outlining, which makes one function per parallel region:
  // a model repeats its regions on each layer and entry point.
  text += "nl-merge-functions,";
  text += "func.func(nl-approximate-math,convert-scf-to-cf,"
          "convert-vector-to-llvm,convert-math-to-llvm),"
          "convert-math-to-libm,convert-to-llvm,reconcile-unrealized-casts";
  return parsePassPipeline(text, pm);
}

void mlir::nl::registerNLPipelines() {
  PassPipelineRegistration<NLToNVVMPipelineOptions>(
      "nl-lower-to-nvvm",
      "Lower nl compute ops to GPU kernels (NVVM, PTX) and a host in the "
      "LLVM dialect: the cuda target",
      [](OpPassManager &pm, const NLToNVVMPipelineOptions &options) {
        if (failed(buildNLToNVVMPipeline(pm, options)))
          llvm::report_fatal_error("nl-lower-to-nvvm: unknown pass name");
      });
  PassPipelineRegistration<NLToLLVMPipelineOptions>(
      "nl-lower-to-llvm",
      "Lower nl compute ops to the LLVM dialect on the CPU (linalg, "
      "bufferization, loops, LLVM)",
      [](OpPassManager &pm, const NLToLLVMPipelineOptions &options) {
        if (failed(buildNLToLLVMPipeline(pm, options)))
          llvm::report_fatal_error("nl-lower-to-llvm: unknown pass name");
      });
}
