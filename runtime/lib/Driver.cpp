//===- Driver.cpp - the subcommands of compiled models --------------------===//
//
//   model train --data FILE --run-dir DIR [--steps N] [--lr X] [--seed S]
//               [--resume] [--eval-every N] [--eval-batches N]
//               [--log-every N] [--warmup N] [--schedule constant|cosine]
//               [--threads N]
//   model eval --data FILE --run-dir DIR [--eval-batches N] [--threads N]
//   model generate --run-dir DIR --prompt TEXT [--tokens N]
//                  [--temperature X] [--seed S] [--threads N]
//   model gradcheck [--run-dir DIR] [--data FILE] [--seed S] [--eps X]
//                   [--threads N]
//   model dump --data FILE --out FILE [--run-dir DIR] [--seed S]
//              [--batch-step N] [--threads N]
//   model info
//
// See runtime/README.md. Errors print `model: error: ...` and exit 1; a
// non-finite loss or update exits 3 and writes the last good state as the
// checkpoint. A train run holds a lock on its run directory.
//
//===----------------------------------------------------------------------===//

#include "Dataset.h"
#include "Model.h"
#include "Random.h"
#include "Stream.h"
#include "nlrt/nlrt.h"

#include <CLI/CLI.hpp>
#include <fmt/core.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <fcntl.h>
#include <filesystem>
#include <fstream>
#include <functional>
#include <initializer_list>
#include <limits>
#include <malloc.h>
#include <memory>
#include <sys/file.h>
#include <thread>
#include <unistd.h>

// OpenMP's runtime, linked when the model was compiled with nlc --openmp
// (weak: a model compiled without it has no threads to set).
extern "C" void omp_set_num_threads(int) __attribute__((weak));
// libomp's control of its threads' stacks (weak, as above).
extern "C" size_t kmp_get_stacksize_s() __attribute__((weak));
extern "C" void kmp_set_stacksize_s(size_t) __attribute__((weak));
// runtime/lib/Cuda.cpp: the CUDA driver, for executables built for cuda.
extern "C" void nlrt_gpu_require();
extern "C" const char *nlrt_gpu_describe();
// Only models with a cross-entropy loss define the generation entry point.
#pragma weak nl_logits

namespace nlrt {

/// The most threads --threads takes (OpenMP would try to create them all).
constexpr long long kMaxThreads = 1024;
namespace {

constexpr double kLn2 = 0.6931471805599453;
const char *kCheckpoint = "checkpoint.safetensors";
/// The lock file of a run directory (flock: one train run at a time).
const char *kLockFile = "train.lock";

/// Exit codes.
enum : int { kOk = 0, kError = 1, kNonFinite = 3, kInterrupted = 130 };

/// The signal that asked `train` to stop (SIGINT, SIGTERM), 0 while none.
volatile std::sig_atomic_t gStopSignal = 0;

/// While alive, the first SIGINT or SIGTERM only sets gStopSignal, so that
/// the training loop can finish its step and write a checkpoint before it
/// exits; the previous handlers come back after.
class StopOnSignal {
public:
  StopOnSignal() {
    gStopSignal = 0;
    struct sigaction sa {};
    // A second signal stops at once (checkpoints are written atomically:
    // the one on disk stays whole).
    sa.sa_handler = [](int sig) {
      if (gStopSignal) {
        std::signal(sig, SIG_DFL);
        std::raise(sig);
      }
      gStopSignal = sig;
    };
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, &oldInt_);
    sigaction(SIGTERM, &sa, &oldTerm_);
  }
  ~StopOnSignal() {
    sigaction(SIGINT, &oldInt_, nullptr);
    sigaction(SIGTERM, &oldTerm_, nullptr);
  }
  StopOnSignal(const StopOnSignal &) = delete;
  StopOnSignal &operator=(const StopOnSignal &) = delete;

private:
  struct sigaction oldInt_ = {};
  struct sigaction oldTerm_ = {};
};

double now() {
  using namespace std::chrono;
  return duration<double>(steady_clock::now().time_since_epoch()).count();
}

std::string duration(double s) {
  if (!std::isfinite(s) || s < 0)
    return "?";
  long t = std::lround(s);
  if (t >= 3600)
    return fmt::format("{}h{:02}m", t / 3600, t / 60 % 60);
  if (t >= 60)
    return fmt::format("{}m{:02}s", t / 60, t % 60);
  return fmt::format("{}s", t);
}

/// Calls one entry point: assembles its pointer array from the buffers that
/// `lookup` gives for each argument and result.
class Call {
public:
  Call(const EntryPoint &e, EntryFn fn) : e_(e), fn_(fn) {}
  template <typename Lookup> void bind(Lookup lookup) {
    ptrs_.clear();
    for (const TensorSpec &t : e_.args)
      ptrs_.push_back(lookup(t, /*result=*/false));
    for (const TensorSpec &t : e_.results)
      ptrs_.push_back(lookup(t, /*result=*/true));
  }
  void operator()() { fn_(ptrs_.data()); }

private:
  const EntryPoint &e_;
  EntryFn fn_;
  std::vector<void *> ptrs_;
};

/// Buffers for one call of `loss`, `loss_grad` or `logits` on `state`.
struct Scratch {
  Batch batch;
  std::map<std::string, Buffer> out;
  float scalar = 0;
};

void *bindParamsAndTokens(State &state, Scratch &s, const TensorSpec &t,
                          bool result) {
  if (result) {
    if (t.role == "loss")
      return &s.scalar;
    auto it = s.out.find(t.role + ":" + t.name);
    if (it == s.out.end())
      it = s.out.emplace(t.role + ":" + t.name, Buffer(t.numel())).first;
    return it->second.data();
  }
  if (t.role == "tokens" || t.role == "rows")
    return s.batch.data();
  auto it = state.tensors.find(t.name);
  if (it == state.tensors.end())
    throw Error("internal: no buffer for argument '" + t.name + "'");
  return it->second.data();
}

/// A call of entry point `name` (`fn`) on `state`'s parameters and the
/// batch and result buffers of `s`.
Call callOn(const Model &model, const std::string &name, EntryFn fn,
            State &state, Scratch &s) {
  Call call(model.entry(name), fn);
  call.bind([&](const TensorSpec &t, bool r) {
    return bindParamsAndTokens(state, s, t, r);
  });
  return call;
}

/// Refuses validation batches of a file with a loss mask that hold no
/// target that counts (their loss would be 0 / 0).
void checkValidationTargets(const Dataset &data, int64_t batches) {
  if (data.masked() && data.valCounted(batches) == 0)
    throw Error(fmt::format(
        "data file '{}': no target counts in the {} validation batch(es) "
        "read (--eval-batches {}; the validation split holds {} sequences, "
        "read in order); give more --eval-batches",
        data.path(), batches, batches, data.valSize()));
}

/// The mean loss (nats/token for a language model) of `state` on `batches`
/// validation batches. With a loss mask, each batch's mean (over the
/// targets that count in it) weighs by their number: the mean over every
/// counted target of the batches. With `stopped`, a SIGINT or SIGTERM
/// that `train` caught (gStopSignal) ends it between batches: `stopped`
/// is set and the result is NaN.
double validationLoss(const Model &model, State &state, const Dataset &data,
                      int64_t batches, bool *stopped = nullptr) {
  Scratch s;
  s.batch = Dataset::makeBatch(model.manifest());
  Call call = callOn(model, "loss", nl_loss, state, s);
  double sum = 0, weight = 0;
  for (int64_t i = 0; i < batches; ++i) {
    if (stopped && gStopSignal) {
      *stopped = true;
      return std::numeric_limits<double>::quiet_NaN();
    }
    data.valBatch(i, batches, s.batch);
    call();
    double w = data.masked() ? static_cast<double>(s.batch.counted) : 1.0;
    sum += s.scalar * w;
    weight += w;
  }
  return sum / weight;
}

/// The fraction of the targets that count whose largest logit is the
/// target (greedy next-token accuracy), over `batches` validation batches
/// of a data file with a loss mask; `counted` gets their number.
double maskedAccuracy(const Model &model, State &state, const Dataset &data,
                      int64_t batches, int64_t &counted) {
  const Manifest &m = model.manifest();
  Scratch s;
  s.batch = Dataset::makeBatch(m);
  Call call = callOn(model, "logits", nl_logits, state, s);
  const float *logits = s.out.begin()->second.data();
  int64_t right = 0;
  counted = 0;
  size_t T = static_cast<size_t>(m.context), V = static_cast<size_t>(m.vocab);
  for (int64_t i = 0; i < batches; ++i) {
    data.valBatch(i, batches, s.batch);
    call();
    for (size_t b = 0; b < static_cast<size_t>(m.batch); ++b)
      for (size_t t = 0; t < T; ++t) {
        int32_t target = s.batch.tokens[b * (T + 1) + t + 1];
        if (target < 0)
          continue; // not counted
        const float *row = logits + (b * T + t) * V;
        ++counted;
        right += std::max_element(row, row + V) - row == target;
      }
  }
  return counted ? static_cast<double>(right) / static_cast<double>(counted)
                 : 0.0;
}

// ----------------------------------------------------------------------------
// train

struct TrainOptions {
  std::string data, runDir, schedule = "constant";
  int64_t steps = 1000, batch = 0, context = 0, evalEvery = 100,
          evalBatches = 8, logEvery = 10, warmup = 0;
  double lr = 0;
  uint64_t seed = 0;
  bool resume = false, seedGiven = false;
};

/// An exclusive lock on a run directory, held by this process until
/// destruction (or its end, however it ends): flock on DIR/train.lock, which
/// holds the holder's pid while it is held. Throws Error naming the
/// directory and the holder when another process holds it.
class RunLock {
public:
  explicit RunLock(const std::string &dir) {
    std::string path = dir + "/" + kLockFile;
    fd_ = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd_ < 0)
      throw Error(fmt::format("cannot lock run directory '{}': cannot open "
                              "'{}': {}",
                              dir, path, std::strerror(errno)));
    if (::flock(fd_, LOCK_EX | LOCK_NB) != 0) {
      int err = errno;
      std::string holder = err == EWOULDBLOCK ? readHolder() : "";
      ::close(fd_);
      fd_ = -1;
      if (err != EWOULDBLOCK)
        throw Error(fmt::format("cannot lock run directory '{}' ({}): {}", dir,
                                path, std::strerror(err)));
      throw Error(fmt::format(
          "run directory '{}' is in use by another train run ({}, which "
          "holds {}); wait for it to end or choose another --run-dir",
          dir, holder.empty() ? "process id unknown" : "process " + holder,
          path));
    }
    std::string pid = std::to_string(getpid()) + "\n";
    if (::ftruncate(fd_, 0) != 0 || ::pwrite(fd_, pid.data(), pid.size(), 0) !=
                                        static_cast<ssize_t>(pid.size())) {
      int err = errno;
      ::close(fd_);
      throw Error(
          fmt::format("cannot write '{}': {}", path, std::strerror(err)));
    }
  }
  /// Throws the in-use Error when another process holds `dir`'s lock; a
  /// directory without a lock file is free (nothing is created there).
  static void checkFree(const std::string &dir) {
    if (std::filesystem::exists(dir + "/" + kLockFile))
      RunLock probe(dir); // released at once
  }
  RunLock(const RunLock &) = delete;
  ~RunLock() {
    if (fd_ < 0)
      return;
    // Empty while nobody holds it (best effort); closing releases the lock.
    [[maybe_unused]] int rc = ::ftruncate(fd_, 0);
    ::close(fd_);
  }

private:
  /// The holder's pid, as it wrote it (it writes it right after locking:
  /// wait up to a second for it).
  std::string readHolder() const {
    for (int attempt = 0; attempt < 100; ++attempt) {
      char buf[32];
      ssize_t n = ::pread(fd_, buf, sizeof buf - 1, 0);
      std::string text(buf, n > 0 ? static_cast<size_t>(n) : 0);
      while (!text.empty() && text.back() == '\n')
        text.pop_back();
      if (parseCount(text))
        return text;
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return "";
  }
  int fd_ = -1;
};

/// Removes checkpoint temporaries (checkpoint.safetensors.tmp.<pid>) that
/// a killed process left in `dir`: those of processes no longer running.
void removeStaleTemporaries(const std::string &dir) {
  std::string prefix = std::string(kCheckpoint) + ".tmp.";
  std::error_code ec;
  for (const auto &entry : std::filesystem::directory_iterator(dir, ec)) {
    std::string name = entry.path().filename().string();
    if (name.size() <= prefix.size() || name.compare(0, prefix.size(), prefix))
      continue;
    std::string digits = name.substr(prefix.size());
    std::optional<uint64_t> number = parseCount(digits);
    if (!number || digits.size() > 9)
      continue;
    pid_t pid = static_cast<pid_t>(*number);
    if (pid <= 0 || pid == getpid() || ::kill(pid, 0) == 0 || errno != ESRCH)
      continue; // alive (or not ours to judge)
    std::error_code rm;
    if (std::filesystem::remove(entry.path(), rm))
      fmt::print(stderr,
                 "note: removed '{}', left by process {} (no longer "
                 "running)\n",
                 entry.path().string(), pid);
  }
}

/// The metadata keys of the running sums of the current --log-every window,
/// so that a resumed run writes the same train lines as an uninterrupted one.
const char *kLogEveryKey = "nl.log_every";
const char *kWindowStepsKey = "nl.window_steps";
const char *kWindowLossKey = "nl.window_loss";

/// Drops metrics lines of steps after `step` (written by a run that stopped
/// after its last checkpoint), so that a resumed run does not repeat them.
/// A line that is not a JSON object with a numeric "step" is kept as it
/// is, and a note names the first such line.
void truncateMetrics(const std::string &path, int64_t step) {
  std::ifstream in(path);
  if (!in)
    return;
  std::string line, kept;
  int64_t number = 0, unread = 0, firstUnread = 0;
  while (std::getline(in, line)) {
    ++number;
    nlohmann::json j = nlohmann::json::parse(line, nullptr, false);
    auto it = j.is_object() ? j.find("step") : j.end();
    if (j.is_discarded() || !j.is_object() || it == j.end() ||
        !it->is_number()) {
      if (unread++ == 0)
        firstUnread = number;
    } else if (it->get<double>() > static_cast<double>(step)) {
      continue;
    }
    kept += line + "\n";
  }
  if (unread > 0)
    fmt::print(stderr,
               "note: '{}': {} line(s) without a numeric \"step\" kept as "
               "they are (the first is line {})\n",
               path, unread, firstUnread);
  in.close();
  std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::trunc);
    out << kept;
    if (!out)
      throw Error("cannot write '" + tmp + "'");
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0)
    throw Error("cannot write '" + path + "'");
}

