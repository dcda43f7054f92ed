//===- CUDATarget.cpp - the cuda target -----------------------------------===//
//
// nl-lower-to-nvvm (nl -> linalg -> bufferized loops -> one CUDA kernel per
// linalg op and fused chunk kernel -> NVVM -> PTX -> ptxas, embedded in the
// host module as gpu.binary); the host's calls go to the runtime's mgpu*
// functions (runtime/lib/Cuda.cpp, in libnlrt.a), which load the driver
// with dlopen: executables link nothing more.
//
//===----------------------------------------------------------------------===//

#include "nl/Pipelines/Pipelines.h"
#include "nl/Target/TargetBackend.h"

#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Target/LLVMIR/Dialect/Builtin/BuiltinToLLVMIRTranslation.h"
#include "mlir/Target/LLVMIR/Dialect/GPU/GPUToLLVMIRTranslation.h"
#include "mlir/Target/LLVMIR/Dialect/LLVMIR/LLVMToLLVMIRTranslation.h"

using namespace mlir;

namespace {

class CUDATargetBackend : public nl::TargetBackend {
public:
  explicit CUDATargetBackend(const nl::TargetOptions &options)
      : options(options) {}

  StringRef getName() const override { return "cuda"; }

  LogicalResult buildPipeline(OpPassManager &pm) const override {
    nl::NLToNVVMPipelineOptions pipeline;
    pipeline.rollChunks = options.rollChunks;
    pipeline.chip = options.chip;
    pipeline.format = options.binaryFormat;
    nl::buildNLToNVVMPipeline(pm, pipeline);
    return success();
  }

  void registerTranslations(MLIRContext &context) const override {
    registerBuiltinDialectTranslation(context);
    registerLLVMDialectTranslation(context);
    registerGPUDialectTranslation(context);
  }

  bool stagesBuffers() const override { return true; }

  void getLinkArguments(SmallVectorImpl<std::string> &) const override {}

  LogicalResult printDeviceCode(ModuleOp module,
                                llvm::raw_ostream &os) const override {
    module.walk([&](gpu::BinaryOp binary) {
      for (Attribute a : binary.getObjects())
        if (auto object = dyn_cast<gpu::ObjectAttr>(a)) {
          os << "// gpu.binary @" << binary.getSymName() << ", "
             << object.getTarget() << "\n";
          os << object.getObject().getValue() << "\n";
        }
    });
    return success();
  }

private:
  nl::TargetOptions options;
};

} // namespace

std::unique_ptr<nl::TargetBackend>
nl::createCUDATargetBackend(const TargetOptions &options) {
  return std::make_unique<CUDATargetBackend>(options);
}
