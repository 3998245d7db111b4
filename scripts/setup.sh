#!/usr/bin/env bash
# Sets flare up on a Debian machine, idempotently: the Debian packages it needs,
# npm dependencies, the native addon (against the libtorch that
# native/locate-libtorch.cjs finds) and the TypeScript build. Quick when done.
set -euo pipefail
cd "$(dirname "$0")/.."

say() { printf '[setup] %s\n' "$*" >&2; }

# 1. Debian packages (skipped when FLARE_LIBTORCH points at another libtorch).
packages=(g++ make python3)
[ -z "${FLARE_LIBTORCH:-${LIBTORCH:-}}" ] && packages+=(libtorch-dev libgloo-dev)
packages+=(dataset-fashion-mnist)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  say "installing Debian packages: ${missing[*]}"
  sudo=""; [ "$(id -u)" -ne 0 ] && sudo="sudo"
  $sudo apt-get update -q >&2
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q --no-install-recommends "${missing[@]}" >&2
fi

# 2. npm dependencies, when package-lock.json changed since the last install.
if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  say "npm ci"
  npm ci --no-audit --no-fund >&2
fi

# 3. The native addon. node-gyp must use the machine's Node headers (no download).
gyp_flags=()
[ -f /usr/include/node/node_api.h ] && gyp_flags+=(--nodedir=/usr)
if [ ! -f build/Makefile ] || [ binding.gyp -nt build/Makefile ] || [ native/locate-libtorch.cjs -nt build/Makefile ]; then
  say "configuring the native addon ($(node -p "require('./native/locate-libtorch.cjs').origin") libtorch)"
  npx node-gyp configure "${gyp_flags[@]}" >&2
fi
if [ ! -f build/Release/flare.node ] || [ -n "$(find native -newer build/Release/flare.node -name '*.cc' -o -newer build/Release/flare.node -name '*.h' | head -1)" ]; then
  say "building the native addon"
  npx node-gyp build -j "$(nproc)" "${gyp_flags[@]}" >&2
fi

# 4. TypeScript (incremental).
npx tsc -p . >&2
