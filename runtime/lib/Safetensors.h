//===- Safetensors.h - reading and writing .safetensors files ---*- C++ -*-===//
//
// The format (https://huggingface.co/docs/safetensors): an 8-byte
// little-endian header length N, N bytes of JSON ({name: {dtype, shape,
// data_offsets: [begin, end]}, "__metadata__": {string: string}}), then the
// tensor data. nlrt writes F32 and I32 tensors, row-major, little-endian.
//
//===----------------------------------------------------------------------===//

#ifndef NLRT_SAFETENSORS_H
#define NLRT_SAFETENSORS_H

#include <cstdint>
#include <map>
#include <stdexcept>
#include <string>
#include <vector>

namespace nlrt {

/// An error with a message for the user (file, what is wrong).
struct Error : std::runtime_error {
  using std::runtime_error::runtime_error;
};

/// An error because a loss, logits or state went non-finite (exit code 3).
struct NonFinite : Error {
  using Error::Error;
};

struct StoredTensor {
  std::string dtype; // "F32" or "I32"
  std::vector<int64_t> shape;
  std::vector<char> bytes;
};

struct Safetensors {
  std::map<std::string, StoredTensor> tensors;
  std::map<std::string, std::string> metadata;
};

/// Writes `file` to `path` atomically: to `path.tmp.<pid>`, flushed, then
/// renamed over `path`. Throws Error (and removes the temporary) on failure.
void writeSafetensors(const std::string &path, const Safetensors &file);

/// Reads and validates `path`: header length within the file, valid JSON,
/// known dtypes, data offsets inside the data section and matching the
/// shape, the tensors tiling the data section (no overlaps, no holes). A
/// directory or another non-regular file is refused by name. Throws Error
/// naming the file and the problem.
Safetensors readSafetensors(const std::string &path);

} // namespace nlrt

#endif // NLRT_SAFETENSORS_H
