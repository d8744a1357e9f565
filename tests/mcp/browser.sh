#!/usr/bin/env bash
# A browser for the sign-in tests, given to pincer as BROWSER: it loads the authorization page
# and follows its redirects, as a person's browser does after they approve. The conformance
# suite's authorization server approves at once and redirects to pincer's loopback listener,
# so following the redirects finishes the sign-in. It prints nothing (the address is not logged).
set -euo pipefail
url="$1"
if command -v curl >/dev/null; then
  exec curl --silent --show-error --location --max-redirs 5 --max-time 30 --output /dev/null "$url"
fi
# No curl: Node (which the suite needs anyway) follows redirects with fetch.
exec "${NODE:?neither curl nor NODE is available}" -e 'fetch(process.argv[1]).then((r) => r.text()).catch((e) => { console.error(String(e)); process.exit(1); })' "$url"
