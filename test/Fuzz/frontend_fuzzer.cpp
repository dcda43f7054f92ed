//===- frontend_fuzzer.cpp - libFuzzer target for nlc --emit=nl -----------===//
//
// Runs what `nlc FILE --emit=nl` runs on arbitrary bytes: the parser, import
// resolution, MLIRGen, the verifiers and the printer. An input may carry a
// second file after a line `//--- lib.nl`: the text before it is written to
// main.nl and the text after it to lib.nl, in a temporary directory of this
// process, so that `import "lib.nl"` (and cycles, `import "main.nl"`) reach
// the import code. Errors are expected; any crash, hang or sanitizer report
// is a bug. Findings go to test/Fuzz/regressions/frontend/ and are replayed
// by ctest (fuzz-frontend-regressions).
//
//   scripts/fuzz.sh frontend 600
//
//===----------------------------------------------------------------------===//

#include "AST.h"
#include "MLIRGen.h"
#include "nl/Dialect/NL/IR/NLDialect.h"

#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/IR/Verifier.h"
#include "mlir/InitAllDialects.h"
#include "mlir/InitAllExtensions.h"
#include "llvm/Support/raw_ostream.h"

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <unistd.h>

namespace {

const char kSplit[] = "\n//--- lib.nl\n";

/// The registry of nlc, built once (registering every dialect takes longer
/// than most inputs).
mlir::DialectRegistry &registry() {
  static mlir::DialectRegistry *r = [] {
    auto *reg = new mlir::DialectRegistry;
    reg->insert<mlir::nl::NLDialect>();
    mlir::registerAllDialects(*reg);
    mlir::registerAllExtensions(*reg);
    mlir::nl::registerDifferentiableExternalModels(*reg);
    return reg;
  }();
  return *r;
}

/// This process's temporary directory, made once.
const std::string &workDir() {
  static std::string dir = [] {
    const char *tmp = std::getenv("TMPDIR");
    std::string pattern =
        std::string(tmp && *tmp ? tmp : "/tmp") + "/nl-frontend-fuzz-XXXXXX";
    if (!mkdtemp(pattern.data())) {
      std::perror("frontend fuzzer: mkdtemp");
      std::abort();
    }
    return pattern;
  }();
  return dir;
}

void writeFile(const std::string &path, const std::string &text) {
  FILE *f = std::fopen(path.c_str(), "wb");
  if (!f || std::fwrite(text.data(), 1, text.size(), f) != text.size() ||
      std::fclose(f) != 0) {
    std::perror(("frontend fuzzer: " + path).c_str());
    std::abort();
  }
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  std::string input(reinterpret_cast<const char *>(data), size);
  std::string lib;
  size_t split = input.find(kSplit);
  if (split != std::string::npos) {
    lib = input.substr(split + sizeof(kSplit) - 1);
    input.resize(split + 1);
  }
  std::string mainPath = workDir() + "/main.nl";
  writeFile(mainPath, input);
  writeFile(workDir() + "/lib.nl", lib);

  nlc::frontend::SourceFiles files;
  files.paths.push_back(mainPath);
  files.contents.push_back(input);
  nlc::frontend::normalizeLineEndings(files.contents[0]);
  nlc::frontend::Diagnostics diags;
  std::unique_ptr<nlc::frontend::File> ast =
      nlc::frontend::parseFile(files.contents[0], diags);
  if (!diags.numErrors)
    nlc::frontend::resolveImports(*ast, files, diags);
  if (diags.numErrors)
    return 0;

  mlir::MLIRContext ctx(registry(), mlir::MLIRContext::Threading::DISABLED);
  ctx.printOpOnDiagnostic(false);
  // Verifier errors are expected; drop them instead of printing each one.
  ctx.getDiagEngine().registerHandler(
      [](mlir::Diagnostic &) { return mlir::success(); });
  mlir::OwningOpRef<mlir::ModuleOp> module =
      nlc::frontend::mlirGen(ctx, *ast, files, diags);
  if (!module || diags.numErrors)
    return 0;
  if (mlir::failed(mlir::verify(*module)))
    return 0;
  // The stream entry points, as nlc builds them (docs/streaming.md).
  std::string why;
  (void)nlc::frontend::addStreamEntries(*module, *ast, files, {}, why);
  if (mlir::failed(mlir::verify(*module)))
    abort(); // a model that verifies must give stream functions that do
  std::string text;
  llvm::raw_string_ostream os(text);
  module->print(os);
  return 0;
}
