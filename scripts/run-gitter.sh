#!/usr/bin/env bash
# One command: install, build, and run the Gitter bridge with the embedded store.
#   ./scripts/run-gitter.sh [-c config.yaml] [other bridge flags]
# On the first run it copies the sample config to ./config.yaml (edit it: homeserver
# URL and domain, Gitter API base URLs; the relay token is read from $GITTER_RELAY_TOKEN); the bridge then writes ./registration.yaml if it is
# missing and prints what to add to the homeserver's config, validates the config and
# starts with the embedded NeDB store in ./data.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund
fi
npm run build --silent

config=config.yaml
args=("$@")
for ((i = 0; i < ${#args[@]}; i++)); do
  if [ "${args[$i]}" = "-c" ] && [ $((i + 1)) -lt ${#args[@]} ]; then config=${args[$((i + 1))]}; fi
done
if [ ! -f "$config" ]; then
  cp config/gitter.sample.yaml "$config"
  echo "Wrote $config from config/gitter.sample.yaml. Edit homeserver.url, homeserver.domain and gitter.rest_base_url/stream_base_url to point at your"
  echo "homeserver and Gitter deployment, and export GITTER_RELAY_TOKEN; starting with the sample values now."
fi
exec node packages/gitter-bridge/dist/main.js -c "$config" "${args[@]}"
