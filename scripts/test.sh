#!/usr/bin/env bash
# One command on a fresh machine: install what the tests need, build, run every test.
# The last line printed is "N passed, N failed".
set -euo pipefail
cd "$(dirname "$0")/.."

# InspIRCd (Debian's package; Debian's `ergo` is a different server) for the IRC integration tests.
if ! command -v inspircd >/dev/null 2>&1 && [ ! -x /usr/sbin/inspircd ]; then
  if [ "$(id -u)" = 0 ]; then SUDO=""; else SUDO="sudo"; fi
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq inspircd >/dev/null
  # The package starts a system instance on 6667; the tests run their own on other ports.
  $SUDO systemctl disable --now inspircd >/dev/null 2>&1 || $SUDO service inspircd stop >/dev/null 2>&1 || true
fi

# PostgreSQL and Redis are expected at 127.0.0.1 (started by the machine); start PostgreSQL if it is down.
if command -v pg_ctlcluster >/dev/null 2>&1 && ! pg_isready -h 127.0.0.1 -q 2>/dev/null; then
  pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -1)" main start || true
fi

npm ci --no-audit --no-fund
npm test
