#!/usr/bin/env bash
# Fuzzes the .nl parser with libFuzzer for SECONDS (default 600), starting
# from the examples and every .nl test input. A crash writes crash-* files to
# WORKDIR and exits non-zero: copy them to test/Fuzz/regressions/ and fix.
#
#   scripts/fuzz.sh [SECONDS] [WORKDIR]
set -euo pipefail
cd "$(dirname "$0")/.."
seconds="${1:-600}"
work="${2:-build/fuzz}"
fuzzer="${NL_BUILD_DIR:-build}/bin/nl-parser-fuzzer"
[ -x "$fuzzer" ] || { echo "fuzz: $fuzzer not built (needs clang++; run scripts/build.sh)" >&2; exit 1; }
mkdir -p "$work/corpus"
find examples test -name '*.nl' -exec cp {} "$work/corpus/" \; 2>/dev/null || true
cp test/Fuzz/regressions/* "$work/corpus/" 2>/dev/null || true
"$fuzzer" -max_total_time="$seconds" -max_len=4096 -timeout=10 -rss_limit_mb=2048 \
  -artifact_prefix="$work/" -print_final_stats=1 "$work/corpus" 2>"$work/fuzz.log" || {
  tail -n 40 "$work/fuzz.log" >&2
  echo "fuzz: crash found; artifacts in $work/" >&2
  exit 1
}
grep -E "stat::number_of_executed_units|stat::peak_rss_mb" "$work/fuzz.log" || true
echo "fuzz: no crash in $seconds s"
