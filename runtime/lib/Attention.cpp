//===- Attention.cpp - fused causal attention of compiled models ----------===//
//
// The calls that convert-attention-to-runtime emits for `nl.attention` and
// its gradient on the CPU target: causal softmax attention, full or with a
// sliding window, computed block by block (flash-style: Dao et al. 2022,
// FlashAttention-2's loop order), so that no T x T matrix exists in memory
// and the key blocks above the diagonal, or left of the window, are never
// computed.
//
//   forward   o = softmax(mask(q kᵀ · scale)) v, row by row over query
//             blocks of kBlockQ tokens; each row's softmax is accumulated
//             over key blocks of at most kBlockK tokens with a running
//             maximum m and sum l (the online softmax), o = acc / l.
//   backward  lse = m + log l recomputed as in the forward pass, then per
//             (query block, key block): P = exp(S − lse), dV += Pᵀ dO,
//             dP = dO Vᵀ, dS = P ⊙ (dP − D) with D = rowsum(dO ⊙ O),
//             dQ += dS K · scale, dK += dSᵀ Q · scale.
//
// q, k [B, H, T, dk], v, o, dy [B, H, T, dv] come as pointers (integers:
// memref's extract_aligned_pointer_as_index) with an element offset and
// four strides each, so the compiled code passes views (heads of a [B, T,
// D] projection) without copies. The float32 block products run on
// blockProduct (register blocks of 4 x 32, for operands whose K or N is a
// head's width, where BLIS's per-call packing cost it two thirds of its
// speed); the float64 ones (the gradient checks' builds) on
// single-threaded BLIS, like runtime/lib/Blas.cpp's. The compiled code
// splits the B·H (batch, head) slices into `nlrt_attention_parts` parts,
// one per OpenMP thread, and each slice is computed by one call in a fixed
// order, so the results do not depend on the number of threads. Scratch
// buffers are per thread and reused (no allocation after the first step).
//
// Like Blas.cpp: a plain C ABI, no C++ runtime (an object compiled with
// --emit=obj links from C with libnlrt.a, BLIS and libm).
//
//===----------------------------------------------------------------------===//

#include "BlisInit.h"
#include "nlrt/kernels.h"

#include <blis.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <limits>

extern "C" int omp_get_max_threads() __attribute__((weak));

