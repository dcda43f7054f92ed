//===- Dataset.h - training data: byte text or real-valued rows -*- C++ -*-===//
//
// What a compiled model trains on, by its manifest's `input`:
//
// * tokens: a text file as byte tokens (0..255). Training batches are
//   windows of context + 1 bytes starting at positions drawn from the
//   counter-based RNG keyed by (seed, step); validation batches are fixed,
//   evenly spaced windows, so that every evaluation sees the same text.
// * rows: a safetensors file holding one F32 tensor `data` [N, width]: N
//   rows of the model's features, then its targets. Training batches are
//   rows drawn by the same RNG; validation batch i of n holds rows
//   i x batch .. (i + 1) x batch - 1 of the validation split (wrapping), so
//   the mean is over exactly its rows when n x batch is a multiple of their
//   count (otherwise the first rows count twice).
//
// * tokens with a loss mask (a token model's --data whose name ends in
//   .safetensors): I32 `tokens` [N, context + 1] (ids below the
//   vocabulary) and I32 `mask` [N, context] of 0 and 1, mask[n, t] = 1
//   when token t + 1 of sequence n counts as a next-token target in the
//   loss. Each batch row is one sequence, drawn as rows are; a token
//   whose target does not count is passed as -(id + 1), which the
//   compiled model reads as its id (nl.token_ids) and leaves out of the
//   loss (nl.cross_entropy): docs/language.md, "Loss masks".
//
// Either way the first 90 % (of bytes, rows or sequences) are for training
// and the last 10 % for validation.
//
//===----------------------------------------------------------------------===//

#ifndef NLRT_DATASET_H
#define NLRT_DATASET_H

#include "Model.h"

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace nlrt {

/// Throws an Error naming `path` as `what` ("data file") unless it is a
/// regular file: a device or FIFO would be read without end or block.
void checkRegularFile(const std::string &path, const std::string &what);

/// A token whose next-token target does not count in the loss, as a batch
/// of a file with a loss mask passes it: -(id + 1) (nl.token_ids reads it
/// back as `id`, nl.cross_entropy leaves it out).
inline int32_t uncountedToken(int32_t id) { return -id - 1; }
/// The id of a token of such a batch, counted or not.
inline int32_t tokenId(int32_t token) {
  return token >= 0 ? token : uncountedToken(token);
}

/// One batch as the entry points read it: tokens [batch, context + 1] (i32)
/// or rows [batch, width] (f32); the other vector is empty.
struct Batch {
  std::vector<int32_t> tokens;
  std::vector<float> rows;
  /// The next-token targets that count in the loss (tokens; text: all
  /// batch x context of them).
  int64_t counted = 0;
  /// The buffer of the entry points' `tokens` or `rows` argument.
  void *data() {
    return rows.empty() ? static_cast<void *>(tokens.data()) : rows.data();
  }
};

class Dataset {
public:
  /// Reads `path` as `m.input` says. Throws Error when it is missing or
  /// empty, when a byte is outside `m.vocab`, when it is not a safetensors
  /// file with an F32 `data` [N, m.width], or when a split is too short for
  /// one window (tokens) or one row (rows).
  static Dataset load(const std::string &path, const Manifest &m);

  /// A zeroed batch of the manifest's shape.
  static Batch makeBatch(const Manifest &m);

  /// Training batch `step` (0-based) of `seed`.
  void trainBatch(uint64_t seed, int64_t step, Batch &out) const;
  /// Validation batch `index` of `count`.
  void valBatch(int64_t index, int64_t count, Batch &out) const;

  /// The two splits' sizes, in unit() (bytes, rows or sequences).
  size_t trainSize() const { return trainEnd_; }
  size_t valSize() const { return size_ - trainEnd_; }
  const char *unit() const {
    return width_ ? "rows" : masked_ ? "sequences" : "bytes";
  }
  /// Token sequences with a loss mask (not text).
  bool masked() const { return masked_; }
  /// The targets that count in the first `batches` validation batches.
  int64_t valCounted(int64_t batches) const;
  const std::string &path() const { return path_; }

private:
  /// Writes into `out` the B rows (or B windows of context + 1 bytes) that
  /// start at `start(b)`, b = 0 .. B - 1.
  void fill(Batch &out, const std::function<size_t(int64_t)> &start) const;

  std::string path_;
  std::vector<uint8_t> bytes_;     // tokens
  std::vector<float> rows_;        // rows, row-major [size_, width_]
  bool masked_ = false;            // sequences with a loss mask:
  std::vector<int32_t> sequences_; // [size_, context_ + 1], signed by mask
  std::vector<int64_t> counted_;   // [size_]: targets that count
  /// Reads a safetensors file of token sequences with a loss mask.
  void loadMasked(const Manifest &m);
  /// The row (or sequence) of row `b` of validation batch `index`: the
  /// validation split in order, wrapping.
  size_t valRow(int64_t index, int64_t b) const {
    return trainEnd_ + static_cast<size_t>(index * batch_ + b) % valSize();
  }
  size_t size_ = 0, trainEnd_ = 0;
  int64_t batch_ = 1, context_ = 0, width_ = 0;
};

} // namespace nlrt

#endif // NLRT_DATASET_H