/// A loss for the progress lines: with bits per byte for a language model
/// reading text (`bytes`; not rows, not the answers of a loss mask).
std::string lossText(bool bytes, double l) {
  return bytes ? fmt::format("{:.4f} ({:.3f} bpb)", l, l / kLn2)
               : fmt::format("{:.4f}", l);
}

int train(Model &model, const TrainOptions &o) {
  const Manifest &m = model.manifest();
  if (o.batch && o.batch != m.batch)
    throw Error(fmt::format(
        "--batch {}: '{}' was compiled for batch {} (set "
        "batch = {} in the model line, or build with nlc --set batch={})",
        o.batch, m.model, m.batch, o.batch, o.batch));
  if (o.context && m.rows())
    throw Error(fmt::format("--context {}: '{}' reads rows of {} real values, "
                            "not token sequences",
                            o.context, m.model, m.width));
  if (o.context && o.context != m.context)
    throw Error(fmt::format("--context {}: '{}' was compiled for context {} "
                            "(set context = {} in the model line, or build "
                            "with nlc --set context={})",
                            o.context, m.model, m.context, o.context,
                            o.context));
  Dataset data = Dataset::load(o.data, m);
  checkValidationTargets(data, o.evalBatches);
  // Bits per byte only for text whose loss is the cross-entropy of the
  // next byte (a loss mask averages over answers; another loss, such as a
  // scaled or negated cross-entropy, is no code length).
  const bool bytes = !m.rows() && !data.masked() && m.hasLogits();

  std::string ckpt = o.runDir + "/" + kCheckpoint;
  std::string metricsPath = o.runDir + "/metrics.jsonl";
  // --resume needs a run there: refused before anything is created.
  // A run still in its first steps has none yet: say that it runs.
  if (o.resume && !std::filesystem::exists(ckpt)) {
    RunLock::checkFree(o.runDir);
    throw Error("--resume: no checkpoint in '" + o.runDir + "' (expected " +
                ckpt + ")");
  }
  if (!o.resume) {
    std::error_code ec;
    std::filesystem::create_directories(o.runDir, ec);
    if (ec || !std::filesystem::is_directory(o.runDir))
      throw Error("cannot create run directory '" + o.runDir +
                  "': " + (ec ? ec.message() : "not a directory"));
  }
  // One train run per directory, for the whole run: a second one stops here
  // without touching anything.
  RunLock lock(o.runDir);
  removeStaleTemporaries(o.runDir);
  State cur;
  int64_t windowSteps = 0; // steps in the current --log-every window
  double windowLoss = 0;   // and the sum of their losses
  if (o.resume) {
    std::map<std::string, std::string> meta;
    cur = model.load(ckpt, &meta);
    // The batch and context (or row width) the run was trained at, where
    // the checkpoint says (those of before 2026-12-07 do not): another
    // build of the model with the same parameters resumed it, its metrics
    // counting tokens at the new sizes.
    for (const auto &[key, want] : model.dataShapeMetadata()) {
      auto it = meta.find(key);
      std::string name = key.substr(3); // without "nl."
      if (it != meta.end() && it->second != want)
        throw Error(fmt::format(
            "--resume: the run in '{}' was trained with {} {}, this build of "
            "'{}' has {} {}; resume it with a build of the run's settings "
            "(nlc --set), or start a new run in another --run-dir (eval and "
            "generate read the checkpoint at any {})",
            o.runDir, name, it->second, m.model, name, want, name));
    }
    if (o.seedGiven && o.seed != cur.seed)
      throw Error(fmt::format("--resume --seed {}: the run in '{}' has seed "
                              "{} (a resumed run keeps its seed; drop --seed, "
                              "or start a new run in another --run-dir)",
                              o.seed, o.runDir, cur.seed));
    if (cur.step > o.steps)
      throw Error(fmt::format("--resume: the checkpoint is at step {}, past "
                              "--steps {}",
                              cur.step, o.steps));
    // The window the checkpoint's step fell in (when the log interval is the
    // same), so that its train line averages the same steps as without the
    // interruption. A window that cannot end at this step (a checkpoint
    // whose nl.step was edited) starts empty instead.
    if (meta.count(kLogEveryKey) &&
        meta[kLogEveryKey] == std::to_string(o.logEvery) &&
        meta.count(kWindowStepsKey) && meta.count(kWindowLossKey)) {
      const std::string &n = meta[kWindowStepsKey], &sum = meta[kWindowLossKey];
      char *end = nullptr;
      double loss = std::strtod(sum.c_str(), &end);
      std::optional<uint64_t> steps = parseCount(n);
      // The sum of float32 losses: at most steps x float32's largest in
      // magnitude, 0 over no step (1e300 or a sum over 0 steps was printed
      // as a loss).
      bool ok =
          steps && n.size() < 19 && !sum.empty() &&
          end == sum.c_str() + sum.size() && std::isfinite(loss) &&
          std::fabs(loss) <= double(*steps) * std::numeric_limits<float>::max();
      if (!ok)
        throw Error(fmt::format("'{}' has a bad {} or {} ('{}', '{}'; "
                                "corrupted?)",
                                ckpt, kWindowStepsKey, kWindowLossKey, n, sum));
      if (static_cast<int64_t>(*steps) == cur.step % o.logEvery) {
        windowSteps = static_cast<int64_t>(*steps);
        windowLoss = loss;
      }
    }
    truncateMetrics(metricsPath, cur.step);
  } else {
    if (std::filesystem::exists(ckpt))
      throw Error("'" + o.runDir + "' already holds a run (" + ckpt +
                  "); pass --resume to continue it, or choose another "
                  "--run-dir");
    cur = model.init(o.seed);
    std::remove(metricsPath.c_str());
  }
  // The second set of buffers: train_step writes the new parameters and
  // state there, then the two sets swap. Laid out once.
  State next = model.allocate(cur.seed);

  const EntryPoint &e = model.entry("train_step");
  float stepValue = 0, lrScale = 1, loss = 0;
  std::map<std::string, float> fire; // by level
  for (const TensorSpec &t : e.args)
    if (t.role == "fire")
      fire[t.level] = 0;
  Batch batch = Dataset::makeBatch(m);
  // Throughput is counted in tokens (language models) or rows.
  const char *unit = m.rows() ? "rows" : "tokens";
  int64_t perStep = m.rows() ? m.batch : m.batch * m.context;
  auto scaleAt = [&](int64_t step) {
    // step is 1-based. --lr sets the rate relative to the compiled one
    // through the lr scale input (every outer level scales alike).
    double s = o.lr > 0 ? o.lr : 1.0;
    if (o.warmup > 0 && step <= o.warmup)
      s *= static_cast<double>(step) / static_cast<double>(o.warmup);
    else if (o.schedule == "cosine" && o.steps > o.warmup)
      s *= 0.1 + 0.9 * 0.5 *
                     (1 + std::cos(3.141592653589793 *
                                   static_cast<double>(step - o.warmup) /
                                   static_cast<double>(o.steps - o.warmup)));
    return static_cast<float>(s);
  };

  FILE *metrics = std::fopen(metricsPath.c_str(), "a");
  if (!metrics)
    throw Error("cannot write '" + metricsPath + "': " + std::strerror(errno));
  auto writeMetric = [&](int64_t step, const char *split, double l, double tps,
                         double wall) {
    // The heap that malloc holds (every thread's arena): the entry points'
    // temporaries are laid out by the first step and reused after it, so it
    // stays the same from one step to the next.
    struct mallinfo2 mi = mallinfo2();
    double heap = static_cast<double>(mi.arena + mi.hblkhd) / (1 << 20);
    nlohmann::json j{{"step", step},
                     {unit, step * perStep},
                     {"split", split},
                     {"loss", l},
                     {fmt::format("{}_per_s", unit), tps},
                     {"wall_s", wall},
                     {"heap_mib", heap}};
    if (bytes)
      j["bpb"] = l / kLn2;
    // Achieved GFLOP/s of the window's training steps (nlc's count of a
    // step's products and attention).
    if (m.trainStepFlops > 0 && tps > 0)
      j["gflop_per_s"] =
          tps / static_cast<double>(perStep) * m.trainStepFlops / 1e9;
    std::fprintf(metrics, "%s\n", j.dump().c_str());
    std::fflush(metrics);
  };

  bool tty = isatty(fileno(stderr));
  fmt::print(stderr,
             "{}: training to step {} from step {} (batch {}, data '{}': {} "
             "training / {} validation {})\n",
             m.model, o.steps, cur.step,
             m.rows()
                 ? fmt::format("{} rows of {} values", m.batch, m.width)
                 : fmt::format("{} x context {} tokens", m.batch, m.context),
             o.data, data.trainSize(), data.valSize(), data.unit());
  double start = now(), windowStart = start;
  // Steps of the window run by this invocation (for the throughput).
  int64_t windowStepsHere = 0, startStep = cur.step;
  // The step of the checkpoint on disk (-1: none).
  int64_t lastGood = o.resume ? cur.step : -1;
  auto checkpoint = [&]() {
    model.save(cur, ckpt,
               {{kLogEveryKey, std::to_string(o.logEvery)},
                {kWindowStepsKey, std::to_string(windowSteps)},
                {kWindowLossKey, fmt::format("{:.17g}", windowLoss)}});
    lastGood = cur.step;
  };

  // Two calls, bound once: forward reads `cur` and writes `next`, backward
  // the other way. The buffers stay put when the maps swap, so after each
  // step the other call reads what this one wrote.
  Call forward(e, nl_train_step), backward(e, nl_train_step);
  auto bind = [&](Call &call, State &in, State &out) {
    call.bind([&](const TensorSpec &t, bool result) -> void * {
      State &s = result ? out : in;
      if (t.role == "param" || t.role == "state")
        return s.tensors.at(t.name).data();
      if (t.role == "loss")
        return &loss;
      if (t.role == "step")
        return &stepValue;
      if (t.role == "lr_scale")
        return &lrScale;
      if (t.role == "fire")
        return &fire.at(t.level);
      if (t.role == "tokens" || t.role == "rows")
        return batch.data();
      throw Error("the train_step argument '" + t.name + "' has role '" +
                  t.role + "', which this runtime does not know");
    });
  };
  bind(forward, cur, next);
  bind(backward, next, cur);

  // Ctrl-C or a SIGTERM between steps: the step in flight finishes, the
  // state after it is written as the checkpoint, and the run stops with
  // exit code 130 (--resume continues it, as if it had not stopped).
  StopOnSignal stopOnSignal;
  while (gStopSignal || cur.step < o.steps) {
    if (gStopSignal) {
      std::fclose(metrics);
      if (lastGood != cur.step && cur.step > 0)
        checkpoint();
      fmt::print(stderr,
                 "{}{}: {} at step {}: {}; --resume continues the run\n",
                 tty ? "\n" : "", m.model,
                 gStopSignal == SIGINT ? "interrupted" : "terminated", cur.step,
                 lastGood >= 0 ? fmt::format("checkpoint of step {} in '{}'",
                                             lastGood, ckpt)
                               : std::string("no step finished, no "
                                             "checkpoint written"));
      return kInterrupted;
    }
    int64_t t = cur.step + 1;
    data.trainBatch(cur.seed, cur.step, batch);
    stepValue = static_cast<float>(t);
    lrScale = scaleAt(t);
    for (auto &[level, flag] : fire)
      flag = t % m.stepsOf(level) == 0 ? 1.0f : 0.0f;
    ((t - startStep) % 2 == 1 ? forward : backward)();
    // The step is kept only when its loss and every updated tensor are
    // finite, so `cur` always holds the last good state.
    const TensorSpec *bad = nullptr;
    int64_t badIndex = -1;
    for (const TensorSpec &a : e.args) {
      if (a.role != "param" && a.role != "state")
        continue;
      const Buffer &b = next.tensors.at(a.name);
      if ((badIndex = firstNonFinite(b.data(), b.size())) >= 0) {
        bad = &a;
        break;
      }
    }
    if (!std::isfinite(loss) || bad) {
      std::fclose(metrics);
      std::string what =
          std::isfinite(loss)
              ? fmt::format("the training loss is {} but the updated "
                            "weights are not finite",
                            loss)
              : fmt::format("the training loss is {}", loss);
      std::string first =
          bad ? fmt::format("the first non-finite tensor after the step: "
                            "'{}' at {}",
                            bad->name, indexText(bad->shape, badIndex))
              : std::string("the updated tensors are all finite");
      // Where the forward pass went non-finite (which memory of which
      // layer, after which token), from the step's batch replayed through
      // the stream entry points at the weights before the step.
      if (!m.rows() && m.hasStream()) {
        fmt::print(stderr,
                   "{}{}: step {} is not finite; replaying its batch "
                   "token by token to find where\n",
                   tty ? "\n" : "", m.model, t);
        std::string where = replayNonFinite(model, cur, batch.tokens.data(),
                                            m.batch, m.context);
        if (!where.empty())
          first += "; " + where;
      }
      std::string kept;
      if (cur.step > 0 && cur.step != lastGood) {
        checkpoint();
        kept = fmt::format("Wrote the last good state (step {}) to '{}'.",
                           cur.step, ckpt);
      } else if (lastGood >= 0) {
        kept = fmt::format("The last good checkpoint (step {}) is kept in "
                           "'{}'.",
                           lastGood, ckpt);
      } else {
        kept = "No step finished with finite weights; no checkpoint was "
               "written.";
      }
      throw NonFinite(
          fmt::format("step {}: {}; stopping ({}). {}", t, what, first, kept));
    }
    std::swap(cur.tensors, next.tensors);
    cur.step = t;
    windowLoss += loss;
    ++windowSteps;
    ++windowStepsHere;

    bool last = t == o.steps;
    if (t % o.logEvery == 0 || last) {
      double wall = now(), dt = wall - windowStart;
      double tps =
          static_cast<double>(windowStepsHere * perStep) / std::max(dt, 1e-9);
      double mean = windowLoss / static_cast<double>(windowSteps);
      writeMetric(t, "train", mean, tps, wall - start);
      double eta = (wall - start) / static_cast<double>(t - startStep) *
                   static_cast<double>(o.steps - t);
      fmt::print(stderr, "{}step {}/{}  loss {}  {:.0f} {}/s  ETA {}{}",
                 tty ? "\r" : "", t, o.steps, lossText(bytes, mean), tps,
                 m.rows() ? "rows" : "tok", duration(eta), tty ? "   " : "\n");
      std::fflush(stderr);
      windowStart = wall;
      windowStepsHere = 0;
      // Windows end at multiples of --log-every (absolute steps): the line
      // of the last step, when it is not one, leaves its window open (in the
      // checkpoint, for a resumed run).
      if (t % o.logEvery == 0) {
        windowSteps = 0;
        windowLoss = 0;
      }
    }
    if ((o.evalEvery > 0 && t % o.evalEvery == 0) || last) {
      bool stopped = false;
      double v = validationLoss(model, cur, data, o.evalBatches, &stopped);
      if (stopped) {
        // The step is done: the top of the loop writes its checkpoint and
        // stops; its validation line is left out.
        fmt::print(stderr, "{}step {}: validation stopped by the signal\n",
                   tty ? "\n" : "", t);
        continue;
      }
      if (!std::isfinite(v)) {
        std::fclose(metrics);
        throw NonFinite(fmt::format(
            "step {}: the validation loss is {}; stopping. {}", t, v,
            lastGood >= 0
                ? fmt::format("The last good checkpoint (step {}) is kept "
                              "in '{}'.",
                              lastGood, ckpt)
                : std::string("No checkpoint was written.")));
      }
      writeMetric(t, "val", v, 0, now() - start);
      fmt::print(stderr, "{}step {}: validation loss {}\n", tty ? "\n" : "", t,
                 lossText(bytes, v));
      checkpoint();
    }
  }
  std::fclose(metrics);
  if (lastGood != cur.step)
    checkpoint();
  fmt::print(stderr, "{}: done: {} steps in {}; checkpoint {}\n", m.model,
             cur.step - startStep, duration(now() - start), ckpt);
  return kOk;
}

