#!/usr/bin/env bash
# Creates the Python environment of the tests and benchmarks in .venv/ (next
# to this checkout, ignored by git): numpy and safetensors (checkpoint
# tests), torch (the reference tests, test/reference; the PyPI wheel, with
# its CUDA libraries: about 5 GB, a minute to install) and matplotlib (loss
# curves). Idempotent: prints nothing when everything is there.
#
#   scripts/setup-python.sh
set -euo pipefail
cd "$(dirname "$0")/.."
venv=.venv
packages=(numpy safetensors torch matplotlib)
if [ -x "$venv/bin/python" ] && "$venv/bin/python" -c "import numpy, safetensors, torch, matplotlib" 2>/dev/null; then
  exit 0
fi
if ! python3 -m venv "$venv" 2>/dev/null; then
  # Debian's python3 needs python3-venv for `python3 -m venv`.
  sudo=""
  [ "$(id -u)" -ne 0 ] && sudo="sudo"
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq python3-venv >/tmp/nlc-setup-apt.log 2>&1
  rm -rf "$venv"
  python3 -m venv "$venv"
fi
echo "setup: installing ${packages[*]} into $venv"
if ! "$venv/bin/python" -m pip install -q "${packages[@]}" >/tmp/nlc-setup-pip.log 2>&1; then
  echo "setup: pip install failed; see /tmp/nlc-setup-pip.log" >&2
  tail -n 20 /tmp/nlc-setup-pip.log >&2
  exit 1
fi
