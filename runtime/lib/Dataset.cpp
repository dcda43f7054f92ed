//===- Dataset.cpp - training data: byte text or rows of real values ------===//

#include "Dataset.h"
#include "Random.h"
#include "Safetensors.h"

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <fstream>
#include <functional>
#include <iterator>
#include <sys/stat.h>

namespace nlrt {

namespace {

void checkRegularFile(const std::string &path) {
  struct stat st;
  if (stat(path.c_str(), &st) != 0)
    throw Error("cannot read data file '" + path +
                "': " + std::strerror(errno));
  if (!S_ISREG(st.st_mode))
    throw Error("data file '" + path + "' is not a regular file");
}

std::string shapeString(const std::vector<int64_t> &shape) {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i)
    s += (i ? ", " : "") + std::to_string(shape[i]);
  return s + "]";
}

/// The row-drawing stream of training batches ("batc").
constexpr uint64_t kBatchStream = 0x62617463ull;

} // namespace

Dataset Dataset::load(const std::string &path, const Manifest &m) {
  checkRegularFile(path);
  Dataset d;
  d.path_ = path;
  d.batch_ = m.batch;
  if (m.rows()) {
    d.width_ = m.width;
    Safetensors file;
    try {
      file = readSafetensors(path);
    } catch (const Error &e) {
      throw Error(std::string(e.what()) +
                  " (a model of rows reads a safetensors file with an F32 "
                  "tensor 'data' [rows, " +
                  std::to_string(m.width) + "])");
    }
    auto it = file.tensors.find("data");
    if (it == file.tensors.end())
      throw Error("data file '" + path +
                  "' has no tensor 'data' (a model of rows reads an F32 "
                  "tensor 'data' [rows, " +
                  std::to_string(m.width) + "]: features, then targets)");
    const StoredTensor &t = it->second;
    if (t.dtype != "F32" || t.shape.size() != 2 || t.shape[1] != m.width)
      throw Error("data file '" + path + "': tensor 'data' is " + t.dtype +
                  " " + shapeString(t.shape) + "; '" + m.model +
                  "' reads F32 [rows, " + std::to_string(m.width) +
                  "] (its features, then its targets)");
    d.size_ = static_cast<size_t>(t.shape[0]);
    d.rows_.resize(d.size_ * static_cast<size_t>(m.width));
    std::memcpy(d.rows_.data(), t.bytes.data(), d.rows_.size() * sizeof(float));
    for (size_t i = 0; i < d.rows_.size(); ++i)
      if (!std::isfinite(d.rows_[i]))
        throw Error("data file '" + path + "': row " +
                    std::to_string(i / static_cast<size_t>(m.width)) +
                    ", column " +
                    std::to_string(i % static_cast<size_t>(m.width)) +
                    " is not finite (" + std::to_string(d.rows_[i]) + ")");
    d.trainEnd_ = d.size_ * 9 / 10;
    if (d.trainEnd_ < 1 || d.size_ - d.trainEnd_ < 1)
      throw Error("data file '" + path + "' has " + std::to_string(d.size_) +
                  " row(s): too few for a 90 % training and a 10 % "
                  "validation split of at least one row each (at least 2 "
                  "rows)");
    return d;
  }

  d.context_ = m.context;
  std::ifstream in(path, std::ios::binary);
  if (!in)
    throw Error("cannot read data file '" + path +
                "': " + std::strerror(errno));
  d.bytes_.assign(std::istreambuf_iterator<char>(in),
                  std::istreambuf_iterator<char>());
  d.size_ = d.bytes_.size();
  if (d.bytes_.empty())
    throw Error("data file '" + path + "' is empty");
  if (m.vocab < 256)
    for (size_t i = 0; i < d.bytes_.size(); ++i)
      if (d.bytes_[i] >= m.vocab)
        throw Error("data file '" + path + "': byte " +
                    std::to_string(d.bytes_[i]) + " at offset " +
                    std::to_string(i) +
                    " is outside the model's vocabulary of " +
                    std::to_string(m.vocab) + " tokens");
  d.trainEnd_ = d.size_ * 9 / 10;
  size_t need = static_cast<size_t>(m.context) + 1;
  if (d.trainEnd_ < need || d.size_ - d.trainEnd_ < need)
    throw Error("data file '" + path + "' has " + std::to_string(d.size_) +
                " bytes: too short for context " + std::to_string(m.context) +
                " (both the 90 % training split and the 10 % validation "
                "split need at least " +
                std::to_string(need) + " bytes, so at least " +
                std::to_string(need * 10) + " bytes in all)");
  return d;
}

Batch Dataset::makeBatch(const Manifest &m) {
  Batch b;
  (m.rows() ? b.rows.resize(static_cast<size_t>(m.batchElements()))
            : b.tokens.resize(static_cast<size_t>(m.batchElements())));
  return b;
}

void Dataset::fill(Batch &out,
                   const std::function<size_t(int64_t)> &start) const {
  if (width_) { // row start(b) of the data
    size_t w = static_cast<size_t>(width_);
    out.rows.resize(static_cast<size_t>(batch_) * w);
    for (int64_t b = 0; b < batch_; ++b)
      std::copy_n(rows_.begin() + static_cast<long>(start(b) * w), w,
                  out.rows.begin() + static_cast<long>(b) * width_);
    return;
  }
  int64_t len = context_ + 1; // the window of bytes at offset start(b)
  out.tokens.resize(static_cast<size_t>(batch_ * len));
  for (int64_t b = 0; b < batch_; ++b) {
    size_t at = start(b);
    for (int64_t t = 0; t < len; ++t)
      out.tokens[b * len + t] = bytes_[at + static_cast<size_t>(t)];
  }
}

void Dataset::trainBatch(uint64_t seed, int64_t step, Batch &out) const {
  // Rows of the training split, or window starts that leave room for
  // context + 1 bytes in it.
  size_t span = width_ ? trainEnd_ : trainEnd_ - static_cast<size_t>(context_);
  fill(out, [&](int64_t b) {
    return randomBits(seed, kBatchStream,
                      static_cast<uint64_t>(step * batch_ + b)) %
           span;
  });
}

void Dataset::valBatch(int64_t index, int64_t count, Batch &out) const {
  if (width_) {
    fill(out, [&](int64_t b) {
      return trainEnd_ + static_cast<size_t>(index * batch_ + b) % valSize();
    });
    return;
  }
  size_t span = valSize() - static_cast<size_t>(context_) - 1;
  int64_t windows = count * batch_;
  fill(out, [&](int64_t b) {
    int64_t w = index * batch_ + b;
    return trainEnd_ + (windows > 1 ? span * static_cast<size_t>(w) /
                                          static_cast<size_t>(windows - 1)
                                    : 0);
  });
}

} // namespace nlrt