// ----------------------------------------------------------------------------
// eval, generate, gradcheck, info

/// log-sum-exp of a row minus the target's logit: the token's loss (nats).
double tokenLoss(const float *row, int64_t vocab, int32_t target) {
  double mx = *std::max_element(row, row + vocab), z = 0;
  for (int64_t v = 0; v < vocab; ++v)
    z += std::exp(static_cast<double>(row[v]) - mx);
  return mx + std::log(z) - row[target];
}

/// The validation loss (nats/token) of `batches` validation batches read
/// through the stream entry points with every memory frozen at its learned
/// initial state (--memorize off): each window of the batch a stream of
/// its own, from the state before the first token, as the training step
/// reads it. Targets that do not count (a loss mask) are skipped; `right`
/// and `counted` get the greedy accuracy's numerator and denominator.
double frozenValidationLoss(const Model &model, State &state,
                            const Dataset &data, int64_t batches,
                            int64_t &right, int64_t &counted) {
  const Manifest &m = model.manifest();
  Batch batch = Dataset::makeBatch(m);
  size_t T = static_cast<size_t>(m.context), V = static_cast<size_t>(m.vocab);
  std::vector<int32_t> ids(T);
  std::vector<float> logits(T * V);
  double sum = 0;
  right = counted = 0;
  for (int64_t i = 0; i < batches; ++i) {
    data.valBatch(i, batches, batch);
    for (size_t b = 0; b < static_cast<size_t>(m.batch); ++b) {
      const int32_t *row = batch.tokens.data() + b * (T + 1);
      for (size_t t = 0; t < T; ++t)
        ids[t] = tokenId(row[t]);
      Stream st(model, state);
      st.memorize = false;
      st.feed(ids.data(), T, logits.data());
      for (size_t t = 0; t < T; ++t) {
        if (row[t + 1] < 0)
          continue; // not counted
        const float *l = logits.data() + t * V;
        sum += tokenLoss(l, m.vocab, row[t + 1]);
        right += std::max_element(l, l + V) - l == row[t + 1];
        ++counted;
      }
    }
  }
  return sum / static_cast<double>(std::max<int64_t>(counted, 1));
}

int evaluate(Model &model, const std::string &dataPath,
             const std::string &runDir, int64_t batches, bool memorize) {
  const Manifest &m = model.manifest();
  if (!memorize && (!m.hasStream() || m.rows()))
    throw Error(fmt::format("--memorize off reads the windows through the "
                            "stream entry points; '{}' has none{}",
                            m.model,
                            m.noStream.empty() ? "" : ": " + m.noStream));
  Dataset data = Dataset::load(dataPath, m);
  checkValidationTargets(data, batches);
  std::string ckpt = runDir + "/" + kCheckpoint;
  State s = model.load(ckpt);
  int64_t frozenRight = 0, frozenCounted = 0;
  double v = memorize ? validationLoss(model, s, data, batches)
                      : frozenValidationLoss(model, s, data, batches,
                                             frozenRight, frozenCounted);
  // Never print a non-JSON number.
  if (!std::isfinite(v))
    throw NonFinite(fmt::format("the validation loss of '{}' (step {}) is "
                                "{}: no result",
                                ckpt, s.step, v));
  fmt::print("{{\"step\": {}, \"split\": \"val\", \"loss\": {:.6f}, ", s.step,
             v);
  if (data.masked()) {
    // Answers of a task: the loss and the greedy accuracy over the targets
    // that count.
    int64_t counted = frozenCounted;
    double accuracy =
        !memorize ? static_cast<double>(frozenRight) /
                        static_cast<double>(std::max<int64_t>(counted, 1))
        : m.hasLogits() && nl_logits
            ? maskedAccuracy(model, s, data, batches, counted)
            : 0.0;
    fmt::print("\"accuracy\": {:.6f}, \"targets\": {}, \"sequences\": {}",
               accuracy, counted, batches * m.batch);
  } else if (m.rows())
    fmt::print("\"rows\": {}", batches * m.batch);
  else {
    if (m.hasLogits()) // the loss is the cross-entropy of the next byte
      fmt::print("\"bpb\": {:.6f}, ", v / kLn2);
    fmt::print("\"tokens\": {}", batches * m.batch * m.context);
  }
  fmt::print("{}}}\n", memorize ? "" : ", \"memorize\": false");
  return kOk;
}

