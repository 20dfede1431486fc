#!/bin/sh
# Prints a folder holding a Node.js >= 22.19 (the project targets Node 24).
# Where the system Node is older, installs Node 24 from the npm registry's
# platform package (node-linux-<arch>, which needs no install script) into
# .tools/node24 and prints its bin folder. See DESIGN.md section 7.
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)

if command -v node >/dev/null 2>&1 &&
  node -e 'const [a, b] = process.versions.node.split(".").map(Number); process.exit(a > 22 || (a === 22 && b >= 19) ? 0 : 1)'; then
  dirname "$(command -v node)"
  exit 0
fi

case "$(uname -m)" in
  x86_64 | amd64) arch=x64 ;;
  aarch64 | arm64) arch=arm64 ;;
  *) echo "ensure-node: no Node 24 package for $(uname -m); install Node >= 22.19 yourself" >&2; exit 1 ;;
esac
bin="$root/.tools/node24/node_modules/node-linux-$arch/bin"
if [ ! -x "$bin/node" ]; then
  echo "ensure-node: system Node is older than 22.19; installing Node 24 into .tools/node24" >&2
  command -v npm >/dev/null 2>&1 || { echo "ensure-node: npm is needed to install Node 24" >&2; exit 1; }
  npm install --prefix "$root/.tools/node24" --no-save --no-audit --no-fund --loglevel=error "node-linux-$arch@24" >&2
fi
echo "$bin"
