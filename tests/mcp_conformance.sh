#!/usr/bin/env bash
# Adapter between the MCP conformance suite and pincer: the suite runs this with the scenario's
# server URL as the last argument and MCP_CONFORMANCE_SCENARIO set; it drives `pincer mcp …`
# against that server from a temporary PINCER_HOME. Run through scripts/mcp-counterparts conformance.
set -euo pipefail
url="${!#}"
pincer="${PINCER_BIN:-$(dirname "$0")/../target/debug/pincer}"
home=$(mktemp -d)
trap 'rm -rf "$home"' EXIT
export PINCER_HOME="$home"
"$pincer" mcp add x --url "$url" >/dev/null 2>&1

case "${MCP_CONFORMANCE_SCENARIO:-}" in
  # The handshake and the tool list.
  initialize) "$pincer" mcp list --json ;;
  # add_numbers(a, b) answers "The sum of 2 and 3 is 5".
  tools_call) "$pincer" mcp call x add_numbers --args '{"a": 2, "b": 3}' ;;
  # The tool's event stream closes before the answer: pincer must wait `retry` and resume with
  # GET + Last-Event-ID.
  sse-retry) "$pincer" mcp call x test_reconnection ;;
  # The server asks for a form whose fields all have defaults: without a terminal, pincer
  # declines unless told to accept the defaults.
  elicitation-sep1034-client-defaults) "$pincer" mcp call x test_client_elicitation_defaults --accept-defaults ;;
  *) echo "unknown scenario ${MCP_CONFORMANCE_SCENARIO:-}" >&2; exit 2 ;;
esac
