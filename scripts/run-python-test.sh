#!/usr/bin/env bash
# Runs a Python test of ctest (test/reference, test/optim) when what it needs
# is there, and otherwise exits 77, which those tests declare as
# SKIP_RETURN_CODE: ctest reports them as skipped, not failed.
#
#   scripts/run-python-test.sh PYTHON DATA MODULES SCRIPT [ARGS...]
#
# MODULES is a comma-separated list of Python modules (e.g. numpy,torch);
# DATA is the text file the test reads. With NL_TEST_NO_SKIP=1 (set by
# .ci/run) a missing module or file fails the test instead.
set -uo pipefail
python="$1" data="$2" modules="$3"
shift 3
skip() {
  if [ -n "${NL_TEST_NO_SKIP:-}" ] && [ "${NL_TEST_NO_SKIP}" != 0 ]; then
    echo "FAIL: $1 (NL_TEST_NO_SKIP is set)" >&2
    exit 1
  fi
  echo "SKIP: $1"
  exit 77
}
[ -x "$python" ] || skip "$python does not exist (run scripts/setup-python.sh)"
"$python" -c "import $modules" 2>/dev/null ||
  skip "$python cannot import $modules (run scripts/setup-python.sh)"
[ -f "$data" ] || skip "the text file $data does not exist (set NL_DATA)"
exec "$python" "$@"