namespace {

/// Query rows per block and keys per block: a block's scores (kBlockQ x
/// kBlockK) stay in the L2 cache next to the slice's packed q, k and v.
constexpr int64_t kBlockQ = 64;
constexpr int64_t kBlockK = 256;

/// A [B, H, T, D] operand: element (b, h, t, d) at p[b sB + h sH + t sT +
/// d sD].
template <typename T> struct View {
  T *p;
  int64_t sB, sH, sT, sD;
  T *row(int64_t b, int64_t h, int64_t t) const {
    return p + b * sB + h * sH + t * sT;
  }
};

template <typename T>
View<T> view(int64_t ptr, int64_t off, int64_t sB, int64_t sH, int64_t sT,
             int64_t sD) {
  // The compiled code passes buffers as integers: the cast is the ABI.
  return {reinterpret_cast<T *>(ptr) + off, // NOLINT(performance-no-int-to-ptr)
          sB, sH, sT, sD};
}

/// exp(x) in float32 without libm (the same result on every machine with
/// the same vector width, and vectorizable): 2^n · e^r with n = round(x
/// log2 e), r = x − n ln 2 (in two parts), e^r by its degree-6 Taylor
/// polynomial on |r| ≤ ln 2 / 2 (relative error below 2e-7); x is clamped
/// to [−87, 88] (e^−87 ≈ 1.6e−38; the callers give x ≤ 0).
inline float expApprox(float x) {
  x = x < -87.0f ? -87.0f : (x > 88.0f ? 88.0f : x);
  const float shifter = 12582912.0f; // 1.5 · 2^23: adding it rounds
  float n = (x * 1.44269504088896341f + shifter) - shifter;
  float r = x - n * 0.693145751953125f;
  r = r - n * 1.42860682030941723e-6f;
  float p = 1.0f / 720;
  p = p * r + 1.0f / 120;
  p = p * r + 1.0f / 24;
  p = p * r + 1.0f / 6;
  p = p * r + 0.5f;
  p = p * r + 1.0f;
  p = p * r + 1.0f;
  int32_t bits = (static_cast<int32_t>(n) + 127) << 23;
  float scale;
  std::memcpy(&scale, &bits, sizeof scale);
  return p * scale;
}

inline float expOf(float x) { return expApprox(x); }
// float64 (the gradient checks' builds): libm.
inline double expOf(double x) { return std::exp(x); }

/// 16 floats: one AVX-512 register, two AVX2 ones, four SSE ones (GCC's
/// vector extension; loads and stores at any float's alignment).
using Vec16 = float __attribute__((vector_size(64), aligned(4)));

/// Rows [i, i + R) x columns [j, j + 32) of blockProduct's C, accumulated
/// in 2 R vectors over the whole of K. Always inlined, so that each of
/// blockProduct's versions uses its own vectors.
template <int64_t R>
[[gnu::always_inline]] inline void
rowBlock(int64_t i, int64_t j, int64_t k, const float *a, int64_t rsa,
         int64_t csa, const float *b, int64_t ldb, float beta, float *c,
         int64_t ldc) {
  Vec16 acc[R][2] = {};
  for (int64_t p = 0; p < k; ++p) {
    Vec16 b0 = *reinterpret_cast<const Vec16 *>(b + p * ldb + j);
    Vec16 b1 = *reinterpret_cast<const Vec16 *>(b + p * ldb + j + 16);
    for (int64_t r = 0; r < R; ++r) {
      float x = a[(i + r) * rsa + p * csa];
      acc[r][0] += x * b0;
      acc[r][1] += x * b1;
    }
  }
  for (int64_t r = 0; r < R; ++r) {
    auto *out = reinterpret_cast<Vec16 *>(c + (i + r) * ldc + j);
    out[0] = beta != 0 ? out[0] + acc[r][0] : acc[r][0];
    out[1] = beta != 0 ? out[1] + acc[r][1] : acc[r][1];
  }
}

/// C[m x n] = A B + beta C (beta 0 or 1) for the float kernels' block
/// products, whose K or N is a head's width (32, 64): BLIS packs both
/// operands per call and reached 35-54 GFLOP/s at these shapes (one core of
/// a Xeon), a third of its large-product speed. Here B and C are row-major
/// (unit column stride) and A any strides; blocks of 4 rows x 32 columns
/// are accumulated in 8 vectors over the whole of K, each element's sum in
/// k order (then + C), columns past the last multiple of 32 one by one in
/// the same order. Compiled for AVX-512, AVX2 and the baseline, picked at
/// load time: only the rounding of fused multiply-adds differs between
/// machines.
__attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3",
                             "default"))) void
blockProduct(int64_t m, int64_t n, int64_t k, const float *a, int64_t rsa,
             int64_t csa, const float *b, int64_t ldb, float beta, float *c,
             int64_t ldc) {
  constexpr int64_t kRows = 4, kCols = 32;
  int64_t n32 = n / kCols * kCols;
  int64_t i = 0;
  for (; i + kRows <= m; i += kRows)
    for (int64_t j = 0; j < n32; j += kCols)
      rowBlock<kRows>(i, j, k, a, rsa, csa, b, ldb, beta, c, ldc);
  // The rows past the last multiple of kRows, then the columns past n32.
  for (; i < m; ++i)
    for (int64_t j = 0; j < n32; j += kCols)
      rowBlock<1>(i, j, k, a, rsa, csa, b, ldb, beta, c, ldc);
  for (int64_t r = 0; r < m; ++r)
    for (int64_t j = n32; j < n; ++j) {
      float sum = 0;
      for (int64_t p = 0; p < k; ++p)
        sum += a[r * rsa + p * csa] * b[p * ldb + j];
      c[r * ldc + j] = beta != 0 ? c[r * ldc + j] + sum : sum;
    }
}

