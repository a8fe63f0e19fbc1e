#!/usr/bin/env bash
# One command: install, build, and run the IRC bridge with the embedded store.
#   ./scripts/run-irc.sh [-c config.yaml] [other bridge flags]
# On the first run it copies the sample config to ./config.yaml (edit it: homeserver URL and
# domain, IRC servers); see scripts/run-bridge.sh for the rest.
exec "$(dirname "$0")/run-bridge.sh" irc \
  "Edit homeserver.url, homeserver.domain and irc.servers to point at your homeserver and IRC networks; starting with the sample values now." \
  "$@"
