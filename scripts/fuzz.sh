#!/usr/bin/env bash
# Runs a libFuzzer target of test/Fuzz for SECONDS (default 600), or replays
# its past findings once with `replay`:
#
#   scripts/fuzz.sh TARGET [SECONDS|replay] [WORKDIR]
#
# TARGET is `frontend` (what `nlc --emit=nl` runs: parser, imports, MLIRGen,
# verifiers; seeds: the examples and every .nl test input) or `safetensors`
# (the runtime's checkpoint reader; seeds: test/Fuzz/regressions/safetensors).
# Both also start from test/Fuzz/regressions/TARGET/. A crash, leak or
# sanitizer report writes crash-*/leak-* files to WORKDIR (default
# build/fuzz-TARGET) and exits non-zero: copy the file to
# test/Fuzz/regressions/TARGET/ under a name that says what it checks, and
# fix. The last lines print the executions per second and the coverage.
set -euo pipefail
cd "$(dirname "$0")/.."
usage="usage: scripts/fuzz.sh frontend|safetensors [SECONDS|replay] [WORKDIR]"
target="${1:?$usage}"
seconds="${2:-600}"
work="${3:-build/fuzz-$target}"
regressions="test/Fuzz/regressions/$target"
case "$target" in
  frontend | safetensors) ;;
  *) echo "fuzz: unknown target '$target'; $usage" >&2; exit 2 ;;
esac
if [ "$seconds" != replay ] && ! [[ "$seconds" =~ ^[0-9]+$ ]]; then
  echo "fuzz: '$seconds' is not a number of seconds; $usage" >&2
  exit 2
fi
fuzzer="${NL_BUILD_DIR:-build}/bin/nl-$target-fuzzer"
[ -x "$fuzzer" ] || { echo "fuzz: $fuzzer not built (needs clang++; run scripts/build.sh)" >&2; exit 1; }

# Debian's libMLIR.so is not instrumented; LLVM's allocators poison memory
# from inlined header code, which ASan then misreports when the library
# touches it (as in scripts/test-sanitizers.sh).
export ASAN_OPTIONS="${ASAN_OPTIONS:-allow_user_poisoning=0:detect_leaks=1}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"
options=(-max_len=4096 -timeout=10 -rss_limit_mb=2048 -malloc_limit_mb=1024)
[ -f "test/Fuzz/$target.dict" ] && options+=(-dict="test/Fuzz/$target.dict")

if [ "$seconds" = replay ]; then
  # Each file once, no mutation: exits non-zero on the first finding.
  mapfile -t inputs < <(find "$regressions" -type f | sort)
  "$fuzzer" "${options[@]}" "${inputs[@]}"
  echo "fuzz: ${#inputs[@]} inputs of $regressions replayed without a finding"
  exit 0
fi

mkdir -p "$work/corpus"
if [ "$target" = frontend ]; then
  find examples test -name '*.nl' -not -path '*/regressions/*' \
    -exec cp {} "$work/corpus/" \; 2>/dev/null || true
fi
cp "$regressions"/* "$work/corpus/" 2>/dev/null || true
"$fuzzer" "${options[@]}" -max_total_time="$seconds" -artifact_prefix="$work/" \
  -print_final_stats=1 "$work/corpus" 2>"$work/fuzz.log" || {
  tail -n 40 "$work/fuzz.log" >&2
  echo "fuzz: finding in $target; artifacts in $work/" >&2
  exit 1
}
grep -E "^#[0-9]+.*(DONE|pulse)" "$work/fuzz.log" | tail -n 1 || true
grep -E "stat::(number_of_executed_units|average_exec_per_sec|peak_rss_mb)" "$work/fuzz.log" || true
echo "fuzz: $target: no finding in $seconds s"
