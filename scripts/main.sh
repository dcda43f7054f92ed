#!/usr/bin/env bash
# The README's main command, for as far as nlc goes today: installs what is
# missing, builds, compiles examples/hope.nl (self-modifying Titans + a
# three-level Continuum Memory System) to the nl dialect in build/hope.mlir,
# verifies it and prints its level tree.
#
# When code generation lands this becomes: compile examples/hope.nl, train it
# on ../shared/data/tinyshakespeare.txt, report the validation loss.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
scripts/build.sh
build="${NL_BUILD_DIR:-build}"
"$build/bin/nlc" examples/hope.nl --emit=nl -o "$build/hope.mlir"
"$build/bin/nl-opt" "$build/hope.mlir" --nl-print-levels -o /dev/null
echo "compiled and verified: examples/hope.nl -> $build/hope.mlir"