void gemm(int64_t m, int64_t n, int64_t k, float alpha, const float *a,
          int64_t rsa, int64_t csa, const float *b, int64_t rsb, int64_t csb,
          float beta, float *c, int64_t rsc, int64_t csc) {
  if (alpha == 1 && (beta == 0 || beta == 1) && csb == 1 && csc == 1) {
    blockProduct(m, n, k, a, rsa, csa, b, rsb, beta, c, rsc);
    return;
  }
  bli_sgemm(BLIS_NO_TRANSPOSE, BLIS_NO_TRANSPOSE, m, n, k, &alpha,
            const_cast<float *>(a), rsa, csa, const_cast<float *>(b), rsb, csb,
            &beta, c, rsc, csc);
}

void gemm(int64_t m, int64_t n, int64_t k, double alpha, const double *a,
          int64_t rsa, int64_t csa, const double *b, int64_t rsb, int64_t csb,
          double beta, double *c, int64_t rsc, int64_t csc) {
  bli_dgemm(BLIS_NO_TRANSPOSE, BLIS_NO_TRANSPOSE, m, n, k, &alpha,
            const_cast<double *>(a), rsa, csa, const_cast<double *>(b), rsb,
            csb, &beta, c, rsc, csc);
}

/// This thread's scratch memory, at least `bytes`, 64-byte aligned; kept
/// for the next call (the OpenMP threads live as long as the process).
void *scratch(size_t bytes) {
  static __thread void *buffer = nullptr;
  static __thread size_t size = 0;
  if (size < bytes) {
    std::free(buffer);
    size = (bytes + 4095) & ~size_t(4095);
    buffer = std::aligned_alloc(64, size);
    if (!buffer)
      std::abort(); // out of memory: as the compiled code's own allocations
  }
  return buffer;
}

/// Carves consecutive arrays of T out of one scratch buffer.
template <typename T> struct Carver {
  T *next;
  T *take(int64_t n) {
    T *p = next;
    next += (n + 15) & ~int64_t(15); // 64-byte aligned for float
    return p;
  }
};

/// The shape of one call and the slices of one part.
struct Shape {
  int64_t b, h, t, dk, dv, window;
  /// The first key a query row i attends to.
  int64_t first(int64_t i) const {
    return window > 0 ? std::max<int64_t>(0, i - window + 1) : 0;
  }
};

/// Copies a slice of `src` (T rows of `d`) into the dense [T, d] array `dst`,
/// times `scale`.
template <typename T>
void pack(const View<T> &src, int64_t b, int64_t h, int64_t rows, int64_t d,
          T scale, T *dst) {
  for (int64_t t = 0; t < rows; ++t) {
    const T *s = src.row(b, h, t);
    for (int64_t j = 0; j < d; ++j)
      dst[t * d + j] = scale * s[j * src.sD];
  }
}

/// Copies a slice of `src` (T rows of `d`) transposed into the dense [d, T]
/// array `dst`: the row-major right operand of q kᵀ (and dO vᵀ).
template <typename T>
void packTransposed(const View<T> &src, int64_t b, int64_t h, int64_t rows,
                    int64_t d, T *dst) {
  for (int64_t t = 0; t < rows; ++t) {
    const T *s = src.row(b, h, t);
    for (int64_t j = 0; j < d; ++j)
      dst[j * rows + t] = s[j * src.sD];
  }
}

/// Lanes of the reductions below: partial maxima and sums kept per lane
/// and combined at the end, a fixed order that the compiler vectorizes
/// without reassociating (the results do not depend on the vector width).
constexpr int64_t kLanes = 16;

