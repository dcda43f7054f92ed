//===- TargetBackend.cpp - nlc's code-generation targets ------------------===//

#include "nl/Target/TargetBackend.h"

using namespace mlir;

nl::TargetBackend::~TargetBackend() = default;

std::unique_ptr<nl::TargetBackend>
nl::createTargetBackend(StringRef name, const TargetOptions &options) {
  if (name == "cpu")
    return createCPUTargetBackend(options);
  if (name == "cuda")
    return createCUDATargetBackend(options);
  return nullptr;
}