/// An input file of a command and what it is ("the run's checkpoint",
/// "--data"), which no output may overwrite.
struct InputFile {
  std::string path;
  const char *what;
};

/// Refuses an output file whose directory does not exist, a directory, or
/// one of the command's `inputs` (the same file, under any name), before
/// any work (`flag` names the option).
void checkOutputDir(const std::string &path, const char *flag,
                    std::initializer_list<InputFile> inputs = {}) {
  if (path.empty())
    return;
  std::filesystem::path dir = std::filesystem::path(path).parent_path();
  std::error_code ec;
  if (!dir.empty() && !std::filesystem::is_directory(dir, ec))
    throw Error(fmt::format("{} '{}': the directory '{}' does not exist", flag,
                            path, dir.string()));
  if (std::filesystem::is_directory(path, ec))
    throw Error(
        fmt::format("{} '{}' is a directory: name a file in it", flag, path));
  if (std::filesystem::exists(path, ec) &&
      !std::filesystem::is_regular_file(path, ec))
    throw Error(fmt::format("{} '{}' is not a regular file (the output is "
                            "written beside it, then renamed onto it)",
                            flag, path));
  for (const InputFile &input : inputs)
    if (!input.path.empty() &&
        std::filesystem::equivalent(path, input.path, ec))
      throw Error(fmt::format("{} '{}' is {} ('{}'), which this command "
                              "reads: name another file",
                              flag, path, input.what, input.path));
}

/// How generate and eval --long read their stream (docs/streaming.md).
struct StreamOptions {
  std::string stateIn, stateOut;
  /// Memories learn while reading (off: frozen at their learned initial
  /// state, the ablation of test-time memorization).
  bool memorize = true;
  /// --online-levels: "" (none), "all" or level names (Stream::learnOnline),
  /// and the scale of their learning rates.
  std::string online;
  double onlineLr = 1;
  bool given() const {
    return !memorize || !stateIn.empty() || !stateOut.empty() ||
           !online.empty();
  }
};

/// A stream of `model` at `params` as `o` asks: memorize, the levels that
/// learn online, then the state of --state-in.
std::unique_ptr<Stream> openStream(const Model &model, State &params,
                                   const StreamOptions &o) {
  auto st = std::make_unique<Stream>(model, params);
  st->memorize = o.memorize;
  if (!o.online.empty())
    st->learnOnline(o.online, static_cast<float>(o.onlineLr));
  if (!o.stateIn.empty())
    st->load(o.stateIn);
  return st;
}

/// The states of a stream that gave a non-finite loss or logits: "; after
/// token N of the stream: memory state 'x' at [i, j] (nan), and ...; the
/// largest finite memory value then: ..." (the first non-finite state
/// tensor in the model's order names its layer and level); when every state
/// is finite, the largest memory value (a memory that grew shows there).
std::string streamStates(const Stream &st) {
  std::string bad = st.nonFiniteState();
  std::string largest = st.largestMemoryValue();
  if (bad.empty())
    return largest.empty()
               ? std::string()
               : fmt::format("; after token {} of the stream every state is "
                             "finite, the largest memory value {}",
                             st.position(), largest);
  return fmt::format(
      "; after token {} of the stream: {}{}", st.position(), bad,
      largest.empty() ? ""
                      : "; the largest finite memory value then: " + largest);
}

/// Where such a stream stands: streamStates, and the test-time steps its
/// online levels took (--online-levels).
std::string streamDiagnosis(const Stream &st) {
  std::string online =
      st.onlineLevels().empty()
          ? std::string()
          : fmt::format(" (after {} test-time step(s) of --online-levels)",
                        st.onlineSteps());
  return streamStates(st) + online;
}

/// "; levels cms_mid, cms_low learned online: 12 test-time steps, ..."
/// for stderr, or "" when none do.
std::string onlineSummary(const Stream &st) {
  if (st.onlineLevels().empty())
    return {};
  std::string fired;
  for (auto &[level, n] : st.onlineFirings())
    fired += fmt::format("{}{} {}", fired.empty() ? "" : ", ", level, n);
  return fmt::format("; online levels: {} test-time step(s) of {} tokens "
                     "(optimizer steps: {})",
                     st.onlineStepsHere(), st.onlineTokens(), fired);
}

struct GenerateOptions {
  std::string runDir, prompt;
  StreamOptions stream;
  int64_t count = 200;
  double temperature = 0.8;
  uint64_t seed = 0;
  /// Re-run the whole window per token (the path of models without stream
  /// entry points) instead of carrying the stream state.
  bool window = false;
  /// Independent continuations of the prompt (`--batch`): sample r draws
  /// from its own random stream (sample 0 is the one of --batch 1).
  int64_t samples = 1;
};

int generate(Model &model, const GenerateOptions &o) {
  const Manifest &m = model.manifest();
  if (!m.hasLogits() || !nl_logits)
    throw Error(fmt::format("'{}' has no logits to sample: its loss is not a "
                            "cross-entropy over tokens",
                            m.model));
  bool stream = m.hasStream() && !o.window;
  if (!stream) {
    // Why the stream entry points are not used.
    std::string why = o.window ? " (not --window)"
                      : m.noStream.empty()
                          ? ""
                          : "; '" + m.model + "' has none: " + m.noStream;
    if (o.stream.given())
      throw Error("--memorize off, --online-levels, --state-in and "
                  "--state-out need the stream entry points" +
                  why);
  }
  int64_t rows = o.samples;
  if (rows > 1 && (!o.stream.stateIn.empty() || !o.stream.stateOut.empty() ||
                   !o.stream.online.empty()))
    throw Error("--state-in, --state-out and --online-levels carry one "
                "stream: give --batch 1");
  if (!stream && rows > m.batch)
    throw Error(fmt::format(
        "--batch {}: re-running the window, '{}' samples at most its "
        "compiled batch of {} rows at once",
        rows, m.model, m.batch));
  checkOutputDir(o.stream.stateOut, "--state-out",
                 {{o.runDir + "/" + kCheckpoint, "the run's checkpoint"},
                  {o.stream.stateIn, "--state-in"}});
  State s = model.load(o.runDir + "/" + kCheckpoint);
  std::vector<int32_t> text;
  for (unsigned char c : o.prompt) {
    if (c >= m.vocab)
      throw Error(fmt::format("--prompt: byte {} is outside the model's "
                              "vocabulary of {} tokens",
                              c, m.vocab));
    text.push_back(c);
  }
  // An empty prompt starts from a newline, or from token 0 in a
  // vocabulary too small to hold one (a newline was fed to it out of range).
  if (text.empty())
    text.push_back(m.vocab > '\n' ? '\n' : 0);
  // The prompt goes out with the first sampled byte (or at the end), so that
  // a model whose first logits are non-finite prints nothing.
  bool promptOut = false;
  auto putPrompt = [&] {
    if (!promptOut)
      std::fwrite(o.prompt.data(), 1, o.prompt.size(), stdout);
    promptOut = true;
  };
  std::vector<double> p(static_cast<size_t>(m.vocab));
  // The next token of sample r from one row of logits (of stream `from`,
  // when one gave them: a non-finite value names its state).
  auto sample = [&](const float *row, int64_t i, int64_t r,
                    const Stream *from) {
    int64_t bad = firstNonFinite(row, static_cast<size_t>(m.vocab));
    if (bad >= 0) {
      std::fflush(stdout);
      throw NonFinite(fmt::format(
          "generated token {}{}: the logits are not finite ({} for token "
          "{}){}; stopping",
          i + 1, rows > 1 ? fmt::format(" of sample {}", r) : "", row[bad], bad,
          from ? streamDiagnosis(*from) : std::string()));
    }
    if (o.temperature <= 0)
      return static_cast<int32_t>(std::max_element(row, row + m.vocab) - row);
    double mx = *std::max_element(row, row + m.vocab), z = 0;
    for (int64_t v = 0; v < m.vocab; ++v)
      z += p[v] = std::exp((row[v] - mx) / o.temperature);
    double u = randomUniform(o.seed, 0x67656e /* "gen" */ + r, i) * z;
    int32_t next = 0;
    for (; next < m.vocab - 1 && (u -= p[next]) > 0; ++next)
      ;
    return next;
  };
  // One sample streams to stdout as it is generated; several are printed
  // at the end, each under a header line.
  // A token is a byte; a model with a vocabulary past 256 can sample ids
  // that are no byte, printed as <ID>.
  std::vector<std::string> outs(static_cast<size_t>(rows));
  auto put = [&](int32_t next, int64_t r) {
    std::string text = next < 256 ? std::string(1, static_cast<char>(next))
                                  : fmt::format("<{}>", next);
    if (rows > 1) {
      outs[r] += text;
      return;
    }
    putPrompt();
    std::fwrite(text.data(), 1, text.size(), stdout);
    std::fflush(stdout);
  };

  // Timing (stderr): the prompt, then the generated tokens.
  double t1 = now(), readTime = 0;
  size_t promptTokens = text.size();
  std::string online; // what the online levels did (stderr)
  if (stream) {
    // The prompt read once, then one decode step per token: the memories
    // keep what they read, past the compiled context.
    // Each sample a stream of its own (the stream functions read one
    // sequence), all from the state after the prompt.
    std::vector<std::unique_ptr<Stream>> st;
    for (int64_t r = 0; r < rows; ++r)
      st.push_back(openStream(model, s, o.stream));
    double t0 = now();
    std::vector<float> logits(text.size() * static_cast<size_t>(m.vocab));
    st[0]->feed(text.data(), text.size(), logits.data());
    if (rows > 1) {
      Stream::Snapshot prompt = st[0]->snapshot();
      for (int64_t r = 1; r < rows; ++r)
        st[r]->restore(prompt);
    }
    std::vector<std::vector<float>> row(
        static_cast<size_t>(rows),
        std::vector<float>(logits.end() - m.vocab, logits.end()));
    t1 = now();
    readTime = t1 - t0;
    for (int64_t i = 0; i < o.count; ++i)
      for (int64_t r = 0; r < rows; ++r) {
        int32_t next = sample(row[r].data(), i, r, st[r].get());
        put(next, r);
        st[r]->feed(&next, 1, row[r].data());
      }
    if (!o.stream.stateOut.empty())
      st[0]->save(o.stream.stateOut);
    online = onlineSummary(*st[0]);
  } else {
    Scratch scratch;
    scratch.batch = Dataset::makeBatch(m);
    Call call = callOn(model, "logits", nl_logits, s, scratch);
    const float *logits = scratch.out.begin()->second.data();
    // Sample r in row r of one call (rows of the compiled batch).
    std::vector<std::vector<int32_t>> texts(static_cast<size_t>(rows), text);
    size_t width = static_cast<size_t>(m.context) + 1; // a batch row
    for (int64_t i = 0; i < o.count; ++i) {
      // The last `context` tokens of each (the model is causal: the
      // positions after them do not change their logits).
      size_t n = std::min(texts[0].size(), static_cast<size_t>(m.context));
      for (int64_t r = 0; r < rows; ++r)
        std::copy(texts[r].end() - static_cast<long>(n), texts[r].end(),
                  scratch.batch.tokens.begin() + r * width);
      call();
      for (int64_t r = 0; r < rows; ++r) {
        int32_t next = sample(logits + (r * m.context + n - 1) *
                                           static_cast<size_t>(m.vocab),
                              i, r, nullptr);
        texts[r].push_back(next);
        put(next, r);
      }
    }
  }
  if (rows > 1)
    for (int64_t r = 0; r < rows; ++r)
      fmt::print("=== sample {} ===\n{}{}\n", r, o.prompt, outs[r]);
  else {
    putPrompt();
    std::fputc('\n', stdout);
  }
  double genTime = now() - t1;
  // The text first: through a pipe, stdout is buffered and the timing
  // line on stderr came out in the middle of the text's last line.
  std::fflush(stdout);
  fmt::print(stderr,
             "{}: generate: {} prompt tokens in {:.3f} s, {} tokens in {:.3f} "
             "s ({:.1f} tokens/s, {}){}\n",
             m.model, promptTokens, readTime, o.count * rows, genTime,
             static_cast<double>(o.count * rows) / std::max(genTime, 1e-9),
             stream ? "state carried" : "window re-run per token", online);
  return kOk;
}