/// The maximum of x[0, n).
template <typename T> T rowMax(const T *x, int64_t n) {
  T lane[kLanes];
  std::fill(lane, lane + kLanes, -std::numeric_limits<T>::infinity());
  int64_t c = 0;
  for (; c + kLanes <= n; c += kLanes)
    for (int64_t j = 0; j < kLanes; ++j)
      lane[j] = lane[j] > x[c + j] ? lane[j] : x[c + j];
  for (; c < n; ++c)
    lane[0] = lane[0] > x[c] ? lane[0] : x[c];
  T m = lane[0];
  for (int64_t j = 1; j < kLanes; ++j)
    m = m > lane[j] ? m : lane[j];
  return m;
}

/// The sum of x[0, n). Always inlined, so that expShifted's AVX-512 and
/// AVX2 versions sum with their own vectors (called, it ran the baseline
/// SSE2 code: 5 % of a Transformer step).
template <typename T>
[[gnu::always_inline]] inline T rowSum(const T *x, int64_t n) {
  T lane[kLanes] = {};
  int64_t c = 0;
  for (; c + kLanes <= n; c += kLanes)
    for (int64_t j = 0; j < kLanes; ++j)
      lane[j] += x[c + j];
  for (; c < n; ++c)
    lane[0] += x[c];
  T sum = 0;
  for (int64_t j = 0; j < kLanes; ++j)
    sum += lane[j];
  return sum;
}

/// x[c] = exp(x[c] − shift) for c in [0, n); returns their sum. The
/// float32 version is compiled for AVX-512, AVX2 and the baseline, picked
/// at load time (the same lanes and order in each: only the rounding of
/// fused multiply-adds differs between machines).
__attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3",
                             "default"))) float
expShifted(float *x, int64_t n, float shift) {
  for (int64_t c = 0; c < n; ++c)
    x[c] = expApprox(x[c] - shift);
  return rowSum(x, n);
}

double expShifted(double *x, int64_t n, double shift) {
  for (int64_t c = 0; c < n; ++c)
    x[c] = std::exp(x[c] - shift);
  return rowSum(x, n);
}

/// The allowed keys of query row i within the key block [j0, j0 + nk), as
/// columns [lo, hi) of the block (empty when lo >= hi).
inline void allowed(int64_t first, int64_t i, int64_t j0, int64_t nk,
                    int64_t &lo, int64_t &hi) {
  lo = std::max<int64_t>(first, j0) - j0;
  hi = std::min<int64_t>(i + 1, j0 + nk) - j0;
}

/// Softmax statistics of one query block against one key block: the scores
/// S (nq x nk, row-major, already computed) become P = exp(S − m_new) on
/// the allowed keys and 0 elsewhere; m, l and (when `acc` is not null) the
/// accumulated output rows (nq x dv) are rescaled to the new maximum.
template <typename T>
void onlineSoftmax(const Shape &s, int64_t i0, int64_t nq, int64_t j0,
                   int64_t nk, T *scores, T *m, T *l, T *acc) {
  const T negInf = -std::numeric_limits<T>::infinity();
  for (int64_t r = 0; r < nq; ++r) {
    int64_t i = i0 + r, lo, hi;
    allowed(s.first(i), i, j0, nk, lo, hi);
    T *row = scores + r * nk;
    if (lo >= hi) { // no allowed key in this block: P = 0, m and l stay
      std::fill(row, row + nk, T(0));
      continue;
    }
    T mNew = std::max(m[r], rowMax(row + lo, hi - lo));
    T alpha = m[r] == negInf ? T(0) : expOf(m[r] - mNew);
    std::fill(row, row + lo, T(0));
    T sum = expShifted(row + lo, hi - lo, mNew);
    std::fill(row + hi, row + nk, T(0));
    l[r] = l[r] * alpha + sum;
    m[r] = mNew;
    if (acc)
      for (int64_t e = 0; e < s.dv; ++e)
        acc[r * s.dv + e] *= alpha;
  }
}

