#!/usr/bin/env bash
# Runs a command with Node 24 and the project's npm dependencies in place.
#   scripts/with-node24.sh npx vitest run     # the full validation
#   scripts/with-node24.sh npm test           # the suite's own tests
# The suite's packages (vitest 5, testcontainers 12, execa 10) need Node >= 22.18. When the system Node is older,
# Node 24 comes from the npm registry's `node@24` package into the cache (SPIRE_VALIDATION_CACHE), once.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cache=${SPIRE_VALIDATION_CACHE:-/var/cache/spire-k8s-validation}
node_prefix="$cache/node/24"

say() { printf '[with-node24] %s\n' "$*" >&2; }

system_major=0
if command -v node >/dev/null 2>&1; then
  system_major=$(node -p 'process.versions.node.split(".")[0]')
fi

if [ "$system_major" -lt 24 ]; then
  if [ ! -x "$node_prefix/bin/node" ]; then
    if ! command -v npm >/dev/null 2>&1; then
      say "Node $system_major is too old and npm is missing, so Node 24 cannot be fetched."
      say "Install Node.js 24 (https://nodejs.org) or Debian's 'npm' package, then run this again."
      exit 1
    fi
    say "system Node is ${system_major:-absent}; installing Node 24 (npm package node@24) into $node_prefix"
    mkdir -p "$node_prefix"
    npm install --global --prefix "$node_prefix" --no-audit --no-fund node@24 >&2
  fi
  export PATH="$node_prefix/bin:$PATH"
fi

cd "$repo"
# npm ci when node_modules is missing or older than the lock file.
if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  say "installing npm dependencies (npm ci) with Node $(node --version)"
  npm ci --no-audit --no-fund >&2
fi

exec "$@"
