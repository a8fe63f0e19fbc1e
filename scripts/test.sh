#!/usr/bin/env bash
# One command on a fresh machine: install what the tests need, build, run every test.
# The last line printed is "N passed, N failed".
set -euo pipefail
cd "$(dirname "$0")/.."

# The lint, dead-code and format checks cover the whole tree (ESLint's and Prettier's ignore
# lists and knip.json say what is left out and why).

# InspIRCd (Debian's package; Debian's `ergo` is a different server) for the IRC integration tests;
# Atheme services linked to it for real SASL; openssl for the test-time TLS certificates.
# The specs that need them fail (not skip) when any of these is missing.
if [ "$(id -u)" = 0 ]; then SUDO=""; else SUDO="sudo"; fi
APT_UPDATED=""
need_pkg() { # need_pkg <package> <binary> [apt-get install options]
  local pkg="$1" bin="$2"; shift 2
  if [ ! -x "$bin" ]; then
    if [ -z "$APT_UPDATED" ]; then $SUDO apt-get update -qq; APT_UPDATED=1; fi
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "$@" "$pkg" >/dev/null
    # A package may start a system instance (inspircd on 6667); the tests run their own on other ports.
    $SUDO systemctl disable --now "$pkg" >/dev/null 2>&1 || $SUDO service "$pkg" stop >/dev/null 2>&1 || true
  fi
}
need_pkg inspircd /usr/sbin/inspircd
need_pkg atheme-services /usr/bin/atheme-services --no-install-recommends
need_pkg openssl /usr/bin/openssl --no-install-recommends
# `ip` adds the per-user IPv6 source addresses to lo for the ipv6_prefix end-to-end test (run as root).
need_pkg iproute2 /bin/ip --no-install-recommends

# PostgreSQL and Redis are expected at 127.0.0.1 (started by the machine); start PostgreSQL if it is down.
if command -v pg_ctlcluster >/dev/null 2>&1 && ! pg_isready -h 127.0.0.1 -q 2>/dev/null; then
  pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -1)" main start || true
fi

npm ci --no-audit --no-fund
# Checks before the tests (each stops the run): ESLint's type-aware rules need the packages built.
npm run build
npm run lint          # ESLint (type-aware) and Prettier
npm run knip          # no unused dependency, file or export
npm run check:imports # no import cycle; the contract a leaf; packages only through their entry points
npm test
