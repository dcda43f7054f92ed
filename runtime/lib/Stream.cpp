//===- Stream.cpp - one token stream read with carried memory state -------===//

#include "Stream.h"
#include "Safetensors.h"

#include "nlrt/nlrt.h"

#include <fmt/format.h>

#include <algorithm>
#include <cstring>
#include <numeric>

// Only models with stream entry points define them (docs/streaming.md).
#pragma weak nl_stream_init
#pragma weak nl_decode
#pragma weak nl_prefill

namespace nlrt {

namespace {

const TensorSpec *tokensArg(const EntryPoint &e) {
  for (const TensorSpec &t : e.args)
    if (t.role == "tokens")
      return &t;
  return nullptr;
}

} // namespace

Stream::Stream(const Model &model, State &params)
    : model_(model), params_(params) {
  const Manifest &m = model.manifest();
  if (!m.hasStream() || !nl_stream_init || !nl_decode)
    throw Error(fmt::format("'{}' has no stream entry points{}", m.model,
                            m.noStream.empty()
                                ? std::string(" (rebuild it with nlc --stream)")
                                : ": " + m.noStream));
  for (const TensorSpec &t : model.entry("stream_init").results) {
    cur_.emplace(t.name, Buffer(static_cast<size_t>(t.numel())));
    next_.emplace(t.name, Buffer(static_cast<size_t>(t.numel())));
    if (!t.commitFrom.empty()) {
      commits_.push_back(t);
      period_ = std::lcm(period_, t.every);
    }
  }
  if (m.functions.count("prefill") && nl_prefill)
    if (const TensorSpec *t = tokensArg(model.entry("prefill")))
      prefillTokens_ = t->numel();
  if (prefillTokens_ % period_ != 0)
    throw Error(fmt::format("the model's manifest is malformed: prefill "
                            "reads {} tokens, not whole chunks of {}",
                            prefillTokens_, period_));
  size_t most = static_cast<size_t>(std::max<int64_t>(prefillTokens_, 1));
  tokens_.resize(most);
  logits_ = Buffer(most * static_cast<size_t>(m.vocab));
  // The state before the first token.
  std::vector<void *> ptrs;
  for (const TensorSpec &t : model.entry("stream_init").args)
    ptrs.push_back(params_.tensors.at(t.name).data());
  for (const TensorSpec &t : model.entry("stream_init").results)
    ptrs.push_back(cur_.at(t.name).data());
  nl_stream_init(ptrs.data());
  for (auto &[name, b] : cur_) {
    Buffer copy(b.size());
    std::memcpy(copy.data(), b.data(), b.size() * sizeof(float));
    init_.emplace(name, std::move(copy));
  }
}

size_t Stream::stateElements() const {
  size_t n = 0;
  for (auto &[name, b] : cur_)
    n += b.size();
  return n;
}

std::vector<std::string> Stream::changedMemories() const {
  std::vector<std::string> changed;
  for (const TensorSpec &t : model_.entry("stream_init").results)
    if (t.memory &&
        std::memcmp(cur_.at(t.name).data(), init_.at(t.name).data(),
                    static_cast<size_t>(t.numel()) * sizeof(float)) != 0)
      changed.push_back(t.name);
  return changed;
}

void Stream::call(const std::string &entry, void (*fn)(void **),
                  const int32_t *tokens, size_t n, float *logits) {
  const EntryPoint &e = model_.entry(entry);
  std::copy(tokens, tokens + n, tokens_.begin());
  memorizeFlag_ = memorize ? 1.0f : 0.0f;
  std::vector<void *> ptrs;
  ptrs.reserve(e.args.size() + e.results.size());
  for (const TensorSpec &t : e.args) {
    if (t.role == "tokens")
      ptrs.push_back(tokens_.data());
    else if (t.role == "memorize")
      ptrs.push_back(&memorizeFlag_);
    else if (t.role == "stream")
      ptrs.push_back(cur_.at(t.name).data());
    else
      ptrs.push_back(params_.tensors.at(t.name).data());
  }
  for (const TensorSpec &t : e.results)
    ptrs.push_back(t.role == "logits" ? logits_.data()
                                      : next_.at(t.name).data());
  fn(ptrs.data());
  std::swap(cur_, next_);
  if (!carry)
    for (auto &[name, b] : cur_)
      std::memcpy(b.data(), init_.at(name).data(), b.size() * sizeof(float));
  if (logits)
    std::memcpy(logits, logits_.data(),
                n * static_cast<size_t>(model_.manifest().vocab) *
                    sizeof(float));
}

void Stream::feed(const int32_t *tokens, size_t n, float *logits) {
  const size_t vocab = static_cast<size_t>(model_.manifest().vocab);
  for (size_t i = 0; i < n; ++i)
    if (tokens[i] < 0 || static_cast<size_t>(tokens[i]) >= vocab)
      throw Error(fmt::format("token {} at stream position {} is outside the "
                              "vocabulary of {}",
                              tokens[i], pos_ + static_cast<int64_t>(i),
                              vocab));
  size_t i = 0;
  while (i < n) {
    size_t block = static_cast<size_t>(prefillTokens_);
    if (!decodeOnly && block && pos_ % period_ == 0 && n - i >= block) {
      call("prefill", nl_prefill, tokens + i, block,
           logits ? logits + i * vocab : nullptr);
      pos_ += static_cast<int64_t>(block);
      i += block;
      continue;
    }
    call("decode", nl_decode, tokens + i, 1,
         logits ? logits + i * vocab : nullptr);
    ++pos_;
    ++i;
    // A memory whose chunk ends here starts its next chunk from its
    // current state.
    for (const TensorSpec &c : commits_)
      if (commit && pos_ % c.every == 0) {
        Buffer &to = cur_.at(c.name);
        std::memcpy(to.data(), cur_.at(c.commitFrom).data(),
                    to.size() * sizeof(float));
      }
  }
}

std::string Stream::signature() const {
  std::string s = model_.signature() + ";stream";
  for (const TensorSpec &t : model_.entry("stream_init").results) {
    s += ";" + t.name + ":";
    for (int64_t d : t.shape)
      s += std::to_string(d) + ",";
    if (t.every)
      s += "every" + std::to_string(t.every);
  }
  return s;
}

void Stream::save(const std::string &path) const {
  Safetensors file;
  for (const TensorSpec &t : model_.entry("stream_init").results) {
    const Buffer &b = cur_.at(t.name);
    StoredTensor st{"F32", t.shape, {}};
    st.bytes.resize(static_cast<size_t>(t.numel()) * sizeof(float));
    std::memcpy(st.bytes.data(), b.data(), st.bytes.size());
    file.tensors.emplace(t.name, std::move(st));
  }
  file.metadata["nl.model"] = model_.manifest().model;
  file.metadata["nl.stream_position"] = std::to_string(pos_);
  file.metadata["nl.stream_signature"] = signature();
  writeSafetensors(path, file);
}

void Stream::load(const std::string &path) {
  Safetensors file = readSafetensors(path);
  auto meta = [&](const char *key) {
    auto it = file.metadata.find(key);
    return it == file.metadata.end() ? std::string() : it->second;
  };
  const std::string &model = model_.manifest().model;
  if (meta("nl.model") != model)
    throw Error(
        fmt::format("'{}' is not a stream state of '{}'{}", path, model,
                    meta("nl.model").empty()
                        ? ""
                        : " (it is one of '" + meta("nl.model") + "')"));
  if (meta("nl.stream_signature").empty())
    throw Error(fmt::format("'{}' is not a stream state (it has no "
                            "nl.stream_signature; a checkpoint? --state-out "
                            "writes stream states)",
                            path));
  if (meta("nl.stream_signature") != signature())
    throw Error(fmt::format("'{}' is a stream state of another configuration "
                            "or build of '{}' (its tensors differ)",
                            path, model));
  std::optional<uint64_t> pos = parseCount(meta("nl.stream_position"));
  if (!pos || *pos > static_cast<uint64_t>(INT64_MAX / 2))
    throw Error(fmt::format("'{}': nl.stream_position '{}' is not a "
                            "position (a non-negative integer)",
                            path, meta("nl.stream_position")));
  std::map<std::string, Buffer> loaded;
  for (const TensorSpec &t : model_.entry("stream_init").results) {
    auto it = file.tensors.find(t.name);
    if (it == file.tensors.end() || it->second.dtype != "F32" ||
        it->second.shape != t.shape)
      throw Error(fmt::format("'{}': tensor '{}' is missing or not F32 of "
                              "the model's shape",
                              path, t.name));
    Buffer b(static_cast<size_t>(t.numel()));
    std::memcpy(b.data(), it->second.bytes.data(), it->second.bytes.size());
    int64_t bad = firstNonFinite(b.data(), b.size());
    if (bad >= 0)
      throw Error(fmt::format("'{}': tensor '{}' holds a non-finite value "
                              "({}) at index {}",
                              path, t.name, b.data()[bad],
                              indexText(t.shape, bad)));
    loaded.emplace(t.name, std::move(b));
  }
  if (file.tensors.size() != loaded.size())
    throw Error(fmt::format("'{}' holds {} tensors, the stream state has {}",
                            path, file.tensors.size(), loaded.size()));
  cur_ = std::move(loaded);
  pos_ = static_cast<int64_t>(*pos);
}

} // namespace nlrt
