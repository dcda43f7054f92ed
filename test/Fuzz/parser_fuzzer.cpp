//===- parser_fuzzer.cpp - libFuzzer target for the .nl parser ------------===//
//
// Feeds arbitrary bytes to the lexer and parser and prints the AST. Any
// crash, hang, sanitizer report or stack overflow is a bug; findings go to
// test/Fuzz/regressions/ and are replayed by ctest (fuzz-parser-regressions).
//
//   scripts/fuzz.sh 600        # ten minutes, corpus: examples and tests
//
//===----------------------------------------------------------------------===//

#include "AST.h"

#include <cstddef>
#include <cstdint>
#include <string>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  std::string source(reinterpret_cast<const char *>(data), size);
  nlc::frontend::Diagnostics diags;
  std::unique_ptr<nlc::frontend::File> file =
      nlc::frontend::parseFile(source, diags);
  if (file)
    (void)nlc::frontend::printAST(*file);
  return 0;
}
