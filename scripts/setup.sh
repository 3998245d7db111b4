#!/usr/bin/env bash
# Sets flare up in a clone, idempotently: npm dependencies, the TypeScript build, then
# `flare setup` (src/cli/setup.ts, the same command users run as `npx flare setup`),
# which installs the Debian packages it needs (libtorch-dev, libgloo-dev, g++, make,
# python3, dataset-fashion-mnist) and builds the native addon against the libtorch
# that native/locate-libtorch.cjs finds. Quick when done.
set -euo pipefail
cd "$(dirname "$0")/.."

say() { printf '[setup] %s\n' "$*" >&2; }

# 1. npm dependencies, when package-lock.json changed since the last install.
if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  say "npm ci"
  npm ci --no-audit --no-fund >&2
fi

# 2. TypeScript (it needs no native addon). A full build, not --incremental: tsc's
#    cached build info has reported phantom errors here after some edits.
npx tsc -p . >&2

# 3. Debian packages and the native addon.
node dist/src/cli/bin.js setup
