#!/usr/bin/env bash
# One command: install, build, and run the Gitter bridge with the embedded store.
#   ./scripts/run-gitter.sh [-c config.yaml] [other bridge flags]
# On the first run it copies the sample config to ./config.yaml (edit it: homeserver URL and
# domain, Gitter API base URLs; the relay token is read from $GITTER_RELAY_TOKEN); see
# scripts/run-bridge.sh for the rest.
exec "$(dirname "$0")/run-bridge.sh" gitter \
  "Edit homeserver.url, homeserver.domain and gitter.rest_base_url/stream_base_url to point at your homeserver and Gitter deployment, and export GITTER_RELAY_TOKEN; starting with the sample values now." \
  "$@"