/// The key blocks of query block [i0, i0 + nq): from its first allowed key
/// to its last query (inclusive), in blocks of kBlockK.
template <typename Fn>
void forKeyBlocks(const Shape &s, int64_t i0, int64_t nq, Fn fn) {
  int64_t lo = s.first(i0), hi = i0 + nq;
  for (int64_t j0 = lo; j0 < hi; j0 += kBlockK)
    fn(j0, std::min(kBlockK, hi - j0));
}

template <typename T>
void forwardSlice(const Shape &s, T scale, int64_t b, int64_t h,
                  const View<T> &q, const View<T> &k, const View<T> &v,
                  const View<T> &o) {
  // 7 arrays, each rounded up to 16 elements by the carver.
  size_t elems = static_cast<size_t>(s.t * (s.dk * 2 + s.dv) +
                                     kBlockQ * (kBlockK + s.dv + 2) + 112);
  Carver<T> c{static_cast<T *>(scratch(elems * sizeof(T)))};
  T *qs = c.take(s.t * s.dk), *kt = c.take(s.t * s.dk),
    *vs = c.take(s.t * s.dv), *scores = c.take(kBlockQ * kBlockK),
    *acc = c.take(kBlockQ * s.dv), *m = c.take(kBlockQ), *l = c.take(kBlockQ);
  pack(q, b, h, s.t, s.dk, scale, qs);
  packTransposed(k, b, h, s.t, s.dk, kt);
  pack(v, b, h, s.t, s.dv, T(1), vs);
  for (int64_t i0 = 0; i0 < s.t; i0 += kBlockQ) {
    int64_t nq = std::min(kBlockQ, s.t - i0);
    std::fill(m, m + nq, -std::numeric_limits<T>::infinity());
    std::fill(l, l + nq, T(0));
    std::fill(acc, acc + nq * s.dv, T(0));
    forKeyBlocks(s, i0, nq, [&](int64_t j0, int64_t nk) {
      // S = Qs[i0:] K[j0:]ᵀ; acc += P V[j0:].
      gemm(nq, nk, s.dk, T(1), qs + i0 * s.dk, s.dk, 1, kt + j0, s.t, 1, T(0),
           scores, nk, 1);
      onlineSoftmax(s, i0, nq, j0, nk, scores, m, l, acc);
      gemm(nq, s.dv, nk, T(1), scores, nk, 1, vs + j0 * s.dv, s.dv, 1, T(1),
           acc, s.dv, 1);
    });
    for (int64_t r = 0; r < nq; ++r) {
      T *out = o.row(b, h, i0 + r);
      T inv = T(1) / l[r];
      for (int64_t e = 0; e < s.dv; ++e)
        out[e * o.sD] = acc[r * s.dv + e] * inv;
    }
  }
}

