#!/usr/bin/env bash
# Copies the shared libraries that nlc executables load, other than glibc's
# and the C++ runtime's, into LIBDIR: what a machine without LLVM 22 (the
# GPU machine) needs beside them (LD_LIBRARY_PATH=LIBDIR).
#
# Usage: bash scripts/bundle-libs.sh LIBDIR EXE...
set -euo pipefail
libdir=${1:?usage: bundle-libs.sh LIBDIR EXE...}
shift
mkdir -p "$libdir"
for exe in "$@"; do
  { ldd "$exe" | awk '/=> \//{print $3}' |
    grep -v -E '/(libc|libm|libmvec|libstdc\+\+|libgcc_s|libpthread|libdl|ld-linux)[.-]' ||
    true; } | xargs -r -I{} cp -L {} "$libdir/"
done
