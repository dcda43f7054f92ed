//===- BlisInit.h - one initialization of BLIS for the runtime -*- C++ -*-===//
//
// BLIS chooses its kernels from the CPU when it initializes. Debian's BLIS
// 0.9 knows the AVX-512 server parts by model number only: on a newer Intel
// CPU (Ice Lake, Sapphire Rapids, Emerald Rapids) it cannot count the FMA
// units and falls back to its AVX2 kernels ("haswell"), at half the speed
// of its AVX-512 ones ("skx": 143 against 81 GFLOP/s for a 1024^3 sgemm on
// one core of an Emerald Rapids Xeon). nlrtInitBlis() therefore asks for
// the AVX-512 kernels on an Intel CPU whose AVX-512 (F, DQ, BW, VL) the
// operating system has enabled, unless BLIS_ARCH_TYPE is already set: the
// user's choice (BLIS's own variable: the number of an arch_t of blis.h)
// wins.
//
//===----------------------------------------------------------------------===//

#ifndef NLRT_LIB_BLISINIT_H
#define NLRT_LIB_BLISINIT_H

namespace nlrt {

/// Initializes BLIS once (thread-safe), with the kernel choice above. Every
/// BLIS call of the runtime comes after it.
void initBlis();

} // namespace nlrt

#endif // NLRT_LIB_BLISINIT_H