template <typename T>
void backwardSlice(const Shape &s, T scale, int64_t b, int64_t h,
                   const View<T> &q, const View<T> &k, const View<T> &v,
                   const View<T> &o, const View<T> &dy, const View<T> &dq,
                   const View<T> &dk, const View<T> &dv) {
  // 14 arrays, each rounded up to 16 elements by the carver.
  size_t elems = static_cast<size_t>(s.t * (s.dk * 5 + s.dv * 3 + 2) +
                                     kBlockQ * (2 * kBlockK + 2) + 224);
  Carver<T> c{static_cast<T *>(scratch(elems * sizeof(T)))};
  T *qs = c.take(s.t * s.dk), *ks = c.take(s.t * s.dk),
    *kt = c.take(s.t * s.dk), *vt = c.take(s.t * s.dv),
    *dos = c.take(s.t * s.dv), *dQ = c.take(s.t * s.dk),
    *dK = c.take(s.t * s.dk), *dV = c.take(s.t * s.dv), *d = c.take(s.t),
    *lse = c.take(s.t), *p = c.take(kBlockQ * kBlockK),
    *dp = c.take(kBlockQ * kBlockK), *m = c.take(kBlockQ), *l = c.take(kBlockQ);
  pack(q, b, h, s.t, s.dk, scale, qs);
  pack(k, b, h, s.t, s.dk, T(1), ks);
  packTransposed(k, b, h, s.t, s.dk, kt);
  packTransposed(v, b, h, s.t, s.dv, vt);
  pack(dy, b, h, s.t, s.dv, T(1), dos);
  // D = rowsum(dO ⊙ O).
  for (int64_t t = 0; t < s.t; ++t) {
    const T *out = o.row(b, h, t);
    T sum = 0;
    for (int64_t e = 0; e < s.dv; ++e)
      sum += dos[t * s.dv + e] * out[e * o.sD];
    d[t] = sum;
  }
  std::fill(dQ, dQ + s.t * s.dk, T(0));
  std::fill(dK, dK + s.t * s.dk, T(0));
  std::fill(dV, dV + s.t * s.dv, T(0));
  for (int64_t i0 = 0; i0 < s.t; i0 += kBlockQ) {
    int64_t nq = std::min(kBlockQ, s.t - i0);
    // lse of the block's rows, as the forward pass computes m and l.
    std::fill(m, m + nq, -std::numeric_limits<T>::infinity());
    std::fill(l, l + nq, T(0));
    forKeyBlocks(s, i0, nq, [&](int64_t j0, int64_t nk) {
      gemm(nq, nk, s.dk, T(1), qs + i0 * s.dk, s.dk, 1, kt + j0, s.t, 1, T(0),
           p, nk, 1);
      onlineSoftmax<T>(s, i0, nq, j0, nk, p, m, l, nullptr);
    });
    for (int64_t r = 0; r < nq; ++r)
      lse[i0 + r] = m[r] + std::log(l[r]);
    forKeyBlocks(s, i0, nq, [&](int64_t j0, int64_t nk) {
      gemm(nq, nk, s.dk, T(1), qs + i0 * s.dk, s.dk, 1, kt + j0, s.t, 1, T(0),
           p, nk, 1);
      // P = exp(S − lse) on the allowed keys, 0 elsewhere.
      for (int64_t r = 0; r < nq; ++r) {
        int64_t i = i0 + r, lo, hi;
        allowed(s.first(i), i, j0, nk, lo, hi);
        T *row = p + r * nk;
        lo = std::clamp<int64_t>(lo, 0, nk);
        hi = std::clamp<int64_t>(hi, lo, nk);
        std::fill(row, row + lo, T(0));
        expShifted(row + lo, hi - lo, lse[i]);
        std::fill(row + hi, row + nk, T(0));
      }
      // dV[j0:] += Pᵀ dO[i0:]; dP = dO[i0:] V[j0:]ᵀ.
      gemm(nk, s.dv, nq, T(1), p, 1, nk, dos + i0 * s.dv, s.dv, 1, T(1),
           dV + j0 * s.dv, s.dv, 1);
      gemm(nq, nk, s.dv, T(1), dos + i0 * s.dv, s.dv, 1, vt + j0, s.t, 1, T(0),
           dp, nk, 1);
      // dS = P ⊙ (dP − D), in dp.
      for (int64_t r = 0; r < nq; ++r)
        for (int64_t cc = 0; cc < nk; ++cc)
          dp[r * nk + cc] = p[r * nk + cc] * (dp[r * nk + cc] - d[i0 + r]);
      // dQs[i0:] += dS K[j0:]; dK[j0:] += dSᵀ Qs[i0:].
      gemm(nq, s.dk, nk, T(1), dp, nk, 1, ks + j0 * s.dk, s.dk, 1, T(1),
           dQ + i0 * s.dk, s.dk, 1);
      gemm(nk, s.dk, nq, T(1), dp, 1, nk, qs + i0 * s.dk, s.dk, 1, T(1),
           dK + j0 * s.dk, s.dk, 1);
    });
  }
  for (int64_t t = 0; t < s.t; ++t) {
    T *gq = dq.row(b, h, t), *gk = dk.row(b, h, t), *gv = dv.row(b, h, t);
    for (int64_t j = 0; j < s.dk; ++j) {
      gq[j * dq.sD] = scale * dQ[t * s.dk + j];
      gk[j * dk.sD] = dK[t * s.dk + j];
    }
    for (int64_t e = 0; e < s.dv; ++e)
      gv[e * dv.sD] = dV[t * s.dv + e];
  }
}

