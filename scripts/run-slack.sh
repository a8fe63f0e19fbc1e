#!/usr/bin/env bash
# One command: install, build, and run the Slack bridge with the embedded store.
#   ./scripts/run-slack.sh [-c config.yaml] [other bridge flags]
# Create the Slack app first, from config/slack-app-manifest.yaml (see the README, "The Slack
# bridge"). On the first run it copies the sample config to ./config.yaml (edit it: homeserver URL
# and domain, the Slack app's tokens); see scripts/run-bridge.sh for the rest.
exec "$(dirname "$0")/run-bridge.sh" slack \
  "Edit homeserver.url, homeserver.domain and slack.workspaces (the Slack app's bot token and app-level token or signing secret); the sample's placeholder tokens will not start." \
  "$@"
