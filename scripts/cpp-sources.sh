#!/usr/bin/env bash
# Lists nlc's own C and C++ sources (what scripts/check-format.sh checks and
# scripts/format.sh formats), one path a line, relative to the checkout:
# the tracked and untracked-but-not-ignored *.c, *.cpp and *.h files of
# cmake/, dialect/, lib/, tools/, runtime/ and test/Fuzz/.
set -euo pipefail
cd "$(dirname "$0")/.."
git ls-files --cached --others --exclude-standard -- \
  cmake dialect lib tools runtime test/Fuzz |
  grep -E '\.(c|cpp|h)$' | while read -r f; do [ -f "$f" ] && echo "$f"; done
