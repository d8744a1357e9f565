#!/usr/bin/env bash
# Adapter between the MCP conformance suite and pincer: the suite runs this with the scenario's
# server URL as the last argument and MCP_CONFORMANCE_SCENARIO set; it drives `pincer mcp …`
# against that server from a temporary PINCER_HOME. Run through scripts/mcp-counterparts conformance.
set -euo pipefail
url="${!#}"
here="$(cd "$(dirname "$0")" && pwd)"
pincer="${PINCER_BIN:-$here/../target/debug/pincer}"
# The Client ID Metadata Document URL the suite's auth/basic-cimd scenario expects.
cimd_url="https://conformance-test.local/client-metadata.json"
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
  # OAuth (SPEC §11): sign in, then call the server's one tool with the stored token. The
  # suite's authorization server approves at once; BROWSER follows its redirect to pincer's
  # loopback listener. A step-up (403 insufficient_scope) happens during the call.
  auth/*)
    export BROWSER="$here/mcp/browser.sh"
    context="${MCP_CONFORMANCE_CONTEXT:-}"
    field() { printf '%s' "$context" | sed -n "s/.*\"$1\" *: *\"\([^\"]*\)\".*/\1/p"; }
    login=("$pincer" auth login --mcp x)
    secret=""
    case "$MCP_CONFORMANCE_SCENARIO" in
      # The suite expects this URL as the client_id: a document the client's publisher hosts.
      # pincer hosts none of its own, so it signs in as the document it is configured with.
      auth/basic-cimd) printf 'client_metadata_url = "%s"\n' "$cimd_url" >> "$home/config.toml" ;;
      # A client registered beforehand: its id in config.toml, its secret given once on stdin.
      auth/pre-registration)
        printf 'client_id = "%s"\n' "$(field client_id)" >> "$home/config.toml"
        secret="$(field client_secret)"
        login+=(--client-secret)
        ;;
    esac
    printf '%s\n' "$secret" | "${login[@]}" && "$pincer" mcp call x test-tool
    ;;
  *) echo "unknown scenario ${MCP_CONFORMANCE_SCENARIO:-}" >&2; exit 2 ;;
esac
