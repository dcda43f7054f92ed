#!/usr/bin/env bash
# The README's test command: installs what is missing, builds, and runs every
# test (ctest, which runs the lit suite in parallel). Exit code 0 only when
# every test passes.
#
#   scripts/test.sh
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
start=$(date +%s)
scripts/build.sh
echo "build: $(( $(date +%s) - start )) s"
ctest --test-dir "${NL_BUILD_DIR:-build}" --output-on-failure -j "${NL_JOBS:-2}"
