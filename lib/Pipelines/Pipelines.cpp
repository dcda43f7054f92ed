//===- Pipelines.cpp - nlc's registered pass pipelines --------------------===//

#include "nl/Pipelines/Pipelines.h"
#include "nl/Conversion/Passes.h"
#include "nl/Dialect/NL/Transforms/Passes.h"

#include "mlir/Conversion/Passes.h"
#include "mlir/Dialect/Bufferization/Transforms/Passes.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/GPU/Pipelines/Passes.h"
#include "mlir/Dialect/GPU/Transforms/Passes.h"
#include "mlir/Dialect/Linalg/Passes.h"
#include "mlir/Dialect/MemRef/Transforms/Passes.h"
#include "mlir/Dialect/SCF/Transforms/Passes.h"
#include "mlir/Transforms/Passes.h"

#include "mlir/Pass/PassRegistry.h"

using namespace mlir;
using namespace mlir::nl;

/// nl -> linalg on tensors, fused and scheduled: the first stage of
/// nl-lower-to-llvm and what `nlc --emit=linalg` prints. CSE runs here
/// only: nl.checkpoint bodies are isolated regions before
/// convert-nl-to-linalg inlines them, so the backward pass's recomputation
/// is not merged with the forward pass (which would keep every chunk's
/// per-token states alive, O(T) memory). CSE before schedule-levels makes
/// the chunks' shared constants one value, which rolling needs.
void mlir::nl::buildNLToLinalgPipeline(OpPassManager &pm, bool rollChunks,
                                       bool attentionKernels) {
  pm.addPass(createFuseMemoryUpdates());
  pm.addPass(createCanonicalizerPass());
  pm.addPass(createCSEPass());
  ScheduleLevelsOptions schedule;
  schedule.rollChunks = rollChunks;
  pm.addPass(createScheduleLevels(schedule));
  pm.addPass(createCanonicalizerPass());
  pm.addPass(createCSEPass());
  ConvertNLToLinalgOptions toLinalg;
  toLinalg.attentionKernels = attentionKernels;
  pm.addPass(createConvertNLToLinalg(toLinalg));
  pm.addPass(createCanonicalizerPass());
  pm.addPass(createFuseElementwise());
  pm.addPass(createFuseMultiUseElementwise());
  pm.addPass(createFoldTransposes());
  pm.addPass(createFoldSliceCopies());
  pm.addPass(createLinalgFoldUnitExtentDimsPass());
  pm.addPass(createCanonicalizerPass());
}

/// The FLOPs of each entry point, counted on linalg on tensors (what
/// `nlc --emit=flops` prints), into the manifest: an executable's `info`
/// and `train` report them.
static void addCountFlops(OpPassManager &pm) {
  NLCountFlopsOptions flops;
  flops.toManifest = true;
  pm.addPass(createNLCountFlops(flops));
}

/// Bufferization with identity layouts at function boundaries (each result
/// its own tensor first, nl-distinct-results; scans that update their
/// carried tensor in place, nl-update-in-place; with `sliceLayouts`, the
/// slices passed to private functions' read-only arguments cast instead of
/// copied, nl-slice-argument-layouts; private functions' results
/// that are their arguments dropped, nl-drop-equivalent-results; the constants'
/// globals named and ordered by first use, nl-number-constant-globals; results
/// through out-parameters with `resultsToOutParams`), deallocation, static
/// copies as linalg.copy: the stage both targets share, from linalg on
/// tensors to memrefs.
static void addBufferization(OpPassManager &pm, bool resultsToOutParams,
                             bool sliceLayouts) {
  pm.addPass(createDistinctResults());
  pm.addPass(createUpdateInPlace());
  if (sliceLayouts)
    pm.addPass(createSliceArgumentLayouts());
  pm.addPass(createBufferize());
  pm.addPass(createDropEquivalentResults());
  pm.addPass(createNumberConstantGlobals());
  if (resultsToOutParams) {
    bufferization::BufferResultsToOutParamsPassOptions outParams;
    outParams.modifyPublicFunctions = true;
    outParams.hoistStaticAllocs = true;
    pm.addPass(bufferization::createBufferResultsToOutParamsPass(outParams));
  }
  // MLIR's buffer-deallocation-pipeline, with its function-local passes
  // nested on func.func so that they run on the functions in parallel
  // (bufferization-lower-deallocations may add a helper function to the
  // module, and stays on it).
  memref::ExpandReallocPassOptions realloc;
  realloc.emitDeallocs = false;
  pm.addPass(memref::createExpandReallocPass(realloc));
  pm.addNestedPass<func::FuncOp>(createCanonicalizerPass());
  pm.addPass(bufferization::createOwnershipBasedBufferDeallocationPass());
  OpPassManager &simplify = pm.nest<func::FuncOp>();
  simplify.addPass(createCanonicalizerPass());
  simplify.addPass(bufferization::createBufferDeallocationSimplificationPass());
  pm.addPass(bufferization::createLowerDeallocationsPass());
  OpPassManager &cleanup = pm.nest<func::FuncOp>();
  cleanup.addPass(createCSEPass());
  cleanup.addPass(createCanonicalizerPass());
  pm.addNestedPass<func::FuncOp>(
      bufferization::createOptimizeAllocationLivenessPass());
  pm.addPass(createConvertBufferizationToMemRefPass());
  pm.addPass(createConvertMemRefCopyToLinalg());
}

