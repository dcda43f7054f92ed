//===- CPUTarget.cpp - the cpu target -------------------------------------===//
//
// nl-lower-to-llvm (nl -> linalg -> bufferized loops, BLIS calls, OpenMP ->
// the LLVM dialect); executables link libomp and serial BLIS.
//
//===----------------------------------------------------------------------===//

#include "nl/Pipelines/Pipelines.h"
#include "nl/Target/TargetBackend.h"

#include "mlir/Target/LLVMIR/Dialect/Builtin/BuiltinToLLVMIRTranslation.h"
#include "mlir/Target/LLVMIR/Dialect/LLVMIR/LLVMToLLVMIRTranslation.h"
#include "mlir/Target/LLVMIR/Dialect/OpenMP/OpenMPToLLVMIRTranslation.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/WithColor.h"

using namespace mlir;

namespace {

class CPUTargetBackend : public nl::TargetBackend {
public:
  explicit CPUTargetBackend(const nl::TargetOptions &options)
      : options(options) {}

  StringRef getName() const override { return "cpu"; }

  LogicalResult buildPipeline(OpPassManager &pm) const override {
    nl::NLToLLVMPipelineOptions pipeline;
    pipeline.resultsToOutParams = true;
    pipeline.openmp = options.openmp;
    pipeline.blas = options.blas;
    pipeline.fusedAttention = options.blas && options.fusedAttention;
    pipeline.rollChunks = options.rollChunks;
    nl::buildNLToLLVMPipeline(pm, pipeline);
    return success();
  }

  void registerTranslations(MLIRContext &context) const override {
    registerBuiltinDialectTranslation(context);
    registerLLVMDialectTranslation(context);
    registerOpenMPDialectTranslation(context);
  }

  bool stagesBuffers() const override { return false; }

  void getLinkArguments(SmallVectorImpl<std::string> &args) const override {
    if (options.openmp)
      args.push_back("-lomp"); // libomp of the LLVM lib dir (libomp-22-dev)
    if (options.blas) {
      // Serial BLIS (libblis-serial-dev), found first at run time: the
      // generic libblis.so.4 may be another variant with its own threads.
      StringRef blis = NL_BLIS_LIBRARY;
      args.push_back(blis.str());
      args.push_back("-Wl,-rpath," + llvm::sys::path::parent_path(blis).str());
    }
  }

  LogicalResult printDeviceCode(ModuleOp, llvm::raw_ostream &) const override {
    llvm::WithColor::error(llvm::errs(), "nlc")
        << "the cpu target has no device code (--emit=ptx is for "
           "--target=cuda)\n";
    return failure();
  }

private:
  nl::TargetOptions options;
};

} // namespace

std::unique_ptr<nl::TargetBackend>
nl::createCPUTargetBackend(const TargetOptions &options) {
  return std::make_unique<CPUTargetBackend>(options);
}