/// The bytes of `path` as tokens of `m`'s vocabulary.
std::vector<int32_t> readTokens(const std::string &path, const Manifest &m) {
  checkRegularFile(path, "--long file");
  std::ifstream in(path, std::ios::binary);
  if (!in)
    throw Error(fmt::format("cannot read '{}'", path));
  std::vector<int32_t> tokens;
  for (char c; in.get(c);) {
    auto u = static_cast<unsigned char>(c);
    if (u >= m.vocab)
      throw Error(fmt::format("'{}': byte {} at offset {} is outside the "
                              "model's vocabulary of {} tokens",
                              path, u, tokens.size(), m.vocab));
    tokens.push_back(u);
  }
  return tokens;
}

/// eval --long: the loss (nats/token) of every token of one long text read
/// as one stream, the memories' state carried from window to window;
/// printed as one JSON line with the mean and the mean per bucket of
/// `bucket` positions.
int evaluateLong(Model &model, const std::string &runDir,
                 const std::string &path, int64_t limit, int64_t bucket,
                 const StreamOptions &so) {
  const Manifest &m = model.manifest();
  checkOutputDir(so.stateOut, "--state-out",
                 {{runDir + "/" + kCheckpoint, "the run's checkpoint"},
                  {so.stateIn, "--state-in"},
                  {path, "--long"}});
  State s = model.load(runDir + "/" + kCheckpoint);
  std::vector<int32_t> tokens = readTokens(path, m);
  if (limit > 0 && static_cast<int64_t>(tokens.size()) > limit + 1)
    tokens.resize(static_cast<size_t>(limit + 1));
  if (tokens.size() < 2)
    throw Error(fmt::format("'{}' holds {} byte(s): --long needs at least 2 "
                            "(a token and the next)",
                            path, tokens.size()));
  std::unique_ptr<Stream> stream = openStream(model, s, so);
  Stream &st = *stream;
  size_t n = tokens.size() - 1, vocab = static_cast<size_t>(m.vocab);
  size_t block = static_cast<size_t>(std::max<int64_t>(
      st.prefillTokens() *
          std::max<int64_t>(1, 256 / std::max<int64_t>(st.prefillTokens(), 1)),
      256));
  std::vector<float> logits(block * vocab);
  std::vector<double> sum((n + bucket - 1) / bucket), cnt(sum.size());
  double total = 0, t0 = now(), last = t0;
  for (size_t i = 0; i < n; i += block) {
    size_t k = std::min(block, n - i);
    st.feed(tokens.data() + i, k, logits.data());
    for (size_t j = 0; j < k; ++j) {
      double l =
          tokenLoss(logits.data() + j * vocab, m.vocab, tokens[i + j + 1]);
      if (!std::isfinite(l)) {
        // To name the state that went non-finite first and when, the text
        // is read again by a fresh stream (the same options; not with
        // online levels, whose weights have changed): up to this block at
        // once, then token by token.
        std::unique_ptr<Stream> again;
        if (st.onlineLevels().empty()) {
          again = openStream(model, s, so);
          again->feed(tokens.data(), i, nullptr);
          for (size_t r = 0; r <= j && again->nonFiniteState().empty(); ++r)
            again->feed(tokens.data() + i + r, 1, logits.data());
        }
        throw NonFinite(fmt::format("the loss of token {} of '{}' is {}{}: "
                                    "no result",
                                    i + j + 1, path, l,
                                    streamDiagnosis(again ? *again : st)));
      }
      total += l;
      sum[(i + j) / bucket] += l;
      cnt[(i + j) / bucket] += 1;
    }
    if (now() - last > 2) {
      last = now();
      fmt::print(stderr, "\r{}: eval --long: {} / {} tokens, {:.0f} tokens/s",
                 m.model, i + k, n, (i + k) / (last - t0));
    }
  }
  if (last != t0)
    fmt::print(stderr, "\n");
  // The state after the last token read (the text's final token is only a
  // target).
  if (!so.stateOut.empty())
    st.save(so.stateOut);
  std::string buckets;
  for (size_t b = 0; b < sum.size(); ++b)
    buckets += fmt::format("{}{:.6f}", b ? ", " : "", sum[b] / cnt[b]);
  double mean = total / static_cast<double>(n);
  // The levels that learned online, their test-time steps (this run) and
  // optimizer steps per level.
  std::string online;
  if (!st.onlineLevels().empty())
    online = fmt::format("\"online_levels\": {}, \"online_steps\": {}, "
                         "\"online_optimizer_steps\": {}, ",
                         nlohmann::json(st.onlineLevels()).dump(),
                         st.onlineStepsHere(),
                         nlohmann::json(st.onlineFirings()).dump());
  fmt::print("{{\"step\": {}, \"split\": \"long\", \"file\": {}, "
             "\"tokens\": {}, \"loss\": {:.6f}, \"bpb\": {:.6f}, "
             "\"bucket_tokens\": {}, \"bucket_loss\": [{}], "
             "\"memorize\": {}, {}\"tokens_per_s\": {:.1f}}}\n",
             s.step, nlohmann::json(path).dump(), n, mean, mean / kLn2, bucket,
             buckets, so.memorize ? "true" : "false", online,
             n / std::max(now() - t0, 1e-9));
  return kOk;
}

/// stream-check: the stream entry points against one forward pass of the
/// compiled window (`logits`) over the same `context` tokens: read at
/// once, token by token (decode only), in pieces of 1, 7, 15, 16, 17, 63,
/// 64 and 65 tokens, and saved and restored mid-chunk. Prints the relative
/// RMS error of each; fails above `tol`.
int streamCheck(Model &model, const std::string &runDir,
                const std::string &dataPath, uint64_t seed, double tol,
                bool commit, bool carry, int64_t checked) {
  const Manifest &m = model.manifest();
  if (!m.hasLogits() || !nl_logits)
    throw Error(fmt::format("'{}' has no logits: its loss is not a "
                            "cross-entropy over tokens",
                            m.model));
  State s = runDir.empty() ? model.init(seed)
                           : model.load(runDir + "/" + kCheckpoint);
  Scratch scratch;
  scratch.batch = Dataset::makeBatch(m);
  size_t T = static_cast<size_t>(m.context),
         vocab = static_cast<size_t>(m.vocab);
  std::vector<int32_t> text(T);
  if (!dataPath.empty()) {
    Dataset::load(dataPath, m).valBatch(0, 1, scratch.batch);
    // Ids (a token not counted in the loss of a masked file is signed).
    std::transform(scratch.batch.tokens.begin(),
                   scratch.batch.tokens.begin() + static_cast<long>(T),
                   text.begin(), tokenId);
  } else {
    for (size_t t = 0; t < T; ++t)
      text[t] = static_cast<int32_t>(
                    randomUniform(seed, 0x73747265 /* "stre" */, t) * m.vocab) %
                static_cast<int32_t>(m.vocab);
  }
  // Every row of the batch holds the text (row 0 is the reference).
  for (int64_t b = 0; b < m.batch; ++b)
    std::copy(text.begin(), text.end(),
              scratch.batch.tokens.begin() + b * (T + 1));
  callOn(model, "logits", nl_logits, s, scratch)();
  const float *ref = scratch.out.at("logits:logits").data();
  // The first `checked` positions (the model is causal: they do not depend
  // on the later ones).
  if (checked > 0 && static_cast<size_t>(checked) < T)
    T = static_cast<size_t>(checked);
  int64_t bad = firstNonFinite(ref, T * vocab);
  if (bad >= 0)
    throw NonFinite(fmt::format(
        "the forward pass over the context is not finite from token {} on "
        "(the model itself, not its stream; --tokens N checks the first N)",
        static_cast<size_t>(bad) / vocab));
  auto relRms = [&](const std::vector<float> &got) {
    double num = 0, den = 0;
    for (size_t i = 0; i < T * vocab; ++i) {
      double d = static_cast<double>(got[i]) - ref[i];
      num += d * d;
      den += static_cast<double>(ref[i]) * ref[i];
    }
    return std::sqrt(num / std::max(den, 1e-300));
  };
  int failures = 0;
  auto report = [&](const std::string &how, const std::vector<float> &got) {
    double e = relRms(got);
    bool ok = std::isfinite(e) && e <= tol;
    failures += !ok;
    fmt::print("{} {:<44} relative RMS error {:.2e}\n", ok ? "ok  " : "FAIL",
               how, e);
  };
  // A fresh stream with the controls of the command line.
  auto fresh = [&] {
    auto st = std::make_unique<Stream>(model, s);
    st->commit = commit;
    st->carry = carry;
    return st;
  };
  std::vector<float> got(T * vocab);
  {
    auto st = fresh();
    fmt::print("stream state: {} floats; prefill {} tokens at multiples of "
               "{}; {} tokens checked\n",
               st->stateElements(), st->prefillTokens(), st->period(), T);
    st->feed(text.data(), T, got.data());
    report("at once (prefill, then decode)", got);
  }
  {
    auto st = fresh();
    st->decodeOnly = true;
    st->feed(text.data(), T, got.data());
    report("token by token (decode)", got);
  }
  {
    auto st = fresh();
    const size_t pieces[] = {1, 7, 15, 16, 17, 63, 64, 65};
    for (size_t i = 0, k = 0; i < T; ++k) {
      size_t n = std::min(pieces[k % 8], T - i);
      st->feed(text.data() + i, n, got.data() + i * vocab);
      i += n;
    }
    report("in pieces of 1, 7, 15, 16, 17, 63, 64, 65", got);
  }
  {
    // Saved inside a chunk, restored into a fresh stream.
    size_t cut = std::min(T - 1, T / 2 + 3);
    std::string path = fmt::format(
        "{}/nl-stream-check-{}.safetensors",
        std::getenv("TMPDIR") ? std::getenv("TMPDIR") : "/tmp", getpid());
    {
      auto first = fresh();
      first->feed(text.data(), cut, got.data());
      first->save(path);
    }
    auto st = fresh();
    st->load(path);
    std::remove(path.c_str());
    st->feed(text.data() + cut, T - cut, got.data() + cut * vocab);
    report(fmt::format("saved at token {} and restored", cut), got);
  }
  {
    // --memorize off: the memories read but keep their initial state.
    auto st = fresh();
    st->memorize = false;
    st->feed(text.data(), T, got.data());
    std::vector<std::string> changed = st->changedMemories();
    bool ok = changed.empty();
    failures += !ok;
    fmt::print("{} {:<44} {}\n", ok ? "ok  " : "FAIL",
               "memorize off: memories at their initial state",
               ok ? fmt::format("(logits {:.2e} from memorize on)", relRms(got))
                  : "changed: " + changed.front());
  }
  fmt::print("{}: {} of 5 checks pass (stream against one forward pass: "
             "tolerance {:.0e})\n",
             failures ? "FAIL" : "PASS", 5 - failures, tol);
  return failures ? kError : kOk;
}

