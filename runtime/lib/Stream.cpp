//===- Stream.cpp - one token stream read with carried memory state -------===//

#include "Stream.h"
#include "Safetensors.h"

#include "nlrt/nlrt.h"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstring>
#include <numeric>
#include <optional>

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

/// What a stream that learns online keeps (Stream::learnOnline).
struct Stream::Online {
  std::vector<std::string> levels;
  /// The parameters and optimizer-state tensors that learn.
  std::vector<std::string> tensors;
  /// train_step's results (the tensors of `tensors` are kept from it).
  State next;
  /// Tokens read since the last test-time step (at most `tokens`).
  std::vector<int32_t> history;
  std::vector<int32_t> batch; // [B, T + 1]
  std::map<std::string, float> fire;
  std::map<std::string, int64_t> fired;
  int64_t tokens = 0;    // B x T
  int64_t firstStep = 0; // the checkpoint's step
  int64_t steps = 0;     // test-time steps taken, in total
  int64_t stepsHere = 0; // by this object
  float lrScale = 1, step = 0, loss = 0;
};

Stream::~Stream() = default;

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

namespace {

/// "a,b,c" (the levels of --online-levels, as a state file names them).
std::string joinLevels(const std::vector<std::string> &levels) {
  std::string s;
  for (const std::string &l : levels)
    s += (s.empty() ? "" : ",") + l;
  return s;
}

/// The names of "a,b,c" (joinLevels' inverse; "" is one empty name).
std::vector<std::string> splitLevels(const std::string &list) {
  std::vector<std::string> names;
  for (size_t b = 0; b <= list.size();) {
    size_t e = std::min(list.find(',', b), list.size());
    names.push_back(list.substr(b, e - b));
    b = e + 1;
  }
  return names;
}

/// The levels of `m` among `names`, once each, slowest first (the
/// manifest's order).
std::vector<std::string> inModelOrder(const Manifest &m,
                                      const std::vector<std::string> &names) {
  std::vector<std::string> ordered;
  for (const LevelSpec &l : m.levels)
    if (std::find(names.begin(), names.end(), l.name) != names.end())
      ordered.push_back(l.name);
  return ordered;
}

/// Names in the model's order: numbers compared as numbers ("layer.2" before
/// "layer.10"), so that an earlier layer's tensors come first.
bool modelOrder(const std::string &a, const std::string &b) {
  size_t i = 0, j = 0;
  while (i < a.size() && j < b.size()) {
    if (std::isdigit(static_cast<unsigned char>(a[i])) &&
        std::isdigit(static_cast<unsigned char>(b[j]))) {
      size_t ei = i, ej = j;
      while (ei < a.size() && std::isdigit(static_cast<unsigned char>(a[ei])))
        ++ei;
      while (ej < b.size() && std::isdigit(static_cast<unsigned char>(b[ej])))
        ++ej;
      std::string x = a.substr(i, ei - i), y = b.substr(j, ej - j);
      if (x.size() != y.size())
        return x.size() < y.size();
      if (x != y)
        return x < y;
      i = ei;
      j = ej;
    } else if (a[i] != b[j]) {
      return a[i] < b[j];
    } else {
      ++i;
      ++j;
    }
  }
  return a.size() - i < b.size() - j;
}

} // namespace

std::string Stream::nonFiniteState() const {
  std::vector<const TensorSpec *> specs;
  for (const TensorSpec &t : model_.entry("stream_init").results)
    specs.push_back(&t);
  std::stable_sort(specs.begin(), specs.end(),
                   [](const TensorSpec *a, const TensorSpec *b) {
                     return modelOrder(a->name, b->name);
                   });
  std::string first;
  int others = 0;
  for (const TensorSpec *t : specs) {
    const Buffer &b = cur_.at(t->name);
    int64_t bad = nlrt::firstNonFinite(b.data(), b.size());
    if (bad < 0)
      continue;
    if (!first.empty()) {
      ++others;
      continue;
    }
    const char *kind =
        !t->memory               ? "cache"
        : !t->commitFrom.empty() ? "chunk-start state"
        : t->name.size() > 4 &&
                t->name.compare(t->name.size() - 4, 4, ".mom") == 0
            ? "momentum"
            : "memory state";
    first = fmt::format("{} '{}' at {} ({})", kind, t->name,
                        indexText(t->shape, bad), b.data()[bad]);
  }
  if (others)
    first += fmt::format(", and {} other state tensor{}", others,
                         others == 1 ? "" : "s");
  return first;
}

