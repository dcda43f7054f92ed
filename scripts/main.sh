#!/usr/bin/env bash
# The README's main command, for as far as nlc goes today: installs what is
# missing, builds, then verifies the hand-written Hope block (self-modifying
# Titans + a three-level Continuum Memory System), prints its level tree and
# writes the round-tripped IR to build/hope.mlir.
#
# When code generation lands this becomes: compile examples/hope.nl, train it
# on ../shared/data/tinyshakespeare.txt, report the validation loss.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
scripts/build.sh
build="${NL_BUILD_DIR:-build}"
"$build/bin/nl-opt" test/Models/hope.mlir --nl-print-levels -o "$build/hope.mlir"
echo "verified and round-tripped: $build/hope.mlir"
