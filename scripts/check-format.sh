#!/usr/bin/env bash
# Fails, listing them, when any of nlc's C/C++ sources (scripts/cpp-sources.sh)
# differs from what clang-format (the repository's .clang-format, LLVM style)
# makes of it. scripts/format.sh fixes them. CLANG_FORMAT picks the binary
# (default clang-format-14, the version CI uses).
#
#   scripts/check-format.sh
set -euo pipefail
cd "$(dirname "$0")/.."
clang_format="${CLANG_FORMAT:-clang-format-14}"
command -v "$clang_format" >/dev/null ||
  { echo "check-format: $clang_format not found (apt-get install clang-format-14)" >&2; exit 1; }
bad=()
while read -r f; do
  "$clang_format" --style=file --dry-run --Werror "$f" >/dev/null 2>&1 || bad+=("$f")
done < <(scripts/cpp-sources.sh)
if [ ${#bad[@]} -ne 0 ]; then
  echo "check-format: ${#bad[@]} file(s) not formatted by $clang_format (run scripts/format.sh):" >&2
  printf '  %s\n' "${bad[@]}" >&2
  exit 1
fi
echo "check-format: $(scripts/cpp-sources.sh | wc -l) files formatted"
