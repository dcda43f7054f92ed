//===- Blas.cpp - the dense products of compiled models, on BLIS ----------===//
//
// The calls that convert-contractions-to-blas emits for the plain dense
// contractions of a model (projections, their gradients, the per-head
// attention products): C[b] = A[b] B[b] + beta C[b] for b < batch, with
// A [M, K], B [K, N], C [M, N] given by arbitrary strides in elements, on
// single-threaded BLIS (Debian's libblis4-serial). The compiled code splits
// a product into `nlrt_gemm_parts` parts and runs them on its OpenMP
// threads, one part per thread, each making a range of the product's BLIS
// calls: whole batch entries, or panels of at most 256 rows or columns, a
// multiple of 4 of them (64 columns for a product at most 256 wide with a
// long sum: a weight gradient). The calls depend on the shape only (K is
// never split), so every element's sum is accumulated in the same order at
// any thread count.
//
// Every integer is an `index` of the compiled code (int64_t); pointers come
// as integers with an element offset.
//
//===----------------------------------------------------------------------===//

#include "BlisInit.h"
#include "nlrt/kernels.h"

#include <blis.h>
#include <cpuid.h>
#include <pthread.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>

extern "C" int omp_get_max_threads() __attribute__((weak));

namespace {

/// Below this many flops (2 B M N K) a product is not split: a fork costs
/// more than it saves.
constexpr int64_t kSplitFlops = int64_t(1) << 21;

/// Row and column strides BLIS accepts for an m x n matrix whose strides
/// are `rs`, `cs` (0 along a dim of extent 1): a dim of extent 1 gets the
/// stride a dense matrix would have, so BLIS sees a row- or column-major
/// matrix.
void normalize(int64_t m, int64_t n, int64_t &rs, int64_t &cs) {
  if (m == 1 && n == 1) {
    rs = cs = 1;
  } else if (m == 1) {
    rs = cs * n;
  } else if (n == 1) {
    cs = rs * m;
  }
}

/// The calls one product is made of: `pieces` panels of `panel` rows
/// (along M when M >= N) or columns (along N) per batch entry. They depend
/// on the shape only, never on the number of threads, so that every element
/// comes out of the same BLIS call at any thread count (BLIS's small-matrix
/// kernels accumulate in a different order than its packed ones: the same
/// element may differ between a 4096-row call and a 2048-row one).
struct Split {
  int64_t pieces;
  int64_t panel;
  bool alongM;
};

/// Panels of at most kPanel rows (or columns), kQuantum of them or a
/// multiple: 768 rows are 4 panels of 192, not 3 of 256 that leave one of
/// two (or four) threads idle a third of the time; 4,096 rows stay 16
/// panels of 256.
constexpr int64_t kPanel = 256;
constexpr int64_t kQuantum = 4;

/// A product at most kPanel wide along both M and N whose sum over K is long
/// (at least kNarrowFlops: a weight gradient, such as a 128 x 128
/// projection's summed over 768 tokens or more) is split into panels of
/// kNarrowPanel, which one panel would leave on one thread while the others
/// wait.
constexpr int64_t kNarrowPanel = 64;
constexpr int64_t kNarrowFlops = int64_t(1) << 23;

Split splitOf(int64_t m, int64_t n, int64_t k) {
  bool alongM = m >= n;
  int64_t extent = alongM ? m : n;
  if (extent <= kPanel) {
    int64_t panel = 2 * m * n * k >= kNarrowFlops ? kNarrowPanel : kPanel;
    return {(extent + panel - 1) / panel, panel, alongM};
  }
  int64_t pieces = (extent + kPanel - 1) / kPanel;
  pieces = (pieces + kQuantum - 1) / kQuantum * kQuantum;
  int64_t panel = (extent + pieces - 1) / pieces;
  return {(extent + panel - 1) / panel, panel, alongM};
}

template <typename T, typename Gemm>
void gemmPart(int64_t part, int64_t parts, int64_t batch, int64_t m, int64_t n,
              int64_t k, int64_t aPtr, int64_t aOff, int64_t aB, int64_t aM,
              int64_t aK, int64_t bPtr, int64_t bOff, int64_t bB, int64_t bK,
              int64_t bN, int64_t cPtr, int64_t cOff, int64_t cB, int64_t cM,
              int64_t cN, int64_t accumulate, Gemm gemm) {
  nlrt::initBlis();
  // The compiled code passes buffers as integers (memref's
  // extract_aligned_pointer_as_index): the casts are the ABI.
  T *a =
      reinterpret_cast<T *>(aPtr) + aOff; // NOLINT(performance-no-int-to-ptr)
  T *b =
      reinterpret_cast<T *>(bPtr) + bOff; // NOLINT(performance-no-int-to-ptr)
  T *c =
      reinterpret_cast<T *>(cPtr) + cOff; // NOLINT(performance-no-int-to-ptr)
  normalize(m, k, aM, aK);
  normalize(k, n, bK, bN);
  normalize(m, n, cM, cN);
  Split s = splitOf(m, n, k);
  int64_t extent = s.alongM ? m : n;
  int64_t items = batch * s.pieces;
  int64_t first = items * part / parts, last = items * (part + 1) / parts;
  T one = 1, beta = accumulate ? 1 : 0;
  for (int64_t item = first; item < last; ++item) {
    int64_t e = item / s.pieces, piece = item % s.pieces;
    int64_t lo = piece * s.panel, hi = std::min(extent, lo + s.panel);
    T *ae = a + e * aB, *be = b + e * bB, *ce = c + e * cB;
    if (s.alongM)
      gemm(BLIS_NO_TRANSPOSE, BLIS_NO_TRANSPOSE, hi - lo, n, k, &one,
           ae + lo * aM, aM, aK, be, bK, bN, &beta, ce + lo * cM, cM, cN);
    else
      gemm(BLIS_NO_TRANSPOSE, BLIS_NO_TRANSPOSE, m, hi - lo, k, &one, ae, aM,
           aK, be + lo * bN, bK, bN, &beta, ce + lo * cN, cM, cN);
  }
}

/// Whether this CPU gets BLIS's AVX-512 kernels by initBlis()'s rule
/// (BlisInit.h): an Intel CPU with AVX-512 F, DQ, BW and VL that the OS has
/// enabled.
bool wantsBlisAvx512() {
  unsigned eax, ebx, ecx, edx;
  if (!__get_cpuid(0, &eax, &ebx, &ecx, &edx))
    return false;
  char vendor[13];
  std::memcpy(vendor, &ebx, 4);
  std::memcpy(vendor + 4, &edx, 4);
  std::memcpy(vendor + 8, &ecx, 4);
  vendor[12] = 0;
  if (std::strcmp(vendor, "GenuineIntel") != 0 || eax < 7)
    return false;
  // The OS saves the AVX-512 state (XCR0: SSE, AVX, opmask, ZMM halves).
  if (!__get_cpuid(1, &eax, &ebx, &ecx, &edx) || !(ecx & bit_OSXSAVE))
    return false;
  unsigned xcr0Lo, xcr0Hi;
  __asm__("xgetbv" : "=a"(xcr0Lo), "=d"(xcr0Hi) : "c"(0));
  if ((xcr0Lo & 0xe6) != 0xe6)
    return false;
  __cpuid_count(7, 0, eax, ebx, ecx, edx);
  unsigned need = bit_AVX512F | bit_AVX512DQ | bit_AVX512BW | bit_AVX512VL;
  return (ebx & need) == need;
}

} // namespace

