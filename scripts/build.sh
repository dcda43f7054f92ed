#!/usr/bin/env bash
# Configures and builds nlc in ./build (or $NL_BUILD_DIR) with Ninja; ccache
# is used when present. Extra arguments go to the CMake configure step;
# NL_WERROR=ON (set by .ci/run) builds with warnings as errors.
#
#   scripts/build.sh [-DCMAKE_BUILD_TYPE=Debug ...]
set -euo pipefail
cd "$(dirname "$0")/.."
build="${NL_BUILD_DIR:-build}"
werror=()
[ -n "${NL_WERROR:-}" ] && werror=(-DNL_WERROR="$NL_WERROR")
cmake -S . -B "$build" -G Ninja "${werror[@]}" "$@" >/dev/null
cmake --build "$build" -j "${NL_JOBS:-2}"
