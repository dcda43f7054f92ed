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

void checkRegularFile(const std::string &path, const std::string &what) {
  struct stat st;
  if (stat(path.c_str(), &st) != 0)
    throw Error("cannot read " + what + " '" + path +
                "': " + std::strerror(errno));
  if (!S_ISREG(st.st_mode))
    throw Error(what + " '" + path + "' is not a regular file");
}

namespace {

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
  checkRegularFile(path, "data file");
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
  if (path.size() > 12 &&
      path.compare(path.size() - 12, 12, ".safetensors") == 0) {
    d.loadMasked(m);
    return d;
  }
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

void Dataset::loadMasked(const Manifest &m) {
  const std::string what =
      "a token model reads from a .safetensors file I32 'tokens' [sequences, " +
      std::to_string(m.context + 1) + "] and I32 'mask' [sequences, " +
      std::to_string(m.context) + "] (docs/language.md, \"Loss masks\")";
  Safetensors file;
  try {
    file = readSafetensors(path_);
  } catch (const Error &e) {
    throw Error(std::string(e.what()) + " (" + what + ")");
  }
  auto get = [&](const char *name, int64_t width) -> const StoredTensor & {
    auto it = file.tensors.find(name);
    if (it == file.tensors.end())
      throw Error("data file '" + path_ + "' has no tensor '" + name + "' (" +
                  what + ")");
    const StoredTensor &t = it->second;
    if (t.dtype != "I32" || t.shape.size() != 2 || t.shape[1] != width)
      throw Error("data file '" + path_ + "': tensor '" + name + "' is " +
                  t.dtype + " " + shapeString(t.shape) + "; " + what);
    return t;
  };
  const StoredTensor &tokens = get("tokens", m.context + 1);
  const StoredTensor &mask = get("mask", m.context);
  if (tokens.shape[0] != mask.shape[0])
    throw Error("data file '" + path_ + "': 'tokens' holds " +
                std::to_string(tokens.shape[0]) + " sequences and 'mask' " +
                std::to_string(mask.shape[0]));
  for (const auto &[name, t] : file.tensors)
    if (name != "tokens" && name != "mask")
      throw Error("data file '" + path_ + "': unexpected tensor '" + name +
                  "' (" + what + ")");
  masked_ = true;
  size_ = static_cast<size_t>(tokens.shape[0]);
  size_t len = static_cast<size_t>(m.context) + 1;
  sequences_.resize(size_ * len);
  std::memcpy(sequences_.data(), tokens.bytes.data(),
              sequences_.size() * sizeof(int32_t));
  std::vector<int32_t> flags(size_ * (len - 1));
  std::memcpy(flags.data(), mask.bytes.data(), flags.size() * sizeof(int32_t));
  counted_.assign(size_, 0);
  int64_t total = 0;
  for (size_t n = 0; n < size_; ++n)
    for (size_t t = 0; t < len; ++t) {
      int32_t &id = sequences_[n * len + t];
      if (id < 0 || id >= m.vocab)
        throw Error("data file '" + path_ + "': token " + std::to_string(id) +
                    " of sequence " + std::to_string(n) + " at position " +
                    std::to_string(t) +
                    " is outside the model's vocabulary "
                    "of " +
                    std::to_string(m.vocab) + " tokens");
      if (t == 0)
        continue; // never a target
      int32_t f = flags[n * (len - 1) + t - 1];
      if (f != 0 && f != 1)
        throw Error("data file '" + path_ + "': mask of sequence " +
                    std::to_string(n) + " at position " +
                    std::to_string(t - 1) + " is " + std::to_string(f) +
                    "; it must be 0 or 1");
      if (f)
        ++counted_[n];
      else
        id = uncountedToken(id); // read as its id, not counted in the loss
    }
  for (int64_t c : counted_)
    total += c;
  trainEnd_ = size_ * 9 / 10;
  if (trainEnd_ < 1 || size_ - trainEnd_ < 1)
    throw Error("data file '" + path_ + "' has " + std::to_string(size_) +
                " sequence(s): too few for a 90 % training and a 10 % "
                "validation split of at least one sequence each (at least 2)");
  if (total == 0)
    throw Error("data file '" + path_ +
                "': its mask is 0 everywhere, so no "
                "target counts in the loss");
  int64_t trained = 0;
  for (size_t n = 0; n < trainEnd_; ++n)
    trained += counted_[n];
  if (trained == 0)
    throw Error("data file '" + path_ +
                "': no target counts in its training "
                "split (the first " +
                std::to_string(trainEnd_) +
                " sequences), so training would learn nothing");
  if (trained == total)
    throw Error("data file '" + path_ +
                "': no target counts in its "
                "validation split (the last " +
                std::to_string(size_ - trainEnd_) +
                " sequences), so there is no validation loss");
}

int64_t Dataset::valCounted(int64_t batches) const {
  if (!masked_)
    return batches * batch_ * context_;
  int64_t counted = 0;
  for (int64_t i = 0; i < batches; ++i)
    for (int64_t b = 0; b < batch_; ++b)
      counted += counted_[valRow(i, b)];
  return counted;
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
  if (masked_) { // sequence start(b)
    out.counted = 0;
    for (int64_t b = 0; b < batch_; ++b) {
      size_t n = start(b);
      std::copy_n(sequences_.begin() + static_cast<long>(n) * len, len,
                  out.tokens.begin() + b * len);
      out.counted += counted_[n];
    }
    return;
  }
  out.counted = batch_ * context_;
  for (int64_t b = 0; b < batch_; ++b) {
    size_t at = start(b);
    for (int64_t t = 0; t < len; ++t)
      out.tokens[b * len + t] = bytes_[at + static_cast<size_t>(t)];
  }
}

void Dataset::trainBatch(uint64_t seed, int64_t step, Batch &out) const {
  // Rows of the training split, or window starts that leave room for
  // context + 1 bytes in it.
  size_t span =
      width_ || masked_ ? trainEnd_ : trainEnd_ - static_cast<size_t>(context_);
  fill(out, [&](int64_t b) {
    return randomBits(seed, kBatchStream,
                      static_cast<uint64_t>(step * batch_ + b)) %
           span;
  });
}

void Dataset::valBatch(int64_t index, int64_t count, Batch &out) const {
  if (width_ || masked_) {
    fill(out, [&](int64_t b) { return valRow(index, b); });
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
