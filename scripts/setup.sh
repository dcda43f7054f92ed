#!/usr/bin/env bash
# Installs every system package nlc needs on Debian 12 (bookworm), as root or
# through sudo. Idempotent: prints nothing when everything is already there.
#
#   scripts/setup.sh
#
# Packages: Debian's LLVM/MLIR 22 (linked through the single libMLIR.so; lit
# and FileCheck come with llvm-22-tools), CMake, Ninja, ccache, a C++17
# compiler, clang with libFuzzer (parser fuzzing), python3 (lit and test
# input generators), the runtime's libraries (CLI11, nlohmann-json, fmt),
# then the Python environment of the tests (scripts/setup-python.sh). See
# docs/building.md.
set -euo pipefail

packages=(
  cmake ninja-build ccache g++ python3
  libmlir-22-dev mlir-22-tools llvm-22-dev llvm-22-tools
  clang libclang-rt-14-dev   # libFuzzer for the parser fuzzer
  libcli11-dev nlohmann-json3-dev libfmt-dev   # the runtime (nlrt)
  libomp-22-dev   # OpenMP threads of the fused chunk kernels (nlc --openmp)
  libblis-serial-dev   # BLIS: the dense products of compiled models (nlc --blas)
)

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done
if [ ${#missing[@]} -eq 0 ]; then
  exec "$(dirname "$0")/setup-python.sh"
fi

sudo=""
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null || { echo "setup: need root or sudo to install: ${missing[*]}" >&2; exit 1; }
  sudo="sudo"
fi
echo "setup: installing ${missing[*]}"
$sudo apt-get update -qq
if ! DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/tmp/nlc-setup-apt.log 2>&1; then
  echo "setup: apt-get install failed; see /tmp/nlc-setup-apt.log" >&2
  tail -n 20 /tmp/nlc-setup-apt.log >&2
  exit 1
fi
echo "setup: done"
exec "$(dirname "$0")/setup-python.sh"