void mlir::nl::buildNLToNVVMPipeline(OpPassManager &pm,
                                     const NLToNVVMPipelineOptions &options) {
  // The target-neutral stages, as for the CPU (without its register
  // tiling, BLIS and OpenMP).
  buildNLToLinalgPipeline(pm, options.rollChunks, /*attentionKernels=*/false);
  addCountFlops(pm);
  addBufferization(pm, /*resultsToOutParams=*/true, /*sliceLayouts=*/false);
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
}

void mlir::nl::buildNLToLLVMPipeline(OpPassManager &pm,
                                     const NLToLLVMPipelineOptions &options) {
  // The order follows design/MLIR_NOTES.md §2 (expand-strided-metadata
  // before lower-affine; convert-bufferization-to-memref after the
  // deallocation pipeline, which creates bufferization.clone).
  // nl-vectorize-contractions: the fused kernels' products tiled for the
  // CPU's registers (AVX-512 or AVX2), on tensors before bufferization.
  // With BLIS, attention and its gradient run on the runtime's fused
  // kernels (in the same library as the BLAS calls; their float64 block
  // products are BLIS calls).
  bool kernels = options.blas && options.fusedAttention;
  buildNLToLinalgPipeline(pm, options.rollChunks, kernels);
  addCountFlops(pm);
  pm.addPass(createVectorizeContractions());
  pm.addNestedPass<func::FuncOp>(createCanonicalizerPass());
  addBufferization(pm, options.resultsToOutParams, /*sliceLayouts=*/true);
  pm.addNestedPass<func::FuncOp>(createPlanBuffers());
  // After the deallocations are placed: a call sees buffers only through
  // their pointers.
  if (kernels) {
    ConvertAttentionToRuntimeOptions attention;
    attention.parallel = options.openmp;
    pm.addPass(createConvertAttentionToRuntime(attention));
  }
  if (options.blas) {
    ConvertContractionsToBLASOptions blas;
    blas.parallel = options.openmp;
    pm.addPass(createConvertContractionsToBLAS(blas));
  }
  if (options.openmp)
    pm.addPass(createParallelizeLinalg());
  // Passes that work within a function run nested on func.func, so that
  // MLIR runs them on the functions in parallel (--mlir-disable-threading
  // turns it off); the others need the module: convert-scf-to-openmp and
  // convert-math-to-libm declare symbols in it, convert-to-llvm converts
  // the functions themselves.
  // Copies and zero fills of contiguous blocks become memcpy/memset calls
  // instead of loop nests (less code for LLVM to compile).
  OpPassManager &loops = pm.nest<func::FuncOp>();
  loops.addPass(createConvertCopiesToMemcpy());
  loops.addPass(createConvertLinalgToLoopsPass());
  loops.addPass(createConvertVectorToSCFPass(
      VectorTransferToSCFOptions().enableFullUnroll()));
  loops.addPass(memref::createExpandStridedMetadataPass());
  loops.addPass(createLowerAffinePass());
  // Functions of bounded size for LLVM, whose register allocation and
  // loop strength reduction grow faster than linearly with a function.
  pm.addPass(createSplitFunctions());
  if (options.openmp) {
    pm.addNestedPass<func::FuncOp>(createForallToParallelLoopPass());
    pm.addPass(createConvertSCFToOpenMPPass());
    pm.addNestedPass<func::FuncOp>(createInlineAllocaScopes());
    pm.addPass(createOutlineParallelRegions());
  }
  // After the outlining, which makes one function per parallel region:
  // a model repeats its regions on each layer and entry point.
  pm.addPass(createMergeFunctions());
  OpPassManager &toLLVM = pm.nest<func::FuncOp>();
  toLLVM.addPass(createApproximateMath());
  toLLVM.addPass(createSCFToControlFlowPass());
  toLLVM.addPass(createConvertVectorToLLVMPass());
  toLLVM.addPass(createConvertMathToLLVMPass());
  pm.addPass(createConvertMathToLibmPass());
  pm.addPass(createConvertToLLVMPass());
  pm.addPass(createReconcileUnrealizedCastsPass());
}

void mlir::nl::registerNLPipelines() {
  PassPipelineRegistration<NLToNVVMPipelineOptions>(
      "nl-lower-to-nvvm",
      "Lower nl compute ops to GPU kernels (NVVM, PTX) and a host in the "
      "LLVM dialect: the cuda target",
      [](OpPassManager &pm, const NLToNVVMPipelineOptions &options) {
        buildNLToNVVMPipeline(pm, options);
      });
  PassPipelineRegistration<NLToLLVMPipelineOptions>(
      "nl-lower-to-llvm",
      "Lower nl compute ops to the LLVM dialect on the CPU (linalg, "
      "bufferization, loops, LLVM)",
      [](OpPassManager &pm, const NLToLLVMPipelineOptions &options) {
        buildNLToLLVMPipeline(pm, options);
      });
}
