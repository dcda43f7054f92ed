//===- Model.cpp - a compiled model: manifest, state, checkpoints ---------===//

#include "Model.h"
#include "Random.h"

#include <fmt/core.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <new>

namespace nlrt {

int64_t firstNonFinite(const float *p, size_t n) {
  // Blocks of 1024 with a branch-free test (vectorizes): the training loop
  // scans every updated tensor after every step.
  constexpr size_t kBlock = 1024;
  for (size_t b = 0; b < n; b += kBlock) {
    size_t e = std::min(n, b + kBlock);
    uint32_t any = 0;
    for (size_t i = b; i < e; ++i) {
      uint32_t u;
      std::memcpy(&u, p + i, sizeof u);
      any |= (u & 0x7f800000u) == 0x7f800000u;
    }
    if (any)
      for (size_t i = b; i < e; ++i)
        if (!std::isfinite(p[i]))
          return static_cast<int64_t>(i);
  }
  return -1;
}

std::optional<uint64_t> parseCount(const std::string &text) {
  uint64_t x = 0;
  bool ok = !text.empty() && text.size() <= 20;
  for (char c : text)
    ok = ok && c >= '0' && c <= '9' &&
         !__builtin_mul_overflow(x, uint64_t(10), &x) &&
         !__builtin_add_overflow(x, uint64_t(c - '0'), &x);
  return ok ? std::optional<uint64_t>(x) : std::nullopt;
}

std::string indexText(const std::vector<int64_t> &shape, int64_t flat) {
  std::vector<int64_t> idx(shape.size());
  for (size_t d = shape.size(); d-- > 0;) {
    if (shape[d] > 0) {
      idx[d] = flat % shape[d];
      flat /= shape[d];
    }
  }
  std::string text = "[";
  for (size_t d = 0; d < idx.size(); ++d)
    text += (d ? ", " : "") + std::to_string(idx[d]);
  return text + "]";
}

int64_t TensorSpec::numel() const {
  int64_t n = 1;
  for (int64_t d : shape)
    n *= d;
  return n;
}

int64_t Manifest::batchElements() const {
  return batch * (rows() ? width : context + 1);
}

int64_t Manifest::stepsOf(const std::string &level) const {
  for (const LevelSpec &l : levels)
    if (l.name == level && l.unit == "steps")
      return l.every;
  return 1;
}

Manifest Manifest::parse(const char *text) {
  nlohmann::json j = nlohmann::json::parse(text, nullptr, false);
  if (j.is_discarded() || !j.is_object())
    throw Error("the model's manifest is not valid JSON (was the object "
                "compiled by this version of nlc?)");
  Manifest m;
  try {
    m.model = j.at("model").get<std::string>();
    m.dtype = j.value("dtype", "f32");
    m.target = j.value("target", "cpu");
    if (m.target != "cpu" && m.target != "cuda")
      throw Error("unknown target '" + m.target + "' in the manifest");
    m.batch = j.at("batch").get<int64_t>();
    m.input = j.value("input", "tokens");
    if (m.input == "rows") {
      m.width = j.at("width").get<int64_t>();
    } else if (m.input == "tokens") {
      m.vocab = j.at("vocab").get<int64_t>();
      m.context = j.at("context").get<int64_t>();
    } else {
      throw Error("the model's manifest has input '" + m.input +
                  "' (this runtime reads tokens or rows)");
    }
    if (j.contains("flops") && j["flops"].contains("train_step")) {
      const nlohmann::json &f = j["flops"]["train_step"];
      if (!f.value("lower_bound", true))
        m.trainStepFlops = f.at("contractions").get<double>() +
                           f.at("attention").get<double>();
    }
    for (auto &l : j.at("levels")) {
      LevelSpec s;
      s.name = l.at("name").get<std::string>();
      s.every = l.at("every").get<int64_t>();
      s.unit = l.at("unit").get<std::string>();
      s.parent = l.value("parent", "");
      s.optimizer = l.value("optimizer", "");
      s.memory = l.value("memory", false);
      m.levels.push_back(s);
    }
    for (auto &p : j.at("params")) {
      ParamSpec s;
      s.name = p.at("name").get<std::string>();
      s.level = p.value("level", "");
      s.init = p.at("init").get<std::string>();
      s.std = p.value("std", 0.02);
      s.shape = p.at("shape").get<std::vector<int64_t>>();
      m.params.push_back(s);
    }
    for (auto &[name, f] : j.at("functions").items()) {
      EntryPoint e;
      for (const char *part : {"args", "results"})
        for (auto &a : f.at(part)) {
          TensorSpec t;
          t.name = a.at("name").get<std::string>();
          t.role = a.at("role").get<std::string>();
          t.dtype = a.at("dtype").get<std::string>();
          t.level = a.value("level", "");
          t.shape = a.at("shape").get<std::vector<int64_t>>();
          t.commitFrom = a.value("commit_from", "");
          t.every = a.value("every", int64_t{0});
          t.memory = a.value("memory", false);
          if (!t.commitFrom.empty() && t.every < 1)
            throw Error("the model's manifest is malformed: stream tensor '" +
                        t.name + "' has no positive 'every'");
          (std::string(part) == "args" ? e.args : e.results).push_back(t);
        }
      m.functions[name] = e;
    }
    m.noStream = j.value("no_stream", "");
  } catch (const nlohmann::json::exception &e) {
    throw Error(std::string("the model's manifest is malformed: ") + e.what());
  }
  if (m.dtype != "f32")
    throw Error("the model was compiled for " + m.dtype +
                "; executables run f32 models (compile without --f64)");
  for (const char *f : {"train_step", "loss", "loss_grad"})
    if (!m.functions.count(f))
      throw Error(std::string("the model's manifest has no entry point ") + f);
  return m;
}

Buffer::Buffer(size_t n) : n_(n) {
  if (n) {
    size_t bytes = (n * sizeof(float) + 63) / 64 * 64;
    ptr_ = static_cast<float *>(std::aligned_alloc(64, bytes));
    if (!ptr_)
      throw std::bad_alloc();
    std::memset(ptr_, 0, bytes);
  }
}
Buffer::Buffer(Buffer &&o) noexcept : ptr_(o.ptr_), n_(o.n_) {
  o.ptr_ = nullptr;
  o.n_ = 0;
}
Buffer &Buffer::operator=(Buffer &&o) noexcept {
  std::swap(ptr_, o.ptr_);
  std::swap(n_, o.n_);
  return *this;
}
Buffer::~Buffer() { std::free(ptr_); }

Model::Model(Manifest manifest) : m_(std::move(manifest)) {}

const EntryPoint &Model::entry(const std::string &name) const {
  return m_.functions.at(name);
}

State Model::allocate(uint64_t seed) const {
  State s;
  s.seed = seed;
  for (const TensorSpec &t : entry("train_step").args)
    if (t.role == "param" || t.role == "state")
      s.tensors.emplace(t.name, Buffer(static_cast<size_t>(t.numel())));
  return s;
}

State Model::init(uint64_t seed) const {
  State s = allocate(seed);
  std::map<std::string, const ParamSpec *> specs;
  for (const ParamSpec &p : m_.params)
    specs[p.name] = &p;
  uint64_t stream = 0;
  for (const TensorSpec &t : entry("train_step").args) {
    if (t.role != "param" && t.role != "state")
      continue;
    ++stream;
    const ParamSpec *p =
        t.role == "param" && specs.count(t.name) ? specs[t.name] : nullptr;
    if (p) {
      Buffer &b = s.tensors.at(t.name);
      float *d = b.data();
      if (p->init == "ones") {
        for (size_t i = 0; i < b.size(); ++i)
          d[i] = 1.0f;
      } else if (p->init == "normal") {
        for (size_t i = 0; i < b.size(); ++i)
          d[i] = static_cast<float>(p->std * randomNormal(seed, stream, i));
      } else if (p->init == "uniform") {
        for (size_t i = 0; i < b.size(); ++i)
          d[i] = static_cast<float>(p->std *
                                    (2 * randomUniform(seed, stream, i) - 1));
      } else if (p->init == "identity") {
        int64_t n = t.shape.empty() ? 1 : t.shape.back();
        for (int64_t i = 0; i < n && i * n + i < t.numel(); ++i)
          d[i * n + i] = 1.0f;
      }
    }
  }
  return s;
}

std::vector<std::pair<std::string, std::string>>
Model::dataShapeMetadata() const {
  return {{"nl.batch", std::to_string(m_.batch)},
          {m_.rows() ? "nl.width" : "nl.context",
           std::to_string(m_.rows() ? m_.width : m_.context)}};
}

std::string Model::signature() const {
  std::string sig = m_.model;
  for (const TensorSpec &t : entry("train_step").args) {
    if (t.role != "param" && t.role != "state")
      continue;
    sig += ";" + t.name + "[";
    for (size_t i = 0; i < t.shape.size(); ++i)
      sig += (i ? "," : "") + std::to_string(t.shape[i]);
    sig += "]";
  }
  return std::to_string(splitmix64(std::hash<std::string>()(sig)));
}

void Model::save(const State &state, const std::string &path,
                 const std::map<std::string, std::string> &extra) const {
  Safetensors file;
  for (const auto &[name, b] : state.tensors) {
    StoredTensor t;
    t.dtype = "F32";
    for (const TensorSpec &s : entry("train_step").args)
      if (s.name == name)
        t.shape = s.shape;
    const char *bytes = reinterpret_cast<const char *>(b.data());
    t.bytes.assign(bytes, bytes + b.size() * sizeof(float));
    file.tensors.emplace(name, std::move(t));
  }
  file.metadata = extra;
  file.metadata["nl.model"] = m_.model;
  file.metadata["nl.signature"] = signature();
  for (const auto &[key, value] : dataShapeMetadata())
    file.metadata[key] = value;
  file.metadata["nl.step"] = std::to_string(state.step);
  file.metadata["nl.seed"] = std::to_string(state.seed);
  file.metadata["nl.rng"] = "splitmix64 keyed by (nl.seed, stream, step)";
  writeSafetensors(path, file);
}

State Model::load(const std::string &path,
                  std::map<std::string, std::string> *metadata) const {
  Safetensors file = readSafetensors(path);
  auto meta = [&](const char *key) -> std::string {
    auto it = file.metadata.find(key);
    if (it == file.metadata.end())
      throw Error("'" + path + "' is not an nlc checkpoint: no " + key +
                  " in its metadata");
    return it->second;
  };
  if (meta("nl.model") != m_.model)
    throw Error("'" + path + "' is a checkpoint of model '" + meta("nl.model") +
                "', not of '" + m_.model + "'");
  State s;
  // Non-negative decimal integers only (stoll would take "-1" or "2.5").
  auto count = [&](const char *key) -> uint64_t {
    std::string v = meta(key);
    std::optional<uint64_t> x = parseCount(v);
    if (!x)
      throw Error("'" + path + "' has " + key + " = '" + v +
                  "': not a non-negative integer (corrupted?)");
    return *x;
  };
  uint64_t step = count("nl.step");
  if (step > static_cast<uint64_t>(std::numeric_limits<int64_t>::max()))
    throw Error("'" + path + "' has nl.step = " + std::to_string(step) +
                ": out of range (corrupted?)");
  s.step = static_cast<int64_t>(step);
  s.seed = count("nl.seed");
  for (const TensorSpec &t : entry("train_step").args) {
    if (t.role != "param" && t.role != "state")
      continue;
    auto it = file.tensors.find(t.name);
    if (it == file.tensors.end())
      throw Error("'" + path + "' lacks tensor '" + t.name +
                  "': a checkpoint of another configuration of '" + m_.model +
                  "'?");
    if (it->second.dtype != "F32" || it->second.shape != t.shape) {
      std::string want, got;
      for (int64_t d : t.shape)
        want += (want.empty() ? "" : "x") + std::to_string(d);
      for (int64_t d : it->second.shape)
        got += (got.empty() ? "" : "x") + std::to_string(d);
      throw Error("'" + path + "': tensor '" + t.name + "' is " +
                  it->second.dtype + " [" + got + "], the model needs F32 [" +
                  want + "] (a checkpoint of another configuration?)");
    }
    Buffer b(static_cast<size_t>(t.numel()));
    std::memcpy(b.data(), it->second.bytes.data(), it->second.bytes.size());
    int64_t bad = firstNonFinite(b.data(), b.size());
    if (bad >= 0)
      throw Error(fmt::format("'{}': tensor '{}' holds a non-finite value "
                              "({}) at index {} (a diverged or corrupted "
                              "checkpoint)",
                              path, t.name, b.data()[bad],
                              indexText(t.shape, bad)));
    s.tensors.emplace(t.name, std::move(b));
  }
  if (meta("nl.signature") != signature())
    throw Error("'" + path + "' was written by a different build of '" +
                m_.model + "' (its parameters or state differ)");
  if (metadata)
    *metadata = file.metadata;
  return s;
}

} // namespace nlrt
