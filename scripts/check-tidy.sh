#!/usr/bin/env bash
# Runs clang-tidy (CLANG_TIDY, default clang-tidy-14) with the repository's
# .clang-tidy on the C++ files changed by recent commits; any finding fails.
#
#   scripts/check-tidy.sh [FILE.cpp ...]
#
# Without arguments the files are the .cpp files of dialect/, lib/, tools/
# and runtime/ (test/Fuzz/ is compiled by custom commands, so
# compile_commands.json has no entry for it) that `git diff --name-only BASE..HEAD` names and
# that still exist, BASE being NL_TIDY_BASE (default HEAD~20, or the first
# commit on a shorter history), plus uncommitted changes. A changed header
# is checked through every changed .cpp that includes it (HeaderFilterRegex).
# MLIR-heavy files take about a minute each, so at most NL_TIDY_MAX_FILES
# (default 12) are checked, the most recently changed first, NL_JOBS (default
# 2) at a time; the files left out are listed. Needs compile_commands.json
# in the build directory (NL_BUILD_DIR, default build; scripts/build.sh
# writes it) and the generated headers (a built tree).
set -euo pipefail
cd "$(dirname "$0")/.."
build="${NL_BUILD_DIR:-build}"
clang_tidy="${CLANG_TIDY:-clang-tidy-14}"
max="${NL_TIDY_MAX_FILES:-12}"
jobs="${NL_JOBS:-2}"
command -v "$clang_tidy" >/dev/null ||
  { echo "check-tidy: $clang_tidy not found (apt-get install clang-tidy-14)" >&2; exit 1; }
[ -f "$build/compile_commands.json" ] ||
  { echo "check-tidy: $build/compile_commands.json missing (run scripts/build.sh)" >&2; exit 1; }

if [ $# -gt 0 ]; then
  files=("$@")
else
  base="${NL_TIDY_BASE:-HEAD~20}"
  git rev-parse -q --verify "$base^{commit}" >/dev/null ||
    base="$(git rev-list --max-parents=0 HEAD | tail -n 1)"
  # Most recently changed first: walk the commits newest first.
  mapfile -t files < <(
    { git diff --name-only HEAD; git log --format= --name-only "$base..HEAD"; } |
      grep -E '^(dialect|lib|tools|runtime)/.*\.cpp$' |
      awk '!seen[$0]++' | while read -r f; do [ -f "$f" ] && echo "$f"; done)
  echo "check-tidy: ${#files[@]} .cpp file(s) changed since $(git rev-parse --short "$base")"
fi
if [ ${#files[@]} -eq 0 ]; then
  echo "check-tidy: nothing to check"
  exit 0
fi
if [ ${#files[@]} -gt "$max" ]; then
  echo "check-tidy: checking the $max most recently changed (NL_TIDY_MAX_FILES); left out:"
  printf '  %s\n' "${files[@]:$max}"
  files=("${files[@]:0:$max}")
fi

# The compile commands are g++'s: clang does not know some of its warning
# flags, nor read g++'s precompiled header (NL_PCH), so the commands are
# checked without it (every file includes what it uses).
log="$(mktemp -d)"
trap 'rm -rf "$log"' EXIT
python3 - "$build/compile_commands.json" "$log/db/compile_commands.json" <<'PY'
import json, re, sys, os
db = json.load(open(sys.argv[1]))
for e in db:
    e["command"] = re.sub(r" -Winvalid-pch| -include \S+/cmake_pch\.hxx", "",
                          e["command"])
os.makedirs(os.path.dirname(sys.argv[2]))
json.dump(db, open(sys.argv[2], "w"))
PY
start=$(date +%s)
printf '%s\n' "${files[@]}" | xargs -P "$jobs" -I{} sh -c '
  f="$1"; out="$2/$(echo "$f" | tr / _).log"
  if "$3" -p "$4" --quiet --extra-arg=-Wno-unknown-warning-option "$f" >"$out" 2>&1; then
    rm -f "$out"
  fi' _ {} "$log" "$clang_tidy" "$log/db"
failed=("$log"/*.log)
if [ -e "${failed[0]}" ]; then
  for f in "${failed[@]}"; do
    grep -vE '^[0-9]+ warnings? (and [0-9]+ errors? )?generated\.$|^Suppressed [0-9]+ warnings|^Use -header-filter|^Error while processing' "$f" >&2 || true
  done
  echo "check-tidy: findings in ${#failed[@]} file(s) ($(( $(date +%s) - start )) s)" >&2
  exit 1
fi
echo "check-tidy: ${#files[@]} file(s) clean ($(( $(date +%s) - start )) s)"
