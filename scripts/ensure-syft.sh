#!/bin/sh
# Prints the path of a syft binary for the image's SBOM (scripts/image.sh):
# SYFT_BIN when set, else one built from the Go module proxy into
# .tools/syft-<key>, keyed on tools/syft/go.mod and go.sum (which pin it).
set -eu
if [ -n "${SYFT_BIN:-}" ]; then
  [ -x "$SYFT_BIN" ] || { echo "ensure-syft: SYFT_BIN=$SYFT_BIN is not an executable" >&2; exit 1; }
  echo "$SYFT_BIN"
  exit 0
fi
root=$(cd "$(dirname "$0")/.." && pwd)
src=$root/tools/syft
key=$(cat "$src/go.mod" "$src/go.sum" | sha256sum | cut -c1-12)
bin=$root/.tools/syft-$key
if [ ! -x "$bin" ]; then
  command -v go >/dev/null 2>&1 || { echo "ensure-syft: building syft needs Go >= 1.26.8 on PATH, or set SYFT_BIN" >&2; exit 1; }
  echo "ensure-syft: building syft into $bin (first run: several minutes)" >&2
  mkdir -p "$root/.tools"
  # Built beside the target and renamed: an interrupted build leaves no half binary.
  # syft names its version in every SBOM it writes ("Tool: syft-<version>"): from go.mod.
  version=$(sed -n 's|^[[:space:]]*github.com/anchore/syft v\([^ ]*\).*|\1|p' "$src/go.mod")
  (cd "$src" && go build -ldflags "-X main.version=$version" -o "$bin.partial.$$" github.com/anchore/syft/cmd/syft) >&2
  mv "$bin.partial.$$" "$bin"
fi
echo "$bin"