/// The (batch, head) slices of `part` of `parts`.
template <typename Fn>
void forSlices(int64_t part, int64_t parts, const Shape &s, Fn fn) {
  nlrt::initBlis();
  int64_t slices = s.b * s.h;
  for (int64_t i = slices * part / parts; i < slices * (part + 1) / parts; ++i)
    fn(i / s.h, i % s.h);
}

} // namespace

#define NLRT_VIEW(Elt, x) view<Elt>(x##Ptr, x##Off, x##B, x##H, x##T, x##D)

extern "C" {

/// The number of parts (one per OpenMP thread, at most one per slice) to
/// share the B·H slices of one attention call among.
int64_t nlrt_attention_parts(int64_t batch, int64_t heads) {
  int64_t threads = omp_get_max_threads ? omp_get_max_threads() : 1;
  return std::max<int64_t>(1, std::min(threads, batch * heads));
}

void nlrt_attention_f32(NLRT_ATTENTION_ARGS) {
  Shape s{batch, heads, tokens, dk, dv, window};
  forSlices(part, parts, s, [&](int64_t b, int64_t h) {
    forwardSlice<float>(s, static_cast<float>(scale), b, h, NLRT_VIEW(float, q),
                        NLRT_VIEW(float, k), NLRT_VIEW(float, v),
                        NLRT_VIEW(float, o));
  });
}

void nlrt_attention_f64(NLRT_ATTENTION_ARGS) {
  Shape s{batch, heads, tokens, dk, dv, window};
  forSlices(part, parts, s, [&](int64_t b, int64_t h) {
    forwardSlice<double>(s, scale, b, h, NLRT_VIEW(double, q),
                         NLRT_VIEW(double, k), NLRT_VIEW(double, v),
                         NLRT_VIEW(double, o));
  });
}

void nlrt_attention_grad_f32(NLRT_ATTENTION_GRAD_ARGS) {
  Shape s{batch, heads, tokens, dk, dv, window};
  forSlices(part, parts, s, [&](int64_t b, int64_t h) {
    backwardSlice<float>(s, static_cast<float>(scale), b, h,
                         NLRT_VIEW(float, q), NLRT_VIEW(float, k),
                         NLRT_VIEW(float, v), NLRT_VIEW(float, o),
                         NLRT_VIEW(float, dy), NLRT_VIEW(float, dq),
                         NLRT_VIEW(float, dk), NLRT_VIEW(float, dv));
  });
}

void nlrt_attention_grad_f64(NLRT_ATTENTION_GRAD_ARGS) {
  Shape s{batch, heads, tokens, dk, dv, window};
  forSlices(part, parts, s, [&](int64_t b, int64_t h) {
    backwardSlice<double>(
        s, scale, b, h, NLRT_VIEW(double, q), NLRT_VIEW(double, k),
        NLRT_VIEW(double, v), NLRT_VIEW(double, o), NLRT_VIEW(double, dy),
        NLRT_VIEW(double, dq), NLRT_VIEW(double, dk), NLRT_VIEW(double, dv));
  });
}

} // extern "C"
