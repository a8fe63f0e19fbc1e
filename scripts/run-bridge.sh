#!/usr/bin/env bash
# What the run-<bridge>.sh scripts share: install, build, and run one bridge with the embedded store.
#   ./scripts/run-bridge.sh <irc|slack|gitter> <what to edit in a new config> [-c config.yaml] [other bridge flags]
# On the first run it copies config/<bridge>.sample.yaml to ./config.yaml (or the -c path) and says
# what to edit; the bridge then writes ./registration.yaml if it is missing and prints what to add
# to the homeserver's config, validates the config and starts with the embedded NeDB store in ./data.
set -euo pipefail
cd "$(dirname "$0")/.."

bridge=$1
edit_hint=$2
shift 2
if [ ! -f "packages/$bridge-bridge/package.json" ]; then
  echo "unknown bridge: $bridge (expected irc, slack or gitter)" >&2
  exit 2
fi

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
  cp "config/$bridge.sample.yaml" "$config"
  echo "Wrote $config from config/$bridge.sample.yaml. $edit_hint"
fi
exec node "packages/$bridge-bridge/dist/main.js" -c "$config" "${args[@]}"
