//===- nl-opt.cpp - mlir-opt with the nl dialect and its passes -----------===//
//
// Every lit test drives this tool. It registers the nl dialect and passes
// plus the upstream dialects, passes and extensions nlc lowers through.
//
//===----------------------------------------------------------------------===//

#include "nl/Conversion/Passes.h"
#include "nl/Dialect/NL/IR/NLDialect.h"
#include "nl/Dialect/NL/Transforms/Passes.h"
#include "nl/Pipelines/Pipelines.h"

#include "mlir/IR/DialectRegistry.h"
#include "mlir/InitAllDialects.h"
#include "mlir/InitAllExtensions.h"
#include "mlir/InitAllPasses.h"
#include "mlir/Target/LLVMIR/Dialect/All.h"
#include "mlir/Tools/mlir-opt/MlirOptMain.h"

int main(int argc, char **argv) {
  mlir::registerAllPasses();
  mlir::nl::registerNLPasses();
  mlir::nl::registerNLConversionPasses();
  mlir::nl::registerNLPipelines();

  mlir::DialectRegistry registry;
  registry.insert<mlir::nl::NLDialect>();
  mlir::registerAllDialects(registry);
  mlir::registerAllExtensions(registry);
  // gpu-module-to-binary translates each gpu.module to LLVM IR.
  mlir::registerAllToLLVMIRTranslations(registry);
  mlir::nl::registerDifferentiableExternalModels(registry);

  return mlir::asMainReturnCode(mlir::MlirOptMain(
      argc, argv, "nl-opt: the nl dialect's optimizer driver\n", registry));
}