void nlrt::initBlis() {
  // BLIS initializes itself on first use; do it once, before threads race
  // (pthread_once: no C++ runtime, so a C program can link this object).
  static pthread_once_t once = PTHREAD_ONCE_INIT;
  pthread_once(&once, [] {
    // BLIS 0.9 reads the variable as a number: its arch_t of the kernels.
    if (!std::getenv("BLIS_ARCH_TYPE") && wantsBlisAvx512()) {
      char id[16];
      std::snprintf(id, sizeof id, "%d", static_cast<int>(BLIS_ARCH_SKX));
      setenv("BLIS_ARCH_TYPE", id, /*overwrite=*/0);
    }
    bli_init();
  });
}

extern "C" {

/// The number of parts (one per OpenMP thread, or 1 for a small product) to
/// share the calls of C[b] (+)= A[b] B[b] among: each part makes a
/// contiguous range of them.
int64_t nlrt_gemm_parts(int64_t batch, int64_t m, int64_t n, int64_t k) {
  int64_t threads = omp_get_max_threads ? omp_get_max_threads() : 1;
  if (threads <= 1 || 2 * batch * m * n * k < kSplitFlops)
    return 1;
  return std::min(threads, batch * splitOf(m, n, k).pieces);
}

void nlrt_sgemm(int64_t part, int64_t parts, int64_t batch, int64_t m,
                int64_t n, int64_t k, int64_t aPtr, int64_t aOff, int64_t aB,
                int64_t aM, int64_t aK, int64_t bPtr, int64_t bOff, int64_t bB,
                int64_t bK, int64_t bN, int64_t cPtr, int64_t cOff, int64_t cB,
                int64_t cM, int64_t cN, int64_t accumulate) {
  gemmPart<float>(part, parts, batch, m, n, k, aPtr, aOff, aB, aM, aK, bPtr,
                  bOff, bB, bK, bN, cPtr, cOff, cB, cM, cN, accumulate,
                  bli_sgemm);
}

void nlrt_dgemm(int64_t part, int64_t parts, int64_t batch, int64_t m,
                int64_t n, int64_t k, int64_t aPtr, int64_t aOff, int64_t aB,
                int64_t aM, int64_t aK, int64_t bPtr, int64_t bOff, int64_t bB,
                int64_t bK, int64_t bN, int64_t cPtr, int64_t cOff, int64_t cB,
                int64_t cM, int64_t cN, int64_t accumulate) {
  gemmPart<double>(part, parts, batch, m, n, k, aPtr, aOff, aB, aM, aK, bPtr,
                   bOff, bB, bK, bN, cPtr, cOff, cB, cM, cN, accumulate,
                   bli_dgemm);
}

} // extern "C"
