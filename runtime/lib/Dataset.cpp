//===- Dataset.cpp - byte-level text data ---------------------------------===//

#include "Dataset.h"
#include "Random.h"
#include "Safetensors.h"

#include <cerrno>
#include <cstring>
#include <fstream>
#include <iterator>
#include <sys/stat.h>

namespace nlrt {

Dataset Dataset::load(const std::string &path, int64_t vocab, int64_t context) {
  struct stat st;
  if (stat(path.c_str(), &st) != 0)
    throw Error("cannot read data file '" + path +
                "': " + std::strerror(errno));
  if (!S_ISREG(st.st_mode))
    throw Error("data file '" + path + "' is not a regular file");
  std::ifstream in(path, std::ios::binary);
  if (!in)
    throw Error("cannot read data file '" + path +
                "': " + std::strerror(errno));
  Dataset d;
  d.path_ = path;
  d.bytes_.assign(std::istreambuf_iterator<char>(in),
                  std::istreambuf_iterator<char>());
  if (d.bytes_.empty())
    throw Error("data file '" + path + "' is empty");
  if (vocab < 256)
    for (size_t i = 0; i < d.bytes_.size(); ++i)
      if (d.bytes_[i] >= vocab)
        throw Error("data file '" + path + "': byte " +
                    std::to_string(d.bytes_[i]) + " at offset " +
                    std::to_string(i) +
                    " is outside the model's vocabulary of " +
                    std::to_string(vocab) + " tokens");
  d.trainEnd_ = d.bytes_.size() * 9 / 10;
  size_t need = static_cast<size_t>(context) + 1;
  if (d.trainEnd_ < need || d.bytes_.size() - d.trainEnd_ < need)
    throw Error("data file '" + path + "' has " +
                std::to_string(d.bytes_.size()) +
                " bytes: too short for context " + std::to_string(context) +
                " (both the 90 % training split and the 10 % validation "
                "split need at least " +
                std::to_string(need) + " bytes, so at least " +
                std::to_string(need * 10) + " bytes in all)");
  return d;
}

void Dataset::trainBatch(uint64_t seed, int64_t step, int64_t batch,
                         int64_t context, int32_t *out) const {
  size_t span = trainEnd_ - static_cast<size_t>(context); // start positions
  for (int64_t b = 0; b < batch; ++b) {
    size_t start = randomBits(seed, 0x62617463ull /* "batc" */,
                              static_cast<uint64_t>(step * batch + b)) %
                   span;
    for (int64_t t = 0; t <= context; ++t)
      out[b * (context + 1) + t] = bytes_[start + static_cast<size_t>(t)];
  }
}

void Dataset::valBatch(int64_t index, int64_t count, int64_t batch,
                       int64_t context, int32_t *out) const {
  size_t span = valTokens() - static_cast<size_t>(context) - 1;
  int64_t windows = count * batch;
  for (int64_t b = 0; b < batch; ++b) {
    int64_t w = index * batch + b;
    size_t start =
        trainEnd_ + (windows > 1 ? span * static_cast<size_t>(w) /
                                       static_cast<size_t>(windows - 1)
                                 : 0);
    for (int64_t t = 0; t <= context; ++t)
      out[b * (context + 1) + t] = bytes_[start + static_cast<size_t>(t)];
  }
}

} // namespace nlrt
