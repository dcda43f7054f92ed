//===- safetensors_fuzzer.cpp - libFuzzer target for the checkpoint reader ===//
//
// Writes arbitrary bytes to a file and reads it with nlrt's
// readSafetensors (runtime/lib/Safetensors.cpp), which executables run on
// the checkpoints they load and on data files of rows. Its contract: a valid
// file, or an nlrt::Error naming the file and the problem. Any other exception
// (a JSON type error, length_error, bad_alloc), crash, hang or sanitizer report
// is a bug. Findings go to test/Fuzz/regressions/safetensors/ and are replayed
// by ctest (fuzz-safetensors-regressions).
//
//   scripts/fuzz.sh safetensors 600
//
//===----------------------------------------------------------------------===//

#include "Safetensors.h"

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <string>
#include <typeinfo>
#include <unistd.h>

namespace {

/// This process's input file, named once.
const std::string &inputPath() {
  static std::string path = [] {
    const char *tmp = std::getenv("TMPDIR");
    std::string pattern =
        std::string(tmp && *tmp ? tmp : "/tmp") + "/nl-safetensors-fuzz-XXXXXX";
    int fd = mkstemp(pattern.data());
    if (fd < 0) {
      std::perror("safetensors fuzzer: mkstemp");
      std::abort();
    }
    close(fd);
    return pattern;
  }();
  return path;
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  const std::string &path = inputPath();
  FILE *f = std::fopen(path.c_str(), "wb");
  if (!f || std::fwrite(data, 1, size, f) != size || std::fclose(f) != 0) {
    std::perror(("safetensors fuzzer: " + path).c_str());
    std::abort();
  }
  try {
    nlrt::Safetensors file = nlrt::readSafetensors(path);
    // What the reader promises about a file it accepts.
    for (const auto &[name, t] : file.tensors) {
      uint64_t count = 1;
      for (int64_t d : t.shape)
        count *= static_cast<uint64_t>(d);
      uint64_t elt = t.dtype == "F32" || t.dtype == "I32" ? 4 : 8;
      if (count * elt != t.bytes.size()) {
        std::fprintf(stderr, "tensor '%s': %zu bytes for its shape\n",
                     name.c_str(), t.bytes.size());
        std::abort();
      }
    }
  } catch (const nlrt::Error &) {
    // The documented failure: a message naming the file.
  } catch (const std::exception &e) {
    std::fprintf(stderr, "readSafetensors threw a %s, not nlrt::Error: %s\n",
                 typeid(e).name(), e.what());
    std::abort();
  }
  return 0;
}
