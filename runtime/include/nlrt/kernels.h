/*===- kernels.h - the runtime kernels that compiled models call ---------===*
 *
 * The C entry points that nlc's generated code calls on the CPU target:
 * the dense products of convert-contractions-to-blas (runtime/lib/Blas.cpp)
 * and the fused causal attention of convert-attention-to-runtime
 * (runtime/lib/Attention.cpp), both over single-threaded BLIS. Every
 * integer is an `index` of the compiled code; a buffer is its aligned
 * pointer as an integer and an element offset, followed by its strides in
 * elements. `part` of `parts`: the share of one OpenMP thread (the
 * `*_parts` functions say how many). nl-gradcheck links them into its JIT.
 *
 *===----------------------------------------------------------------------===*/

#ifndef NLRT_KERNELS_H
#define NLRT_KERNELS_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* C[b] (+)= A[b] B[b] for b < batch: A [m, k], B [k, n], C [m, n], each
 * given by (pointer, offset, batch stride, row stride, column stride);
 * accumulate = 0 overwrites C. */
int64_t nlrt_gemm_parts(int64_t batch, int64_t m, int64_t n, int64_t k);
#define NLRT_GEMM_ARGS                                                         \
  int64_t part, int64_t parts, int64_t batch, int64_t m, int64_t n, int64_t k, \
      int64_t aPtr, int64_t aOff, int64_t aB, int64_t aM, int64_t aK,          \
      int64_t bPtr, int64_t bOff, int64_t bB, int64_t bK, int64_t bN,          \
      int64_t cPtr, int64_t cOff, int64_t cB, int64_t cM, int64_t cN,          \
      int64_t accumulate
void nlrt_sgemm(NLRT_GEMM_ARGS);
void nlrt_dgemm(NLRT_GEMM_ARGS);

/* Causal softmax attention over q, k [B, H, T, dk], v [B, H, T, dv] into o
 * [B, H, T, dv] (window 0: every earlier token; else the last `window`
 * tokens), and its gradient: dq, dk, dv from q, k, v, o and the cotangent
 * dy of o. Each buffer: (pointer, offset, strides of B, H, T and the last
 * dim). Parts share the B·H slices. */
int64_t nlrt_attention_parts(int64_t batch, int64_t heads);
#define NLRT_ATTENTION_OPERAND(x)                                              \
  int64_t x##Ptr, int64_t x##Off, int64_t x##B, int64_t x##H, int64_t x##T,    \
      int64_t x##D
#define NLRT_ATTENTION_SHAPE                                                   \
  int64_t part, int64_t parts, int64_t batch, int64_t heads, int64_t tokens,   \
      int64_t dk, int64_t dv, int64_t window, double scale
#define NLRT_ATTENTION_ARGS                                                    \
  NLRT_ATTENTION_SHAPE, NLRT_ATTENTION_OPERAND(q), NLRT_ATTENTION_OPERAND(k),  \
      NLRT_ATTENTION_OPERAND(v), NLRT_ATTENTION_OPERAND(o)
#define NLRT_ATTENTION_GRAD_ARGS                                               \
  NLRT_ATTENTION_ARGS, NLRT_ATTENTION_OPERAND(dy), NLRT_ATTENTION_OPERAND(dq), \
      NLRT_ATTENTION_OPERAND(dk), NLRT_ATTENTION_OPERAND(dv)
void nlrt_attention_f32(NLRT_ATTENTION_ARGS);
void nlrt_attention_f64(NLRT_ATTENTION_ARGS);
void nlrt_attention_grad_f32(NLRT_ATTENTION_GRAD_ARGS);
void nlrt_attention_grad_f64(NLRT_ATTENTION_GRAD_ARGS);

#ifdef __cplusplus
}
#endif

#endif /* NLRT_KERNELS_H */
