#!/usr/bin/env bash
# Installs everything Stratus needs on a fresh Debian 12 machine (run as root).
# Idempotent: re-running only fills in what is missing.
#   scripts/install.sh          runtime: Debian packages, .venv, the stratus package
#   scripts/install.sh --test   also the test clients (openstack CLI, openstacksdk, tempest, pytest)
set -euo pipefail
cd "$(dirname "$0")/.."
want_test=0
[ "${1:-}" = "--test" ] && want_test=1

DEBS="python3 python3-venv python3-dev gcc make iproute2 procps curl"
missing=""
for p in $DEBS; do dpkg -s "$p" >/dev/null 2>&1 || missing="$missing $p"; done
if [ -n "$missing" ]; then
  echo "installing Debian packages:$missing"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq $missing >/dev/null
fi

PY=/usr/bin/python3
if [ ! -x .venv/bin/python ]; then
  $PY -m venv .venv
fi
stamp=.venv/.stratus-installed
sum=$(cat pyproject.toml requirements.txt requirements-test.txt constraints.txt | sha256sum | cut -c1-16)
if [ ! -f "$stamp" ] || ! grep -q "runtime $sum" "$stamp"; then
  .venv/bin/pip install -q --upgrade pip >/dev/null 2>&1 || true
  .venv/bin/pip install -q -c constraints.txt -r requirements.txt
  .venv/bin/pip install -q --no-deps -e .
  echo "runtime $sum" >> "$stamp"
fi
if [ $want_test = 1 ] && ! grep -q "test $sum" "$stamp"; then
  .venv/bin/pip install -q -c constraints.txt -r requirements-test.txt
  echo "test $sum" >> "$stamp"
fi
