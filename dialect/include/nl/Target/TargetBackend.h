//===- TargetBackend.h - nlc's code-generation targets ----------*- C++ -*-===//
//
// A target (nlc --target=NAME) turns the trained model's entry points into
// the LLVM dialect of the host (with any device code embedded), and says how
// the host module is packaged: which translations it needs, whether its
// entry points stage their buffers through device memory, what an
// executable links. After IREE's TargetBackend: the driver holds one and
// calls it per stage; each target lives in lib/Target/<NAME>.
//
//===----------------------------------------------------------------------===//

#ifndef NL_TARGET_TARGETBACKEND_H
#define NL_TARGET_TARGETBACKEND_H

#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/Pass/PassManager.h"
#include "llvm/ADT/SmallVector.h"
#include "llvm/ADT/StringRef.h"
#include "llvm/Support/raw_ostream.h"

#include <memory>
#include <string>

namespace mlir::nl {

/// What the targets take from nlc's command line.
struct TargetOptions {
  /// schedule-levels rolls each level's chunk calls into loops.
  bool rollChunks = true;
  /// cpu: the fused chunk kernels (and BLIS calls, large linalg ops) on
  /// OpenMP threads.
  bool openmp = true;
  /// cpu: the plain dense products on BLIS (convert-contractions-to-blas).
  bool blas = true;
  /// cpu, with blas: attention on the runtime's fused kernels
  /// (convert-attention-to-runtime).
  bool fusedAttention = true;
  /// cuda: the GPU (an sm_XX name) and what each gpu.binary holds ("fatbin":
  /// PTX and ptxas's cubin; "isa": PTX only, for --emit=ptx).
  std::string chip = "sm_90";
  std::string binaryFormat = "fatbin";
};

class TargetBackend {
public:
  virtual ~TargetBackend();

  /// The name of --target.
  virtual llvm::StringRef getName() const = 0;

  /// The entry points (nl, after build-train-step) -> the LLVM dialect of
  /// the host. Fails only when a pass name is unknown (a build problem).
  virtual LogicalResult buildPipeline(OpPassManager &pm) const = 0;

  /// Registers the translations to LLVM IR the lowered module needs.
  virtual void registerTranslations(MLIRContext &context) const = 0;

  /// Whether each packed entry point `nl_<fn>(void **)` copies its buffers
  /// to device memory before the call and its results back after it
  /// (runtime/lib/Cuda.cpp's nlrt_gpu_enter/exit).
  virtual bool stagesBuffers() const = 0;

  /// The linker arguments an executable needs beyond the runtime library
  /// and libc, libm and libstdc++.
  virtual void getLinkArguments(SmallVectorImpl<std::string> &args) const = 0;

  /// Prints the device code of a lowered module (--emit=ptx); fails with an
  /// error on llvm::errs() when the target has none.
  virtual LogicalResult printDeviceCode(ModuleOp module,
                                        llvm::raw_ostream &os) const = 0;
};

/// The host CPU: OpenMP threads, BLIS, LLVM's x86 back end (lib/Target/CPU).
std::unique_ptr<TargetBackend>
createCPUTargetBackend(const TargetOptions &options);

/// An NVIDIA GPU (sm_90): every linalg op and fused kernel a CUDA kernel,
/// PTX by LLVM's NVPTX back end, ptxas (lib/Target/CUDA).
std::unique_ptr<TargetBackend>
createCUDATargetBackend(const TargetOptions &options);

/// The target named `name` ("cpu", "cuda"), or nullptr.
std::unique_ptr<TargetBackend>
createTargetBackend(llvm::StringRef name, const TargetOptions &options);

} // namespace mlir::nl

#endif // NL_TARGET_TARGETBACKEND_H
