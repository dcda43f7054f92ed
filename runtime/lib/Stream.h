//===- Stream.h - one token stream read with carried memory state -*- C++
//-*-===//
//
// A compiled model reading one stream of tokens (batch 1) through the entry
// points that nlc derives beside train_step: `stream_init` (the state before
// the first token: the memories' learned initial states, zero momentum and
// caches), `decode` (one token) and `prefill` (a fixed number of tokens, at
// a boundary of every memory's chunks). Every memory's current state, its
// chunk-start state, its momentum and every causal convolution's cache are
// carried from call to call, so a stream can be longer than the compiled
// context (docs/streaming.md).
//
//===----------------------------------------------------------------------===//

#ifndef NLRT_STREAM_H
#define NLRT_STREAM_H

#include "Model.h"

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace nlrt {

class Stream {
public:
  /// The state before the first token, computed by the model's
  /// `stream_init` from `params` (kept by reference: the parameters must
  /// outlive the stream). Throws Error when the model has no stream entry
  /// points (the manifest's `no_stream` says why).
  Stream(const Model &model, State &params);
  ~Stream();
  Stream(const Stream &) = delete;
  Stream &operator=(const Stream &) = delete;

  /// Reads `n` tokens (each below the vocabulary); when `logits` is not
  /// null, writes the next-token logits of each, [n, vocab]. Uses prefill
  /// for every whole prefill block that starts at a common chunk boundary
  /// of the memories, decode for the other tokens: the results are those
  /// of one forward pass over the whole stream, up to float32 rounding.
  void feed(const int32_t *tokens, size_t n, float *logits);

  /// Tokens read so far.
  int64_t position() const { return pos_; }
  /// Tokens of one prefill call (0: the model has none).
  int64_t prefillTokens() const { return prefillTokens_; }
  /// The chunk boundary common to every memory, in tokens (1 without
  /// memories): prefill is called only at multiples of it.
  int64_t period() const { return period_; }
  /// Elements of the whole stream state.
  size_t stateElements() const;
  /// The memory tensors (not caches) that differ from their state before
  /// the first token.
  std::vector<std::string> changedMemories() const;
  /// The first state tensor, in the model's order (names with their
  /// numbers compared as numbers: layer 2 before layer 10), that holds a
  /// non-finite value, as "memory state 'layer.2.mem.M.w1' at [3, 7]" (or
  /// "momentum", "chunk-start state", "cache"), with how many others do; empty
  /// when every value is finite.
  std::string nonFiniteState() const;
  /// The largest finite magnitude of any memory state (not cache), as
  /// "5.2e+27 in 'layer.0.mem.M.w1'"; empty without memories.
  std::string largestMemoryValue() const;

  /// Test-time learning of outer levels (--online-levels;
  /// docs/streaming.md, "Levels that learn at test time"): `levels` is
  /// "all" (every level slower than a step) or level names separated by
  /// commas. A test-time step reads the compiled batch of B windows of T
  /// tokens, B x T consecutive tokens of the stream: once the stream has
  /// read them and knows the next token (the last window's target), and
  /// before it reads that token, it runs the model's train_step on them
  /// (tokens [B, T + 1], row r the tokens r T .. r T + T since the last
  /// test-time step) from the stream's parameters and optimizer state, and
  /// keeps the new parameters and optimizer state of these levels only (the
  /// others stay as loaded). The step number continues from the
  /// checkpoint's, so a level of period p steps accumulates its gradient
  /// and takes its optimizer step when the step number is a multiple of p,
  /// as in training: every p B T tokens. `lrScale` multiplies the compiled
  /// learning rates (train's --lr). The parameters are changed in place
  /// (the State given to the constructor). Throws Error for an unknown
  /// level, a memory level, a level without parameters, or "all" when the
  /// model has no level slower than a step.
  void learnOnline(const std::string &levels, float lrScale = 1);
  /// The levels that learn at test time (empty without learnOnline).
  std::vector<std::string> onlineLevels() const;
  /// Test-time steps taken (by this object, and in total with a state
  /// loaded from a file), and how many times each level took its optimizer
  /// step (by this object).
  int64_t onlineStepsHere() const;
  int64_t onlineSteps() const;
  std::map<std::string, int64_t> onlineFirings() const;
  /// Tokens of one test-time step (B x T; 0 without learnOnline).
  int64_t onlineTokens() const;

  /// Reads every token through decode (a check that prefill and decode
  /// agree; slower).
  bool decodeOnly = false;
  /// False freezes every memory at its state (the learned initial state
  /// from the start of a stream): the memories read but do not learn, the
  /// ablation of test-time memorization. Caches still carry.
  bool memorize = true;
  /// False skips the copies of the current states into the chunk-start
  /// states at chunk boundaries (a control for stream-check: must fail).
  bool commit = true;
  /// False starts every call from the state before the first token (a
  /// control for stream-check: caches and memories forgotten; must fail).
  bool carry = true;

  /// Writes the state (every tensor, the position, the model name and the
  /// stream's signature) to `path` atomically (safetensors). A stream that
  /// learns online adds its levels' parameters and optimizer state
  /// ("online.<name>"), the tokens read since its last test-time step
  /// ("online.history", I32) and its step counts.
  void save(const std::string &path) const;
  /// Reads a state written by save() by this model: checks the model name,
  /// the signature (names and shapes of the tensors), every tensor's shape,
  /// that every value is finite and the position; and that the file learns
  /// online the same levels as this stream (or neither does). Throws Error
  /// naming the file and the problem.
  void load(const std::string &path);

  /// Copies of every state tensor and the position (a checkpoint in
  /// memory: `restore` returns the stream to it). Not of a stream that
  /// learns online (throws Error).
  struct Snapshot {
    std::map<std::string, Buffer> state;
    int64_t pos = 0;
  };
  Snapshot snapshot() const;
  void restore(const Snapshot &s);

private:
  void call(const std::string &entry, void (*fn)(void **),
            const int32_t *tokens, size_t n, float *logits);
  std::string signature() const;

  struct Online;
  void onlineStep(int32_t next);

  const Model &model_;
  State &params_;
  std::unique_ptr<Online> online_;
  std::map<std::string, Buffer> cur_, next_, init_;
  std::vector<TensorSpec> commits_; // chunk-start states (commitFrom, every)
  std::vector<int32_t> tokens_;
  Buffer logits_;
  int64_t pos_ = 0, prefillTokens_ = 0, period_ = 1;
  float memorizeFlag_ = 1;
};

/// Where the forward pass of a training batch first goes non-finite:
/// replays each of its `rows` windows (tokens [rows, context + 1], the
/// batch of train_step; the first `context` tokens of each are read)
/// through the stream entry points at `params`, each from the state before
/// the first token, and checks the state and the logits after every call
/// (prefill blocks, then token by token in the first block that went bad).
/// Returns a sentence naming the first non-finite memory state (its level
/// and layer in its name) or the logits, the token (0-based, of `context`)
/// and the row; or one saying the forward pass is finite at every token;
/// empty when the model has no stream entry points. The stream is the
/// forward pass up to float32 rounding (stream-check), so a value that is
/// barely finite in one may not be in the other.
std::string replayNonFinite(const Model &model, State &params,
                            const int32_t *tokens, int64_t rows,
                            int64_t context);

} // namespace nlrt

#endif // NLRT_STREAM_H
