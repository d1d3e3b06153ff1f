#!/usr/bin/env bash
# The two Debian packages the tests use for real, installed when missing (npm test's pretest, and .ci/run):
# - chromium: the /rules page is tested in a real headless browser, driven by playwright-core;
# - postgresql: the decision log's PostgreSQL store is tested against a real server, which the tests
#   start themselves on a free port (test/support/postgres.ts), whatever cluster the package starts.
set -euo pipefail
missing=()
[ -x /usr/bin/chromium ] || missing+=(chromium)
compgen -G '/usr/lib/postgresql/*/bin/initdb' >/dev/null || missing+=(postgresql)
[ ${#missing[@]} -eq 0 ] && exit 0
echo "installing Debian packages the tests need: ${missing[*]}" >&2
if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null; then
  echo "cannot install them here (needs root and apt-get): install ${missing[*]} with your package manager" >&2
  exit 1
fi
apt-get update -qq
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