/// The compiled gradient against central finite differences of the compiled
/// loss along random directions, one per parameter tensor, in float32 (the
/// float64 checks are nl-gradcheck's). For each tensor p and unit direction
/// v: the difference quotients D(h) and D(h/2) for h = eps * max(||p||, 1)
/// times 1, 4, 16, 64, keeping the most precise; the estimate is their
/// Richardson extrapolation R = D(h/2) + (D(h/2) - D(h)) / 3 and its error
/// bound |D(h) - D(h/2)| (truncation and rounding as they show between the two
/// steps) plus the float32 rounding of the two losses of D(h/2). It passes when
/// |R - g.v| <= tol * max(|R|, |g.v|) + bound and, where either is above the
/// bound, R and g.v have the same sign. A direction whose derivative float32
/// cannot resolve (both below the bound) is reported as such, not as a pass.
/// `gradScale` multiplies the compiled gradient (a control: -1 or 1.1 must
/// fail).
int gradcheck(Model &model, const std::string &runDir,
              const std::string &dataPath, uint64_t seed, double eps,
              double tol, double gradScale) {
  const Manifest &m = model.manifest();
  State s = runDir.empty() ? model.init(seed)
                           : model.load(runDir + "/" + kCheckpoint);
  Scratch scratch;
  scratch.batch = Dataset::makeBatch(m);
  if (!dataPath.empty()) {
    Dataset::load(dataPath, m).trainBatch(seed, 0, scratch.batch);
  } else {
    // Random tokens, or rows of standard normal values.
    Batch &b = scratch.batch;
    for (size_t i = 0; i < b.tokens.size(); ++i)
      b.tokens[i] = static_cast<int32_t>(randomBits(seed, 0x746f6b, i) %
                                         static_cast<uint64_t>(m.vocab));
    for (size_t i = 0; i < b.rows.size(); ++i)
      b.rows[i] = static_cast<float>(randomNormal(seed, 0x726f77, i));
  }
  Call grad = callOn(model, "loss_grad", nl_loss_grad, s, scratch);
  grad();
  Scratch lossScratch;
  lossScratch.batch = scratch.batch;
  Call loss = callOn(model, "loss", nl_loss, s, lossScratch);
  constexpr double kU = 0x1p-24; // float32 unit roundoff
  int failures = 0, unresolved = 0;
  uint64_t stream = 0;
  for (const TensorSpec &t : model.entry("loss_grad").args) {
    if (t.role != "param")
      continue;
    ++stream;
    Buffer &p = s.tensors.at(t.name);
    const float *g = scratch.out.at("grad:" + t.name).data();
    std::vector<float> v(p.size());
    double dot = 0, norm = 0, pnorm = 0;
    for (size_t i = 0; i < p.size(); ++i) {
      v[i] = static_cast<float>(randomNormal(seed, stream, i));
      norm += double(v[i]) * v[i];
      pnorm += double(p.data()[i]) * p.data()[i];
    }
    norm = std::sqrt(norm);
    for (size_t i = 0; i < p.size(); ++i) {
      v[i] = static_cast<float>(v[i] / norm);
      dot += double(g[i]) * v[i];
    }
    dot *= gradScale;
    std::vector<float> saved(p.data(), p.data() + p.size());
    // The loss at p + h v, and the step actually taken (p + h v rounded to
    // float32), projected on v.
    auto at = [&](double h, double &taken) {
      taken = 0;
      for (size_t i = 0; i < p.size(); ++i) {
        p.data()[i] = static_cast<float>(saved[i] + h * v[i]);
        taken += (double(p.data()[i]) - saved[i]) * v[i];
      }
      loss();
      return static_cast<double>(lossScratch.scalar);
    };
    // The central difference over the steps taken, and the float32 rounding
    // of its two losses (4 ulp each) over the step.
    auto quotient = [&](double h, double &rounding) {
      double tu, td;
      double up = at(h, tu), down = at(-h, td);
      rounding = 8 * kU * std::max(std::fabs(up), std::fabs(down)) / (tu - td);
      return (up - down) / (tu - td);
    };
    // Steps h, 4h, 16h, 64h: the one whose estimate is the most precise
    // (smallest bound against its size; smallest bound while none stands
    // above it).
    double h = eps * std::max(std::sqrt(pnorm), 1.0), est = 0, bound = 0,
           step = h;
    for (int k = 0; k < 4; ++k, h *= 4) {
      double r1, r2;
      double d1 = quotient(h, r1), d2 = quotient(h / 2, r2);
      double e = d2 + (d2 - d1) / 3, b = std::fabs(d1 - d2) + r2;
      bool better = k == 0 || (std::fabs(e) > b
                                   ? b * std::fabs(est) < bound * std::fabs(e)
                                   : std::fabs(est) <= bound && b < bound);
      if (better) {
        est = e;
        bound = b;
        step = h;
      }
    }
    std::copy(saved.begin(), saved.end(), p.data());
    double diff = std::fabs(est - dot);
    // An infinite or NaN derivative or difference fails (the comparisons
    // below would pass inf against inf and every comparison with NaN).
    bool finite =
        std::isfinite(dot) && std::isfinite(est) && std::isfinite(bound);
    bool resolved = std::max(std::fabs(est), std::fabs(dot)) > bound;
    bool sameSign = !resolved || (est > 0) == (dot > 0);
    bool ok = finite && sameSign &&
              diff <= tol * std::max(std::fabs(est), std::fabs(dot)) + bound;
    failures += !ok;
    unresolved += ok && !resolved;
    fmt::print("{} {}: directional derivative {:.6e}, finite difference "
               "{:.6e} (+- {:.1e}, step {:.1e}), |difference| {:.2e}{}\n",
               !ok        ? "FAIL"
               : resolved ? "ok  "
                          : "--  ",
               t.name, dot, est, bound, step, diff,
               !finite     ? ": not finite"
               : !sameSign ? (est == 0 || dot == 0 ? ": one of them is zero"
                                                   : ": opposite signs")
               : !resolved ? ": below float32 resolution"
                           : "");
  }
  // A check that resolved no direction checked nothing: not a pass.
  bool none = stream && uint64_t(unresolved) == stream;
  fmt::print("{}: {} parameter tensor(s), {} failed, {} below float32 "
             "resolution (eps {}, tolerance {}){}\n",
             failures || none ? "FAIL" : "PASS", stream, failures, unresolved,
             eps, tol,
             none ? ": no derivative was resolved, nothing was checked (the "
                    "float64 checks are nl-gradcheck's, docs/autodiff.md)"
                  : "");
  return failures || none ? kError : kOk;
}

/// The compiled model's outputs on one training batch, for comparison with
/// an independent implementation (test/reference): a safetensors file at
/// `out` holding `param.<name>` (every parameter, at the run's checkpoint or
/// a fresh initialization by `seed`), the batch the training loop draws at
/// 0-based `step` of `seed` (`tokens` [B, T+1] I32, or `rows` [B, width]
/// F32), `logits` [B, T, V] (language models), `loss` [] (nats/token for a
/// language model) and `grad.<name>` for every parameter.
int dump(Model &model, const std::string &runDir, const std::string &dataPath,
         uint64_t seed, int64_t step, const std::string &out) {
  const Manifest &m = model.manifest();
  checkOutputDir(out, "--out",
                 {{runDir.empty() ? "" : runDir + "/" + kCheckpoint,
                   "the run's checkpoint"},
                  {dataPath, "--data"}});
  State s = runDir.empty() ? model.init(seed)
                           : model.load(runDir + "/" + kCheckpoint);
  Dataset data = Dataset::load(dataPath, m);
  Scratch scratch;
  scratch.batch = Dataset::makeBatch(m);
  data.trainBatch(seed, step, scratch.batch);
  Call grad = callOn(model, "loss_grad", nl_loss_grad, s, scratch);
  grad();
  Scratch logitScratch;
  if (m.hasLogits() && nl_logits) {
    logitScratch.batch = scratch.batch;
    callOn(model, "logits", nl_logits, s, logitScratch)();
  }

  Safetensors file;
  auto put = [&](const std::string &name, const char *dtype,
                 std::vector<int64_t> shape, const void *p, size_t bytes) {
    StoredTensor t{dtype, std::move(shape), {}};
    t.bytes.assign(static_cast<const char *>(p),
                   static_cast<const char *>(p) + bytes);
    file.tensors.emplace(name, std::move(t));
  };
  for (const TensorSpec &t : model.entry("loss_grad").args) {
    if (t.role != "param")
      continue;
    put("param." + t.name, "F32", t.shape, s.tensors.at(t.name).data(),
        t.numel() * sizeof(float));
    put("grad." + t.name, "F32", t.shape,
        scratch.out.at("grad:" + t.name).data(), t.numel() * sizeof(float));
  }
  const Batch &b = scratch.batch;
  if (m.rows())
    put("rows", "F32", {m.batch, m.width}, b.rows.data(),
        b.rows.size() * sizeof(float));
  else
    put("tokens", "I32", {m.batch, m.context + 1}, b.tokens.data(),
        b.tokens.size() * sizeof(int32_t));
  if (m.hasLogits())
    for (const TensorSpec &t : model.entry("logits").results)
      if (t.role == "logits")
        put("logits", "F32", t.shape,
            logitScratch.out.at("logits:" + t.name).data(),
            t.numel() * sizeof(float));
  put("loss", "F32", {}, &scratch.scalar, sizeof(float));
  file.metadata["nl.model"] = m.model;
  file.metadata["nl.step"] = std::to_string(s.step);
  file.metadata["nl.seed"] = std::to_string(seed);
  file.metadata["nl.batch_step"] = std::to_string(step);
  writeSafetensors(out, file);
  fmt::print(stderr,
             "{}: loss {:.6f}{} on training batch {} of seed {}; "
             "wrote {}\n",
             m.model, scratch.scalar, m.rows() ? "" : " nats/token", step, seed,
             out);
  return std::isfinite(scratch.scalar) ? kOk : kNonFinite;
}

