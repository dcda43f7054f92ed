//===- Random.h - counter-based random numbers ------------------*- C++ -*-===//
//
// SplitMix64 (Steele, Lea, Flood 2014) keyed by (seed, stream, counter): every
// draw is a pure function of its key, so a run's random numbers (parameter
// initialization, batch positions, sampling) depend on the seed and the step
// only, and a resumed run draws exactly what an uninterrupted one does.
//
//===----------------------------------------------------------------------===//

#ifndef NLRT_RANDOM_H
#define NLRT_RANDOM_H

#include <cmath>
#include <cstdint>

namespace nlrt {

inline uint64_t splitmix64(uint64_t x) {
  x += 0x9e3779b97f4a7c15ull;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
  return x ^ (x >> 31);
}

/// 64 random bits for (seed, stream, counter).
inline uint64_t randomBits(uint64_t seed, uint64_t stream, uint64_t counter) {
  return splitmix64(splitmix64(splitmix64(seed) ^ stream) ^ counter);
}

/// Uniform in (0, 1).
inline double randomUniform(uint64_t seed, uint64_t stream, uint64_t counter) {
  return (static_cast<double>(randomBits(seed, stream, counter) >> 11) + 0.5) *
         0x1.0p-53;
}

/// Standard normal (Box-Muller on two draws).
inline double randomNormal(uint64_t seed, uint64_t stream, uint64_t counter) {
  double u1 = randomUniform(seed, stream, 2 * counter);
  double u2 = randomUniform(seed, stream, 2 * counter + 1);
  return std::sqrt(-2.0 * std::log(u1)) * std::cos(6.283185307179586 * u2);
}

} // namespace nlrt

#endif // NLRT_RANDOM_H
