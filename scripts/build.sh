#!/usr/bin/env bash
# Configures and builds nlc in ./build (or $NL_BUILD_DIR) with Ninja; ccache
# is used when present. Extra arguments go to the CMake configure step.
#
#   scripts/build.sh [-DCMAKE_BUILD_TYPE=Debug ...]
set -euo pipefail
cd "$(dirname "$0")/.."
build="${NL_BUILD_DIR:-build}"
cmake -S . -B "$build" -G Ninja "$@" >/dev/null
cmake --build "$build" -j "${NL_JOBS:-2}"