/// "vocab V, batch B, context T tokens" or "batch B rows of W values".
std::string describeInput(const Manifest &m) {
  if (m.rows())
    return fmt::format("batch {} rows of {} values (features, then targets)",
                       m.batch, m.width);
  return fmt::format("vocab {}, batch {}, context {} tokens", m.vocab, m.batch,
                     m.context);
}

int info(const Model &model) {
  const Manifest &m = model.manifest();
  fmt::print("model {}: {}, {}\n", m.model, describeInput(m), m.dtype);
  std::map<std::string, int64_t> perLevel;
  int64_t total = 0, state = 0;
  for (const TensorSpec &t : model.entry("train_step").args) {
    if (t.role == "param") {
      perLevel[t.level] += t.numel();
      total += t.numel();
    } else if (t.role == "state") {
      state += t.numel();
    }
  }
  fmt::print("levels (slowest first):\n");
  for (const LevelSpec &l : m.levels) {
    fmt::print("  {:<24} every {} {}", l.name, l.every, l.unit);
    if (!l.optimizer.empty())
      fmt::print(", optimizer {}", l.optimizer);
    if (l.memory)
      fmt::print(", memory (state per sequence, written by the inner "
                 "objective)");
    if (perLevel.count(l.name))
      fmt::print(", {} parameters", perLevel[l.name]);
    fmt::print("\n");
  }
  fmt::print("parameters: {} ({:.2f} MiB); optimizer state: {} ({:.2f} MiB)\n",
             total, total * 4.0 / (1 << 20), state, state * 4.0 / (1 << 20));
  if (m.trainStepFlops > 0)
    fmt::print(
        "training step: {:.4g} GFLOP of products and attention "
        "({:.4g} MFLOP per {}; nlc --emit=flops)\n",
        m.trainStepFlops / 1e9,
        m.trainStepFlops / 1e6 /
            static_cast<double>(m.rows() ? m.batch : m.batch * m.context),
        m.rows() ? "row" : "token");
  if (m.target == "cuda")
    fmt::print("target: cuda ({})\n", nlrt_gpu_describe());
  else
    fmt::print("target: cpu\n");
  fmt::print("entry points: train_step, loss, loss_grad{}{}\n",
             m.hasLogits() ? ", logits" : "",
             m.hasStream() ? m.functions.count("prefill")
                                 ? ", stream_init, decode, prefill"
                                 : ", stream_init, decode"
                           : "");
  if (!m.hasStream() && !m.noStream.empty())
    fmt::print("no stream entry points: {}\n", m.noStream);
  if (m.hasStream()) {
    // What decode carries from token to token, per sequence (batch 1).
    int64_t memories = 0, caches = 0;
    for (const TensorSpec &t : model.entry("decode").args)
      if (t.role == "stream")
        (t.memory ? memories : caches) += t.numel();
    fmt::print("stream state: {} floats per sequence (memories {}: current, "
               "chunk-start and momentum; caches {})\n",
               memories + caches, memories, caches);
  }
  return kOk;
}

} // namespace

bool isSubcommand(CLI::App &app, const std::string &name) {
  for (CLI::App *sub : app.get_subcommands({}))
    if (sub->get_name() == name)
      return true;
  return false;
}

/// Flag validators with messages that name the expectation.
/// An integer in [low, high]; `expected` (e.g. "an integer >= 1") goes into
/// the message, `name` into --help.
CLI::Validator integerRange(long long low, long long high, std::string expected,
                            std::string name) {
  return CLI::Validator(
      [low, high, expected](std::string &s) -> std::string {
        try {
          size_t used = 0;
          long long v = std::stoll(s, &used);
          if (used == s.size() && v >= low && v <= high)
            return "";
        } catch (const std::logic_error &) {
        }
        return fmt::format("must be {}, got '{}'", expected, s);
      },
      std::move(name));
}
CLI::Validator integerAtLeast(long long low) {
  return integerRange(low, std::numeric_limits<long long>::max(),
                      fmt::format("an integer >= {}", low),
                      fmt::format("INT>={}", low));
}
CLI::Validator integerIn(long long low, long long high) {
  return integerRange(low, high,
                      fmt::format("an integer from {} to {}", low, high),
                      fmt::format("INT in [{}, {}]", low, high));
}
/// A path that is not empty ("" would name the file system's root below
/// it: --run-dir "" read /checkpoint.safetensors).
CLI::Validator nonEmptyPath() {
  return CLI::Validator(
      [](std::string &s) -> std::string {
        return s.empty() ? "must name a path, got ''" : "";
      },
      "PATH");
}
/// A seed: decimal digits only, within 0 .. 2^64 - 1 (CLI11 alone would
/// wrap -1 and saturate larger numbers without a word).
CLI::Validator seedValue() {
  return CLI::Validator(
      [](std::string &s) -> std::string {
        bool digits = !s.empty() && s.size() <= 20 &&
                      std::all_of(s.begin(), s.end(),
                                  [](char c) { return c >= '0' && c <= '9'; });
        if (digits && (s.size() < 20 || s <= "18446744073709551615"))
          return "";
        return "must be an integer from 0 to 18446744073709551615, got '" + s +
               "'";
      },
      "INT in [0, 2^64 - 1]");
}
CLI::Validator positiveReal(bool allowZero) {
  return CLI::Validator(
      [allowZero](std::string &s) -> std::string {
        try {
          size_t used = 0;
          double v = std::stod(s, &used);
          // The entry points compute in float32: a larger value is Inf, a
          // nonzero one below its smallest normal 0 or denormal (--lr 1e-50
          // trained nothing).
          if (used == s.size() && std::isfinite(v) &&
              v <= std::numeric_limits<float>::max() &&
              (v == 0 || v >= std::numeric_limits<float>::min()) &&
              (allowZero ? v >= 0 : v > 0))
            return "";
        } catch (const std::logic_error &) {
        }
        return fmt::format("must be a finite number {} 0 (from {:.4g} to "
                           "{:.4g}, float32's normal range), got '{}'",
                           allowZero ? ">=" : ">",
                           std::numeric_limits<float>::min(),
                           std::numeric_limits<float>::max(), s);
      },
      allowZero ? "REAL>=0" : "REAL>0");
}