std::string Stream::largestMemoryValue() const {
  std::string name;
  float most = -1;
  for (const TensorSpec &t : model_.entry("stream_init").results) {
    if (!t.memory)
      continue;
    const Buffer &b = cur_.at(t.name);
    for (size_t i = 0; i < b.size(); ++i)
      if (std::isfinite(b.data()[i]) && std::fabs(b.data()[i]) > most) {
        most = std::fabs(b.data()[i]);
        name = t.name;
      }
  }
  return name.empty() ? std::string()
                      : fmt::format("{:.3g} in '{}'", most, name);
}

Stream::Snapshot Stream::snapshot() const {
  if (online_)
    throw Error("a stream that learns online (--online-levels) has no "
                "snapshot: its parameters change");
  Snapshot s;
  s.pos = pos_;
  for (auto &[name, b] : cur_) {
    Buffer copy(b.size());
    std::memcpy(copy.data(), b.data(), b.size() * sizeof(float));
    s.state.emplace(name, std::move(copy));
  }
  return s;
}

void Stream::restore(const Snapshot &s) {
  pos_ = s.pos;
  for (auto &[name, b] : cur_)
    std::memcpy(b.data(), s.state.at(name).data(), b.size() * sizeof(float));
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

void Stream::learnOnline(const std::string &spec, float lrScale) {
  const Manifest &m = model_.manifest();
  const EntryPoint &e = model_.entry("train_step");
  std::map<std::string, int64_t> paramsOf; // outer levels' parameter counts
  for (const TensorSpec &t : e.args)
    if (t.role == "param")
      ++paramsOf[t.level];
  std::string known;
  for (const LevelSpec &l : m.levels)
    known += fmt::format("{}{} ({}every {} {})", known.empty() ? "" : ", ",
                         l.name, l.memory ? "memory, " : "", l.every, l.unit);
  auto online = std::make_unique<Online>();
  if (spec == "all") {
    for (const LevelSpec &l : m.levels)
      if (!l.memory && l.unit == "steps" && l.every > 1 &&
          paramsOf.count(l.name))
        online->levels.push_back(l.name);
    if (online->levels.empty())
      throw Error(fmt::format(
          "--online-levels: '{}' has no level slower than a step (its levels: "
          "{}); name the levels to train at test time "
          "(--online-levels=NAME,...)",
          m.model, known));
  } else {
    for (const std::string &name : splitLevels(spec)) {
      auto l = std::find_if(m.levels.begin(), m.levels.end(),
                            [&](const LevelSpec &x) { return x.name == name; });
      if (l == m.levels.end())
        throw Error(fmt::format("--online-levels: '{}' has no level '{}' (its "
                                "levels: {})",
                                m.model, name, known));
      if (l->memory)
        throw Error(fmt::format(
            "--online-levels: '{}' is a memory level: it learns in the stream "
            "already, by its inner objective (--memorize off freezes it)",
            name));
      if (!paramsOf.count(name))
        throw Error(fmt::format("--online-levels: level '{}' has no "
                                "parameters of its own to learn",
                                name));
      online->levels.push_back(name);
    }
  }
  // The levels' parameters, and the optimizer state of each ("<param>.<s>").
  std::map<std::string, std::string> levelOf;
  for (const TensorSpec &t : e.args)
    if (t.role == "param")
      levelOf[t.name] = t.level;
  auto learns = [&](const std::string &param) {
    auto it = levelOf.find(param);
    return it != levelOf.end() &&
           std::find(online->levels.begin(), online->levels.end(),
                     it->second) != online->levels.end();
  };
  for (const TensorSpec &t : e.args) {
    if (t.role == "fire")
      online->fire[t.level] = 0;
    if (t.role == "param"   ? learns(t.name)
        : t.role == "state" ? learns(t.name.substr(0, t.name.rfind('.')))
                            : false)
      online->tensors.push_back(t.name);
  }
  // Once each, in the model's order (as the state file names them).
  online->levels = inModelOrder(m, online->levels);
  for (const std::string &l : online->levels)
    online->fired[l] = 0;
  online->tokens = m.batch * m.context;
  online->batch.resize(static_cast<size_t>(m.batch * (m.context + 1)));
  online->next = model_.allocate(params_.seed);
  online->firstStep = params_.step;
  online->lrScale = lrScale;
  online_ = std::move(online);
}

std::vector<std::string> Stream::onlineLevels() const {
  return online_ ? online_->levels : std::vector<std::string>{};
}
int64_t Stream::onlineSteps() const { return online_ ? online_->steps : 0; }
int64_t Stream::onlineStepsHere() const {
  return online_ ? online_->stepsHere : 0;
}
std::map<std::string, int64_t> Stream::onlineFirings() const {
  return online_ ? online_->fired : std::map<std::string, int64_t>{};
}
int64_t Stream::onlineTokens() const { return online_ ? online_->tokens : 0; }

void Stream::onlineStep(int32_t next) {
  Online &o = *online_;
  const Manifest &m = model_.manifest();
  const EntryPoint &e = model_.entry("train_step");
  // Row r: the tokens r T .. r T + T of the history, the last row's target
  // the token about to be read.
  const size_t T = static_cast<size_t>(m.context);
  for (size_t r = 0; r < static_cast<size_t>(m.batch); ++r) {
    std::copy(o.history.begin() + static_cast<long>(r * T),
              o.history.begin() + static_cast<long>(r * T + T),
              o.batch.begin() + static_cast<long>(r * (T + 1)));
    o.batch[r * (T + 1) + T] =
        r + 1 < static_cast<size_t>(m.batch) ? o.history[(r + 1) * T] : next;
  }
  int64_t t = o.firstStep + o.steps + 1;
  o.step = static_cast<float>(t);
  for (auto &[level, flag] : o.fire)
    flag =
        std::find(o.levels.begin(), o.levels.end(), level) != o.levels.end() &&
                t % m.stepsOf(level) == 0
            ? 1.0f
            : 0.0f;
  std::vector<void *> ptrs;
  ptrs.reserve(e.args.size() + e.results.size());
  for (const TensorSpec &a : e.args) {
    if (a.role == "param" || a.role == "state")
      ptrs.push_back(params_.tensors.at(a.name).data());
    else if (a.role == "step")
      ptrs.push_back(&o.step);
    else if (a.role == "lr_scale")
      ptrs.push_back(&o.lrScale);
    else if (a.role == "fire")
      ptrs.push_back(&o.fire.at(a.level));
    else if (a.role == "tokens")
      ptrs.push_back(o.batch.data());
    else
      throw Error("the train_step argument '" + a.name + "' has role '" +
                  a.role + "', which --online-levels does not know");
  }
  for (const TensorSpec &r : e.results)
    ptrs.push_back(r.role == "loss" ? static_cast<void *>(&o.loss)
                                    : o.next.tensors.at(r.name).data());
  nl_train_step(ptrs.data());
  std::string where = fmt::format(
      "test-time step {} (--online-levels, tokens {} to {} of the stream)",
      o.steps + 1, pos_ - o.tokens, pos_);
  if (!std::isfinite(o.loss))
    throw NonFinite(fmt::format("{}: the loss is {}", where, o.loss));
  for (const std::string &name : o.tensors) {
    const Buffer &b = o.next.tensors.at(name);
    int64_t bad = firstNonFinite(b.data(), b.size());
    if (bad >= 0)
      throw NonFinite(fmt::format("{}: '{}' is not finite after it ({} at "
                                  "index {})",
                                  where, name, b.data()[bad], bad));
  }
  for (const std::string &name : o.tensors) {
    Buffer &to = params_.tensors.at(name);
    std::memcpy(to.data(), o.next.tensors.at(name).data(),
                to.size() * sizeof(float));
  }
  // A level of every step has no fire flag: it steps every time.
  for (const std::string &level : o.levels) {
    auto f = o.fire.find(level);
    if (f == o.fire.end() || f->second != 0)
      ++o.fired[level];
  }
  ++o.steps;
  ++o.stepsHere;
  o.history.clear();
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
    size_t block = static_cast<size_t>(prefillTokens_), left = n - i;
    if (online_) {
      // A test-time step once B x T tokens are read, before the next one;
      // no call reads past the next such boundary.
      if (static_cast<int64_t>(online_->history.size()) == online_->tokens)
        onlineStep(tokens[i]);
      left = std::min(
          left, static_cast<size_t>(online_->tokens - online_->history.size()));
    }
    if (!decodeOnly && block && pos_ % period_ == 0 && left >= block) {
      call("prefill", nl_prefill, tokens + i, block,
           logits ? logits + i * vocab : nullptr);
      if (online_)
        online_->history.insert(online_->history.end(), tokens + i,
                                tokens + i + block);
      pos_ += static_cast<int64_t>(block);
      i += block;
      continue;
    }
    if (online_)
      online_->history.push_back(tokens[i]);
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
  if (online_) {
    for (const std::string &name : online_->tensors) {
      const Buffer &b = params_.tensors.at(name);
      StoredTensor st{"F32", {static_cast<int64_t>(b.size())}, {}};
      st.bytes.resize(b.size() * sizeof(float));
      std::memcpy(st.bytes.data(), b.data(), st.bytes.size());
      file.tensors.emplace("online." + name, std::move(st));
    }
    const std::vector<int32_t> &h = online_->history;
    StoredTensor st{"I32", {static_cast<int64_t>(h.size())}, {}};
    st.bytes.resize(h.size() * sizeof(int32_t));
    if (!h.empty())
      std::memcpy(st.bytes.data(), h.data(), st.bytes.size());
    file.tensors.emplace("online.history", std::move(st));
    file.metadata["nl.online_levels"] = joinLevels(online_->levels);
    file.metadata["nl.online_steps"] = std::to_string(online_->steps);
    file.metadata["nl.online_first_step"] = std::to_string(online_->firstStep);
  }
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
  // The file's levels in the model's order (a list edited by hand in
  // another order still names the same levels).
  std::string levels = meta("nl.online_levels");
  if (!levels.empty()) {
    std::vector<std::string> named = splitLevels(levels);
    std::vector<std::string> ordered = inModelOrder(model_.manifest(), named);
    if (ordered.size() == named.size())
      levels = joinLevels(ordered);
  }
  std::string mine = online_ ? joinLevels(online_->levels) : std::string();
  if (levels != mine)
    throw Error(fmt::format(
        "'{}' is a stream state {}, this stream {}: give {}", path,
        levels.empty() ? "without test-time learning"
                       : "whose levels " + levels + " learn at test time",
        mine.empty() ? "learns nothing at test time"
                     : "learns " + mine + " (--online-levels)",
        levels.empty() ? "no --online-levels" : "--online-levels=" + levels));
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
  // The online levels' tensors and history, checked before any is used.
  std::map<std::string, Buffer> learned;
  std::vector<int32_t> history;
  std::optional<uint64_t> steps, firstStep;
  size_t expected = loaded.size();
  if (online_) {
    for (const std::string &name : online_->tensors) {
      size_t n = params_.tensors.at(name).size();
      auto it = file.tensors.find("online." + name);
      if (it == file.tensors.end() || it->second.dtype != "F32" ||
          it->second.shape != std::vector<int64_t>{static_cast<int64_t>(n)})
        throw Error(fmt::format("'{}': tensor 'online.{}' is missing or not "
                                "F32 of {} values",
                                path, name, n));
      Buffer b(n);
      std::memcpy(b.data(), it->second.bytes.data(), it->second.bytes.size());
      int64_t bad = firstNonFinite(b.data(), b.size());
      if (bad >= 0)
        throw Error(fmt::format("'{}': tensor 'online.{}' holds a non-finite "
                                "value ({}) at index {}",
                                path, name, b.data()[bad], bad));
      learned.emplace(name, std::move(b));
    }
    auto it = file.tensors.find("online.history");
    if (it == file.tensors.end() || it->second.dtype != "I32" ||
        it->second.shape.size() != 1 || it->second.shape[0] > online_->tokens)
      throw Error(fmt::format("'{}': tensor 'online.history' is missing or "
                              "not I32 of at most {} tokens",
                              path, online_->tokens));
    history.resize(static_cast<size_t>(it->second.shape[0]));
    if (!history.empty())
      std::memcpy(history.data(), it->second.bytes.data(),
                  it->second.bytes.size());
    for (int32_t tok : history)
      if (tok < 0 || tok >= model_.manifest().vocab)
        throw Error(fmt::format("'{}': tensor 'online.history' holds token "
                                "{}, outside the vocabulary of {}",
                                path, tok, model_.manifest().vocab));
    steps = parseCount(meta("nl.online_steps"));
    firstStep = parseCount(meta("nl.online_first_step"));
    if (!steps || !firstStep || *steps > (1ULL << 40) ||
        *firstStep > (1ULL << 40))
      throw Error(fmt::format("'{}': nl.online_steps '{}' or "
                              "nl.online_first_step '{}' is not a step count",
                              path, meta("nl.online_steps"),
                              meta("nl.online_first_step")));
    if (static_cast<int64_t>(*firstStep) != params_.step)
      throw Error(fmt::format(
          "'{}' continues test-time learning from the checkpoint of step "
          "{}, this run's checkpoint is at step {}: its online levels' "
          "weights would replace another checkpoint's",
          path, *firstStep, params_.step));
    // The tokens read since the last step: a step runs once the next token
    // is known, so at a multiple of B x T they are all B x T.
    uint64_t every = static_cast<uint64_t>(online_->tokens);
    if (history.size() != (*pos == 0 ? 0 : (*pos - 1) % every + 1))
      throw Error(fmt::format("'{}': {} tokens since the last test-time "
                              "step, at position {} (steps every {} tokens)",
                              path, history.size(), *pos, online_->tokens));
    expected += learned.size() + 1;
  }
  if (file.tensors.size() != expected)
    throw Error(fmt::format("'{}' holds {} tensors, the stream state has {}",
                            path, file.tensors.size(), expected));
  cur_ = std::move(loaded);
  pos_ = static_cast<int64_t>(*pos);
  if (online_) {
    for (auto &[name, b] : learned)
      std::memcpy(params_.tensors.at(name).data(), b.data(),
                  b.size() * sizeof(float));
    online_->history = std::move(history);
    online_->steps = static_cast<int64_t>(*steps);
    online_->firstStep = static_cast<int64_t>(*firstStep);
  }
}

std::string replayNonFinite(const Model &model, State &params,
                            const int32_t *tokens, int64_t rows,
                            int64_t context) {
  if (!model.manifest().hasStream() || !nl_stream_init || !nl_decode)
    return {};
  const size_t vocab = static_cast<size_t>(model.manifest().vocab);
  // What is non-finite after the last `n` tokens read: the first state
  // tensor, else the logits of the first token whose logits are; empty if
  // nothing is.
  auto check = [&](const Stream &s, const float *logits, size_t n) {
    std::string bad = s.nonFiniteState();
    int64_t i = nlrt::firstNonFinite(logits, n * vocab);
    if (bad.empty() && i >= 0)
      bad = fmt::format("the logits of token {}",
                        s.position() - static_cast<int64_t>(n) +
                            i / static_cast<int64_t>(vocab));
    return bad;
  };
  int64_t firstToken = -1, firstRow = -1;
  std::string first;
  Buffer logits;
  for (int64_t r = 0; r < rows; ++r) {
    const int32_t *row = tokens + r * (context + 1);
    Stream s(model, params);
    size_t block =
        static_cast<size_t>(s.prefillTokens() ? s.prefillTokens() : s.period());
    if (logits.size() < block * vocab)
      logits = Buffer(block * vocab);
    // Whole blocks (prefill where the model has it), each checked; then the
    // first bad block again, token by token. A row stops at the block that
    // holds an earlier row's first bad token.
    while (s.position() < context &&
           (firstToken < 0 || s.position() <= firstToken)) {
      Stream::Snapshot before = s.snapshot();
      size_t n = std::min(block, static_cast<size_t>(context - s.position()));
      s.feed(row + s.position(), n, logits.data());
      std::string blockBad = check(s, logits.data(), n);
      if (blockBad.empty())
        continue;
      int64_t end = s.position();
      s.restore(before);
      s.decodeOnly = true;
      std::string bad;
      while (bad.empty() && s.position() < end) {
        s.feed(row + s.position(), 1, logits.data());
        bad = check(s, logits.data(), 1);
      }
      if (bad.empty()) // the block's rounding, not the tokens'
        bad = fmt::format("{} (after tokens {} to {} read at once; finite "
                          "when read one by one)",
                          blockBad, before.pos, end - 1);
      int64_t token = s.position() - 1;
      std::string largest = s.largestMemoryValue();
      if (!largest.empty())
        bad += "; the largest finite memory value then: " + largest;
      if (firstToken < 0 || token < firstToken) {
        firstToken = token;
        firstRow = r;
        first = bad;
      }
      break;
    }
  }
  if (firstToken < 0)
    return fmt::format("replayed token by token at the weights before the "
                       "step, the forward pass is finite at every token of "
                       "every batch row: the step's gradients or its update "
                       "are not");
  return fmt::format("replayed token by token at the weights before the step, "
                     "the forward pass first goes non-finite after token {} "
                     "of {} of batch row {}: {}",
                     firstToken, context, firstRow, first);
}

} // namespace nlrt
