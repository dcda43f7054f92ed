#!/usr/bin/env bash
# Formats nlc's C/C++ sources (scripts/cpp-sources.sh) in place with
# clang-format (CLANG_FORMAT, default clang-format-14) and the repository's
# .clang-format; scripts/check-format.sh then passes.
#
#   scripts/format.sh
set -euo pipefail
cd "$(dirname "$0")/.."
clang_format="${CLANG_FORMAT:-clang-format-14}"
command -v "$clang_format" >/dev/null ||
  { echo "format: $clang_format not found (apt-get install clang-format-14)" >&2; exit 1; }
scripts/cpp-sources.sh | xargs -r "$clang_format" --style=file -i
echo "format: $(scripts/cpp-sources.sh | wc -l) files formatted"