int run(int argc, char **argv) {
  std::string exe = argc ? argv[0] : "model";
  exe = exe.substr(exe.find_last_of('/') + 1);
  try {
    Model model(Manifest::parse(nl_manifest));
    const Manifest &m = model.manifest();
    CLI::App app{fmt::format("{}: a Nested Learning model compiled by nlc "
                             "({})",
                             m.model, describeInput(m))};
    app.name(exe);
    app.require_subcommand(1);

    TrainOptions t;
    std::string dataHelp =
        m.rows() ? fmt::format("safetensors file with an F32 tensor 'data' "
                               "[rows, {}]",
                               m.width)
                 : std::string("text file (bytes are tokens), or a "
                               ".safetensors file of token sequences with "
                               "a loss mask (I32 'tokens', I32 'mask')");
    auto *trainCmd =
        app.add_subcommand("train", m.rows() ? "train on rows of real values"
                                             : "train on a "
                                               "text file");
    trainCmd->add_option("--data", t.data, dataHelp)->required();
    trainCmd
        ->add_option("--run-dir", t.runDir,
                     "directory for metrics.jsonl and checkpoints")
        ->required()
        ->check(nonEmptyPath());
    trainCmd->add_option("--steps", t.steps, "training steps")
        ->capture_default_str()
        ->check(integerAtLeast(1));
    trainCmd
        ->add_option("--batch", t.batch,
                     "sequences (or rows) per step (must equal the "
                     "compiled batch)")
        ->check(integerAtLeast(1));
    trainCmd
        ->add_option("--context", t.context,
                     "tokens per sequence (must equal the compiled "
                     "context)")
        ->check(integerAtLeast(1));
    trainCmd
        ->add_option("--lr", t.lr,
                     "scale of every outer learning rate (1 = as "
                     "compiled)")
        ->check(positiveReal(false));
    trainCmd
        ->add_option("--warmup", t.warmup,
                     "steps of linear learning-rate warmup")
        ->check(integerAtLeast(0));
    trainCmd
        ->add_option("--schedule", t.schedule,
                     "learning-rate schedule after warmup")
        ->check(CLI::IsMember({"constant", "cosine"}))
        ->capture_default_str();
    CLI::Option *trainSeed =
        trainCmd
            ->add_option("--seed", t.seed,
                         "seed of initialization and batches (a resumed "
                         "run keeps its own)")
            ->capture_default_str()
            ->check(seedValue());
    trainCmd->add_flag("--resume", t.resume,
                       "continue the run in --run-dir from its checkpoint");
    trainCmd
        ->add_option("--eval-every", t.evalEvery,
                     "steps between validation and checkpoint (0: at the "
                     "end only)")
        ->capture_default_str()
        ->check(integerAtLeast(0));
    trainCmd
        ->add_option("--eval-batches", t.evalBatches,
                     "validation batches per evaluation")
        ->capture_default_str()
        ->check(integerAtLeast(1));
    trainCmd
        ->add_option("--log-every", t.logEvery,
                     "steps between progress lines and train metrics")
        ->capture_default_str()
        ->check(integerAtLeast(1));

    std::string dataPath, runDir, prompt;
    int64_t evalBatches = 8, count = 200;
    double temperature = 0.8, eps = 1e-3, tol = 1e-2, gradScale = 1;
    uint64_t seed = 0;
    auto *evalCmd = app.add_subcommand("eval", "validation loss of a run");
    auto *evalData = evalCmd->add_option("--data", dataPath, dataHelp);
    evalCmd->add_option("--run-dir", runDir, "run directory")
        ->required()
        ->check(nonEmptyPath());
    auto *evalBatchesOpt =
        evalCmd->add_option("--eval-batches", evalBatches, "validation batches")
            ->capture_default_str()
            ->check(integerAtLeast(1));
    std::string longPath;
    int64_t longTokens = 0, bucket = 0;
    std::string memorizeMode = "on";
    auto onOff = CLI::IsMember({"on", "off"});
    auto *longOpt = evalCmd->add_option(
        "--long", longPath,
        "instead of --data: the loss of every token of this text file read "
        "as one stream, the memories' state carried past the context "
        "(stream entry points)");
    auto *longTokensOpt =
        evalCmd
            ->add_option("--long-tokens", longTokens,
                         "read at most this many tokens of --long (0: all)")
            ->capture_default_str()
            ->check(integerAtLeast(0));
    auto *bucketOpt =
        evalCmd
            ->add_option(
                "--bucket", bucket,
                "positions per bucket of --long's loss against position "
                "(default: the context)")
            ->check(integerAtLeast(1));
    evalCmd
        ->add_option("--memorize", memorizeMode,
                     "memories learn while reading (on), or stay at their "
                     "learned initial state (off; the windows of --data, or "
                     "--long, read through the stream entry points)")
        ->capture_default_str()
        ->check(onOff);
    StreamOptions evalStream;
    evalCmd->add_option("--state-in", evalStream.stateIn,
                        "with --long: continue the stream saved in this file");
    evalCmd->add_option(
        "--state-out", evalStream.stateOut,
        "with --long: save the stream state after the text (its last "
        "byte was only a target: start the text that continues "
        "it with that byte)");
    // --online-levels[=LEVELS] and --online-lr, on eval --long and generate.
    auto onlineOptions = [&](CLI::App *cmd, StreamOptions &so,
                             const char *with) {
      CLI::Option *levels = cmd->add_flag(
          "--online-levels{all}", so.online,
          fmt::format("{}levels keep learning at test time: every B x T "
                      "tokens read, a train_step on them updates these "
                      "levels (=all, the default: every level slower than "
                      "a step; or =NAME,NAME)",
                      with));
      cmd->add_option("--online-lr", so.onlineLr,
                      "scale of the online levels' compiled learning rates")
          ->capture_default_str()
          ->check(positiveReal(false))
          ->needs(levels);
    };
    onlineOptions(evalCmd, evalStream, "with --long: ");

    auto *genCmd = app.add_subcommand(
        "generate", m.hasLogits() ? "sample text from a run"
                                  : "sample text (not for this model: its "
                                    "loss is not a cross-entropy)");
    genCmd->add_option("--run-dir", runDir, "run directory")
        ->required()
        ->check(nonEmptyPath());
    genCmd->add_option("--prompt", prompt, "text to continue")->required();
    genCmd->add_option("--tokens", count, "tokens to generate")
        ->capture_default_str()
        ->check(integerAtLeast(0));
    genCmd
        ->add_option("--temperature", temperature,
                     "softmax temperature (0: greedy)")
        ->capture_default_str()
        ->check(positiveReal(true));
    genCmd->add_option("--seed", seed, "sampling seed")
        ->capture_default_str()
        ->check(seedValue());
    GenerateOptions g;
    genCmd->add_option("--state-in", g.stream.stateIn,
                       "continue the stream saved in this file (--state-out)");
    onlineOptions(genCmd, g.stream, "");
    genCmd->add_option("--state-out", g.stream.stateOut,
                       "save the stream state after the last token "
                       "(safetensors)");
    genCmd
        ->add_option("--memorize", memorizeMode,
                     "memories learn while reading (on), or stay at their "
                     "learned initial state (off; needs the stream entry "
                     "points)")
        ->capture_default_str()
        ->check(onOff);
    genCmd
        ->add_option("--batch", g.samples,
                     "independent continuations of the prompt, printed one "
                     "after the other under '=== sample N ==='")
        ->capture_default_str()
        ->check(integerIn(1, 64));
    genCmd->add_flag("--window", g.window,
                     "re-run the last context tokens for every token "
                     "instead of carrying the memories' state");

    double streamTol = 1e-5;
    auto *streamCmd = app.add_subcommand(
        "stream-check", "the stream entry points (prefill, decode, a saved "
                        "state) against one forward pass over the context");
    streamCmd
        ->add_option("--run-dir", runDir,
                     "check at this run's checkpoint (default: a fresh "
                     "initialization)")
        ->check(nonEmptyPath());
    streamCmd->add_option("--data", dataPath,
                          "read the first validation window of this text "
                          "(default: random tokens)");
    streamCmd->add_option("--seed", seed, "seed")
        ->capture_default_str()
        ->check(seedValue());
    streamCmd->add_option("--tol", streamTol, "relative RMS tolerance")
        ->capture_default_str()
        ->check(positiveReal(false));
    bool noCommit = false;
    streamCmd->add_flag("--no-commit", noCommit,
                        "a control: never move the memories' chunk-start "
                        "states at chunk boundaries (must fail)");
    int64_t streamTokens = 0;
    streamCmd
        ->add_option("--tokens", streamTokens,
                     "check the first N tokens of the context (default: "
                     "all)")
        ->check(integerAtLeast(1));
    bool noCarry = false;
    streamCmd->add_flag("--no-carry", noCarry,
                        "a control: start every call from the state before "
                        "the first token (must fail)");

    auto *gradCmd = app.add_subcommand(
        "gradcheck", "compiled gradient against finite differences");
    gradCmd
        ->add_option("--run-dir", runDir,
                     "check at this run's checkpoint (default: a fresh "
                     "initialization)")
        ->check(nonEmptyPath());
    gradCmd->add_option("--data", dataPath,
                        "take a batch from this data file (default: "
                        "random tokens, or rows of normal values)");
    gradCmd->add_option("--seed", seed, "seed")
        ->capture_default_str()
        ->check(seedValue());
    gradCmd
        ->add_option("--eps", eps,
                     "first finite-difference step, relative to the "
                     "tensor's norm (at least 1)")
        ->capture_default_str()
        ->check(positiveReal(false));
    gradCmd->add_option("--tol", tol, "relative tolerance")
        ->capture_default_str()
        ->check(positiveReal(false));
    gradCmd
        ->add_option("--grad-scale", gradScale,
                     "multiply the compiled gradient (a control: -1 or 1.1 "
                     "must fail)")
        ->capture_default_str();

    std::string outPath;
    int64_t batchStep = 0;
    auto *dumpCmd = app.add_subcommand(
        "dump", m.hasLogits() ? "params, one batch, its logits, loss and "
                                "gradients to a safetensors file (for "
                                "references)"
                              : "params, one batch, its loss and gradients "
                                "to a safetensors file (for references)");
    dumpCmd
        ->add_option("--run-dir", runDir,
                     "at this run's checkpoint (default: a fresh "
                     "initialization by --seed)")
        ->check(nonEmptyPath());
    dumpCmd->add_option("--data", dataPath, dataHelp)->required();
    dumpCmd->add_option("--seed", seed, "seed of initialization and batches")
        ->capture_default_str()
        ->check(seedValue());
    dumpCmd
        ->add_option("--batch-step", batchStep,
                     "the training batch of this 0-based step")
        ->capture_default_str()
        ->check(integerAtLeast(0));
    dumpCmd->add_option("--out", outPath, "output .safetensors file")
        ->required();

    auto *infoCmd =
        app.add_subcommand("info", "levels, frequencies, parameter counts");

    // Threads of the fused chunk kernels (parallel over batch x heads).
    int64_t threads = 0;
    for (CLI::App *cmd :
         {trainCmd, evalCmd, genCmd, gradCmd, dumpCmd, streamCmd})
      cmd->add_option("--threads", threads,
                      "threads of the fused memory-update kernels (default: "
                      "every core; results do not depend on it)")
          ->check(integerIn(1, kMaxThreads));

    if (argc > 1 && argv[1][0] != '-' && !isSubcommand(app, argv[1]))
      throw Error(fmt::format("unknown subcommand '{}' (one of: train, eval, "
                              "generate, stream-check, gradcheck, dump, info)",
                              argv[1]));
    try {
      // CLI11 reads a flag given an empty value as not given at all.
      for (int i = 1; i < argc; ++i)
        if (std::string(argv[i]) == "--online-levels=")
          throw Error("--online-levels= names no level: give it alone for "
                      "every level slower than a step, or =NAME,NAME");
      app.parse(argc, argv);
    } catch (const CLI::CallForHelp &e) {
      return app.exit(e);
    } catch (const CLI::CallForAllHelp &e) {
      return app.exit(e);
    } catch (const CLI::ParseError &e) {
      fmt::print(stderr,
                 "{}: error: {}\nRun '{} --help' for the subcommands and "
                 "their flags.\n",
                 exe, e.what(), exe);
      return kError;
    }
    // The compiled functions keep their temporaries on the stack of the
    // thread that runs them (nl-plan-buffers: up to 256 KiB per function):
    // a smaller OMP_STACKSIZE than 1 MiB is raised to 1 MiB before the first
    // parallel region starts a thread.
    constexpr size_t kMinStack = size_t(1) << 20;
    if (kmp_get_stacksize_s && kmp_set_stacksize_s &&
        kmp_get_stacksize_s() < kMinStack)
      kmp_set_stacksize_s(kMinStack);
    if (omp_set_num_threads)
      omp_set_num_threads(static_cast<int>(
          threads ? threads
                  : std::max<int64_t>(1, sysconf(_SC_NPROCESSORS_ONLN))));
    // A GPU build needs the driver: said before anything is written.
    if (model.manifest().target == "cuda" && !*infoCmd)
      nlrt_gpu_require();
    if (*trainCmd) {
      t.seedGiven = trainSeed->count() > 0;
      return train(model, t);
    }
    if (*evalCmd) {
      if (longOpt->count() == evalData->count())
        throw Error("eval takes --data (the validation split) or --long (a "
                    "text read as one stream), one of the two");
      evalStream.memorize = memorizeMode == "on";
      // A flag of the other mode was accepted and had no effect.
      if (longOpt->count() && evalBatchesOpt->count())
        throw Error("--eval-batches is an option of eval --data (the "
                    "validation split); eval --long reads all of its text "
                    "(--long-tokens limits it)");
      if (!longOpt->count() && (longTokensOpt->count() || bucketOpt->count()))
        throw Error("--long-tokens and --bucket are options of eval --long "
                    "(a text read as one stream)");
      if (longOpt->count())
        return evaluateLong(model, runDir, longPath, longTokens,
                            bucket ? bucket : m.context, evalStream);
      if (!evalStream.stateIn.empty() || !evalStream.stateOut.empty() ||
          !evalStream.online.empty())
        throw Error("--online-levels, --state-in and --state-out are options "
                    "of eval --long (a text read as one stream)");
      return evaluate(model, dataPath, runDir, evalBatches,
                      evalStream.memorize);
    }
    if (*genCmd) {
      g.runDir = runDir;
      g.prompt = prompt;
      g.count = count;
      g.temperature = temperature;
      g.seed = seed;
      g.stream.memorize = memorizeMode == "on";
      return generate(model, g);
    }
    if (*streamCmd)
      return streamCheck(model, runDir, dataPath, seed, streamTol, !noCommit,
                         !noCarry, streamTokens);
    if (*gradCmd)
      return gradcheck(model, runDir, dataPath, seed, eps, tol, gradScale);
    if (*dumpCmd)
      return dump(model, runDir, dataPath, seed, batchStep, outPath);
    if (*infoCmd)
      return info(model);
    return kError;
  } catch (const NonFinite &e) {
    fmt::print(stderr, "\n{}: error: {}\n", exe, e.what());
    return kNonFinite;
  } catch (const Error &e) {
    fmt::print(stderr, "{}: error: {}\n", exe, e.what());
    return kError;
  } catch (const std::bad_alloc &) {
    fmt::print(stderr, "{}: error: out of memory\n", exe);
    return kError;
  } catch (const std::length_error &) {
    fmt::print(stderr,
               "{}: error: out of memory (a buffer larger than the "
               "address space)\n",
               exe);
    return kError;
  }
}

} // namespace nlrt

extern "C" int nlrt_main(int argc, char **argv) {
  // The entry points allocate their temporaries with malloc on every call.
  // Keep freed memory in the process (no mmap/munmap per buffer, no trimming)
  // so that steady-state steps do not page-fault it in again.
  mallopt(M_MMAP_THRESHOLD, 1 << 30);
  mallopt(M_TRIM_THRESHOLD, -1);
  int rc = nlrt::run(argc, argv);
  // What a command prints (generated text, eval's JSON line) is its result:
  // a standard output that could not take it is an error.
  if (std::fflush(stdout) != 0 || std::ferror(stdout)) {
    int err = errno;
    std::string exe = argc ? argv[0] : "model";
    fmt::print(stderr, "{}: error: cannot write the standard output: {}\n",
               exe.substr(exe.find_last_of('/') + 1), std::strerror(err));
    return rc == nlrt::kOk ? nlrt::kError : rc;
  }
  return rc;
}
