#!/usr/bin/env bash
# Builds nlc's own code with AddressSanitizer and UBSan in ./build-asan and
# runs the lit suite with it (design/TESTING.md: the suite also runs under ASan and
# UBSan). Debian's libMLIR.so is not instrumented; LLVM's allocators poison
# memory from inlined header code, which ASan then misreports when the
# uninstrumented library touches it, so user poisoning is turned off. The
# fuzzers, ASan builds themselves, are left out (ctest runs them).
#
#   scripts/test-sanitizers.sh
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
# Warnings are errors in the regular build (.ci/run); not here, where GCC's
# instrumentation brings flow warnings (maybe-uninitialized) of its own.
NL_BUILD_DIR=build-asan scripts/build.sh -DNL_SANITIZE=ON -DNL_BUILD_FUZZERS=OFF \
  -DNL_WERROR=OFF
ASAN_OPTIONS=allow_user_poisoning=0:detect_leaks=1:abort_on_error=0 \
UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
  /usr/lib/llvm-22/bin/lit -sv build-asan/test
