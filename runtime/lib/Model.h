//===- Model.h - a compiled model: manifest, state, entry points -*- C++
//-*-===//
//
// The runtime's view of a model compiled by nlc: its manifest (nl_manifest,
// JSON), one buffer per parameter and optimizer-state tensor laid out once,
// initialization from the manifest's initializers, calls of the entry points
// (nlrt.h) and checkpoints.
//
//===----------------------------------------------------------------------===//

#ifndef NLRT_MODEL_H
#define NLRT_MODEL_H

#include "Safetensors.h"

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace nlrt {

/// One argument or result of an entry point.
struct TensorSpec {
  std::string name, role, dtype, level;
  std::vector<int64_t> shape;
  /// A memory's chunk-start state in a stream (role "stream"): the tensor it
  /// is copied from after every `every` tokens (docs/streaming.md).
  std::string commitFrom;
  int64_t every = 0;
  /// A memory's state (current, chunk-start or momentum), not a cache.
  bool memory = false;
  int64_t numel() const;
};

struct EntryPoint {
  std::vector<TensorSpec> args, results;
};

struct LevelSpec {
  std::string name, unit, parent, optimizer;
  int64_t every = 1;
  bool memory = false;
};

struct ParamSpec {
  std::string name, level, init;
  std::vector<int64_t> shape;
  double std = 0.02;
};

struct Manifest {
  std::string model, dtype;
  /// The code-generation target: "cpu" or "cuda" (runtime/lib/Cuda.cpp).
  std::string target = "cpu";
  /// What a step reads: "tokens" (i32 byte ids [batch, context + 1]) or
  /// "rows" (f32 rows [batch, width]: a row's features, then its targets).
  std::string input = "tokens";
  int64_t vocab = 256, batch = 1, context = 1, width = 0;
  bool rows() const { return input == "rows"; }
  /// Elements of one batch: batch x (context + 1) tokens or batch x width.
  int64_t batchElements() const;
  /// Whether the model has the generation entry point (a cross-entropy loss).
  bool hasLogits() const { return functions.count("logits") != 0; }
  /// Whether the model has the stream entry points (stream_init, decode,
  /// and maybe prefill); `noStream` says why not.
  bool hasStream() const {
    return functions.count("decode") && functions.count("stream_init");
  }
  std::string noStream;
  /// Floating-point operations of one training step (@train_step's
  /// products and attention, as `nlc --emit=flops` counts them and as
  /// torch.utils.flop_counter counts a PyTorch model's); 0 when the
  /// manifest has no count or only a lower bound.
  double trainStepFlops = 0;
  std::vector<LevelSpec> levels;
  std::vector<ParamSpec> params;
  std::map<std::string, EntryPoint> functions;
  /// The level's period in steps (1 for unknown levels or token levels).
  int64_t stepsOf(const std::string &level) const;
  /// Reads and checks nl_manifest. Throws Error.
  static Manifest parse(const char *json);
};

/// A float buffer aligned to 64 bytes (one cache line, one AVX-512 vector).
class Buffer {
public:
  explicit Buffer(size_t n = 0);
  Buffer(Buffer &&) noexcept;
  Buffer &operator=(Buffer &&) noexcept;
  Buffer(const Buffer &) = delete;
  ~Buffer();
  float *data() { return ptr_; }
  const float *data() const { return ptr_; }
  size_t size() const { return n_; }

private:
  float *ptr_ = nullptr;
  size_t n_ = 0;
};

using EntryFn = void (*)(void **);

/// Parameters and optimizer state of one model, by name.
struct State {
  std::map<std::string, Buffer> tensors;
  int64_t step = 0;  // training steps taken
  uint64_t seed = 0; // of initialization and batch sampling
};

/// The index of the first non-finite (NaN or infinite) element of p[0, n),
/// or -1 when every element is finite.
int64_t firstNonFinite(const float *p, size_t n);

/// `text` as a non-negative decimal integer (digits only, no sign, space or
/// point; at most 20 digits and no overflow), or nullopt.
std::optional<uint64_t> parseCount(const std::string &text);

/// A flat row-major index into `shape` as "[i, j, ...]".
std::string indexText(const std::vector<int64_t> &shape, int64_t flat);

class Model {
public:
  explicit Model(Manifest manifest);
  const Manifest &manifest() const { return m_; }

  /// Zeroed buffers for every parameter and optimizer-state tensor.
  State allocate(uint64_t seed) const;

  /// Fresh parameters from the manifest's initializers (counter-based RNG
  /// keyed by `seed` and the parameter's index), zero optimizer state.
  State init(uint64_t seed) const;

  /// The tensors an entry point reads and writes as params or state.
  const EntryPoint &entry(const std::string &name) const;

  /// Writes `state` (every tensor plus step, seed, model name and the ABI
  /// signature in the metadata) to `path` atomically.
  void save(const State &state, const std::string &path,
            const std::map<std::string, std::string> &extra = {}) const;
  /// Reads a checkpoint written by save(): checks the model name, the ABI
  /// signature, every tensor's presence, dtype and shape, that every value
  /// is finite (naming the tensor and index) and that nl.step and nl.seed
  /// are non-negative integers.
  State load(const std::string &path,
             std::map<std::string, std::string> *metadata = nullptr) const;

  /// A signature of the parameters and state (names, shapes): checkpoints
  /// of another model or another configuration do not match.
  std::string signature() const;
  /// The step's data shape, which the parameters do not show, as checkpoint
  /// metadata: `nl.batch`, and `nl.context` (a model of rows: `nl.width`).
  /// Written by save; train --resume refuses another (its token counts and
  /// schedule would be off).
  std::vector<std::pair<std::string, std::string>> dataShapeMetadata() const;

private:
  Manifest m_;
};

} // namespace nlrt

#endif // NLRT_MODEL_H
