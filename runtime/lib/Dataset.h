//===- Dataset.h - byte-level text data -------------------------*- C++ -*-===//
//
// A text file as byte tokens (0..255): the first 90 % for training, the last
// 10 % for validation. Training batches start at positions drawn from the
// counter-based RNG keyed by (seed, step); validation batches are fixed,
// evenly spaced windows, so that every evaluation sees the same text.
//
//===----------------------------------------------------------------------===//

#ifndef NLRT_DATASET_H
#define NLRT_DATASET_H

#include <cstdint>
#include <string>
#include <vector>

namespace nlrt {

class Dataset {
public:
  /// Reads `path`. Throws Error when it is missing, empty, has a byte
  /// outside `vocab`, or has a split shorter than `context` + 1 tokens.
  static Dataset load(const std::string &path, int64_t vocab, int64_t context);

  /// Training batch `step` (0-based): tokens [batch, context + 1].
  void trainBatch(uint64_t seed, int64_t step, int64_t batch, int64_t context,
                  int32_t *out) const;
  /// Validation batch `index` of `count`: tokens [batch, context + 1].
  void valBatch(int64_t index, int64_t count, int64_t batch, int64_t context,
                int32_t *out) const;

  size_t trainTokens() const { return trainEnd_; }
  size_t valTokens() const { return bytes_.size() - trainEnd_; }
  const std::string &path() const { return path_; }

private:
  std::string path_;
  std::vector<uint8_t> bytes_;
  size_t trainEnd_ = 0;
};

} // namespace nlrt

#endif // NLRT_DATASET_H
