#!/usr/bin/env bash
# What CI needs beyond scripts/setup.sh: clang-format-14 and clang-tidy-14
# (scripts/check-format.sh, scripts/check-tidy.sh). As root or through sudo;
# idempotent: prints nothing when everything is there.
#
#   scripts/setup-ci.sh
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
missing=()
for p in clang-format-14 clang-tidy-14; do
  command -v "$p" >/dev/null || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
sudo=""
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null || { echo "setup-ci: need root or sudo to install: ${missing[*]}" >&2; exit 1; }
  sudo="sudo"
fi
echo "setup-ci: installing ${missing[*]}"
if ! DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/tmp/nlc-setup-ci-apt.log 2>&1; then
  echo "setup-ci: apt-get install failed; see /tmp/nlc-setup-ci-apt.log" >&2
  tail -n 20 /tmp/nlc-setup-ci-apt.log >&2
  exit 1
fi
