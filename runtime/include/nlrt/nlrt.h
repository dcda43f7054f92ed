/*===- nlrt.h - the C ABI of models compiled by nlc -----------------------===*
 *
 * An object file produced by `nlc model.nl --emit=obj` defines the symbols
 * below; `nlc model.nl -o model` links it with libnlrt, whose main() gives
 * the executable its subcommands (train, eval, generate, gradcheck, info).
 *
 * Every entry point takes one array of pointers: its arguments, then its
 * results, in the order that the manifest lists them. Each pointer is the
 * first element of a dense row-major buffer of the listed shape and dtype
 * (f32 parameters, optimizer state and scalars; i32 tokens, or f32 rows
 * [B, W] in a model of rows of real values, whose manifest has
 * "input": "rows"). Results are
 * written into caller-allocated buffers; inputs are only read. The entry
 * points are reentrant (no global state) and allocate their temporaries
 * with malloc/free.
 *
 * `nl_manifest` is a NUL-terminated JSON document (runtime/README.md):
 * model, vocab, batch, context, levels, params (name, level, shape,
 * initializer) and, for each entry point, its args and results.
 *
 *===----------------------------------------------------------------------===*/

#ifndef NLRT_NLRT_H
#define NLRT_NLRT_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/** The model's manifest (JSON). */
extern const char nl_manifest[];

/** One training step: (params, optimizer state, step t >= 1, lr scale,
 *  fire flags of slower levels, tokens [B, T+1] or rows [B, W]) -> (loss
 *  (nats/token for a language model), params', state'). */
void nl_train_step(void **args);
/** The outer loss of a batch (a language model: mean cross-entropy,
 *  nats/token, of tokens [B, T+1]): (params, tokens or rows) -> (loss). */
void nl_loss(void **args);
/** The loss and its gradient with respect to every parameter:
 *  (params, tokens) -> (loss, grads). */
void nl_loss_grad(void **args);
/** Only in a model whose loss is a cross-entropy (declare it weak to link
 *  code that also runs other models).
 *  Next-token logits [B, T, vocab] for tokens [B, T+1] (the last column is
 *  ignored): (params, tokens) -> (logits). The generation step: row t of
 *  batch b is the distribution of token t+1 given tokens 0..t. */
void nl_logits(void **args);

/** Stream entry points, only in a model that has them (declare them weak;
 *  runtime/README.md, docs/streaming.md): one token stream (batch 1) whose
 *  memory state, chunk-start states, momentum and convolution caches (the
 *  "stream" tensors of the manifest) are carried from call to call.
 *  nl_stream_init: (params) -> (stream state before the first token).
 *  nl_decode: (params, state, tokens [1, 1]) -> (logits [1, 1, vocab],
 *  state'); after it, each chunk-start tensor whose `every` divides the
 *  position is set to its `commit_from` tensor.
 *  nl_prefill: (params, state, tokens [1, P]) -> (logits [1, P, vocab],
 *  state'), only at positions that are multiples of every `every`. */
void nl_stream_init(void **args);
void nl_decode(void **args);
void nl_prefill(void **args);

/** From libnlrt: the initial state of a training run, as `train <model>
 *  --seed SEED` starts it. `args` is laid out as for nl_train_step (its
 *  arguments in manifest order); every param and state slot must point to
 *  a buffer of its shape, which is filled (params with their initializers
 *  from the manifest, drawn from the seeded RNG; optimizer state zero);
 *  other slots are ignored. Returns 0, or 1 with a message on stderr. */
int nlrt_init(uint64_t seed, void **args);

/** The executables' main(): the subcommands of runtime/README.md. */
int nlrt_main(int argc, char **argv);

#ifdef __cplusplus
}
#endif

#endif /* NLRT_NLRT_H */
