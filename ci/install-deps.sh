#!/usr/bin/env bash
# Installs the Debian packages lbharness needs, and only those that are missing.
# Idempotent; run as root (or with sudo available) on Debian 12.
set -euo pipefail

packages=(
  cmake ninja-build g++ ccache pkg-config
  libboost1.81-dev libboost-json1.81-dev libfmt-dev libcli11-dev
  googletest libgtest-dev libgmock-dev librapidcheck-dev libpcre2-dev libyaml-cpp-dev libssl-dev openssl libxxhash-dev
  clang-14 libclang-rt-14-dev
  haproxy curl python3 iproute2 util-linux
)
# The benchmarks compare against nginx with wrk; only ci/bench needs them.
if [[ "${LBH_WITH_BENCH:-0}" == 1 ]]; then packages+=(nginx-light wrk); fi
# The HTML report's browser test (tests/integration/lbharness_test.cpp) runs where chromium is.
if [[ "${LBH_WITH_BROWSER:-0}" == 1 ]]; then packages+=(chromium); fi

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q '^install ok installed$' || missing+=("$p")
done
if ((${#missing[@]} == 0)); then
  echo "install-deps: all ${#packages[@]} packages present"
  exit 0
fi

sudo=""
if [[ $(id -u) -ne 0 ]]; then sudo="sudo"; fi
echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -q
$sudo apt-get install -y -q --no-install-recommends "${missing[@]}"
# A packaged haproxy/nginx may start a service on install; lbharness runs its own instances.
if command -v service >/dev/null 2>&1; then
  $sudo service haproxy stop >/dev/null 2>&1 || true
  $sudo service nginx stop >/dev/null 2>&1 || true
fi
