#!/usr/bin/env bash
# One command: install, build, and run the Slack bridge with the embedded store.
#   ./scripts/run-slack.sh [-c config.yaml] [other bridge flags]
# On the first run it copies the sample config to ./config.yaml (edit it: homeserver
# URL and domain, the Slack app's tokens); the bridge then writes ./registration.yaml if
# it is missing and prints what to add to the homeserver's config, validates the config
# and starts with the embedded NeDB store in ./data. Create the Slack app first, from
# config/slack-app-manifest.yaml (see the README, "The Slack bridge").
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
  cp config/slack.sample.yaml "$config"
  echo "Wrote $config from config/slack.sample.yaml. Edit homeserver.url, homeserver.domain and slack.workspaces (the"
  echo "Slack app's bot token and app-level token or signing secret); the sample's placeholder tokens will not start."
fi
exec node packages/slack-bridge/dist/main.js -c "$config" "${args[@]}"
