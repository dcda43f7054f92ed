//===- Pipelines.h - nlc's registered pass pipelines ------------*- C++ -*-===//

#ifndef NL_PIPELINES_PIPELINES_H
#define NL_PIPELINES_PIPELINES_H

#include "mlir/Pass/PassManager.h"
#include "mlir/Pass/PassOptions.h"

namespace mlir::nl {

struct NLToLLVMPipelineOptions
    : public PassPipelineOptions<NLToLLVMPipelineOptions> {
  PassOptions::Option<bool> resultsToOutParams{
      *this, "results-to-out-params",
      llvm::cl::desc("Return results through caller-allocated buffers "
                     "(the calling convention of nl-gradcheck and the "
                     "runtime)"),
      llvm::cl::init(false)};
  PassOptions::Option<bool> openmp{
      *this, "openmp",
      llvm::cl::desc("Run scf.forall loops (the fused chunk kernels of "
                     "fuse-memory-updates, the BLAS calls, the large linalg "
                     "ops split by nl-parallelize-linalg) on OpenMP "
                     "threads; without it they run sequentially"),
      llvm::cl::init(false)};
  PassOptions::Option<bool> blas{
      *this, "blas",
      llvm::cl::desc("Run the plain dense contractions outside the fused "
                     "kernels on BLIS (convert-contractions-to-blas; the "
                     "code then calls the runtime's nlrt_?gemm), and "
                     "attention and its gradient on the runtime's fused "
                     "kernels (convert-attention-to-runtime: "
                     "nlrt_attention_*) unless fused-attention=0"),
      llvm::cl::init(false)};
  PassOptions::Option<bool> fusedAttention{
      *this, "fused-attention",
      llvm::cl::desc("With blas: attention and its gradient on the runtime's "
                     "fused kernels (=0: decomposed, the products on BLIS)"),
      llvm::cl::init(true)};
  PassOptions::Option<bool> rollChunks{
      *this, "roll-chunks",
      llvm::cl::desc("Roll each level's chains of chunk calls into scf.for "
                     "loops (schedule-levels); without it they stay in "
                     "straight line"),
      llvm::cl::init(true)};
};

/// nl compute ops -> linalg on tensors, with elementwise fusion and unit
/// dims folded: the target-neutral first stage of buildNLToLLVMPipeline
/// and buildNLToNVVMPipeline (`nlc --emit=linalg` stops here).
/// `rollChunks`: schedule-levels' roll-chunks.
void buildNLToLinalgPipeline(OpPassManager &pm, bool rollChunks = true,
                             bool attentionKernels = false);

struct NLToNVVMPipelineOptions
    : public PassPipelineOptions<NLToNVVMPipelineOptions> {
  PassOptions::Option<bool> rollChunks{
      *this, "roll-chunks",
      llvm::cl::desc("Roll each level's chains of chunk calls into scf.for "
                     "loops (schedule-levels)"),
      llvm::cl::init(true)};
  PassOptions::Option<std::string> chip{
      *this, "chip", llvm::cl::desc("The GPU (an sm_XX name)"),
      llvm::cl::init("sm_90")};
  PassOptions::Option<std::string> format{
      *this, "format",
      llvm::cl::desc("What each gpu.binary holds: fatbin (PTX and the cubin "
                     "of ptxas, from the CUDA toolkit), isa (PTX only)"),
      llvm::cl::init("fatbin")};
};

/// nl compute ops -> linalg -> bufferized loops -> GPU kernels -> the LLVM
/// dialect (host) with the kernels embedded as gpu.binary ops (NVVM, PTX,
/// ptxas for `chip`): the cuda target (lib/Target/CUDA).
void buildNLToNVVMPipeline(OpPassManager &pm,
                           const NLToNVVMPipelineOptions &options);

/// nl compute ops -> linalg -> bufferized loops -> LLVM dialect, on the CPU:
/// convert-nl-to-linalg, one-shot bufferization with identity layouts at
/// function boundaries, buffer deallocation, linalg to loops, and the
/// conversions to the LLVM dialect.
void buildNLToLLVMPipeline(OpPassManager &pm,
                           const NLToLLVMPipelineOptions &options);

/// Registers `nl-lower-to-llvm` for nl-opt.
void registerNLPipelines();

} // namespace mlir::nl

#endif // NL_PIPELINES_PIPELINES_H
