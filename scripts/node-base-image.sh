#!/bin/sh
# Prints the name of a local podman image to build the gateway's image on
# (the Dockerfile's NODE_IMAGE) where no registry image can be pulled: Debian
# bookworm minbase (mmdebstrap, from Debian's packages), Node from the npm
# registry's node-linux-<arch> package (decision 001), npm from its `npm`
# package, and a `node` user and group 1000, laid out as in the official
# node:24-bookworm-slim image. The root filesystem is kept in
# .tools/node-base/<key>.tar, keyed on this script (which pins every version),
# and imported into podman when the image is missing. See
# docs/decisions/016-image-with-podman.md.
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)

node_version=24.22.3
npm_version=11.21.2
suite=bookworm
mirror=http://deb.debian.org/debian

case "$(uname -m)" in
  x86_64 | amd64) node_arch=x64 ;;
  aarch64 | arm64) node_arch=arm64 ;;
  *) echo "node-base-image: no Node package for $(uname -m)" >&2; exit 1 ;;
esac
key=$( (cat "$0"; uname -m) | sha256sum | cut -c1-12)
image=localhost/tekton-resource-gateway-node:$node_version-$key

if podman image exists "$image"; then
  echo "$image"
  exit 0
fi

cache=$root/.tools/node-base
rootfs=$cache/$key.tar
if [ ! -f "$rootfs" ]; then
  echo "node-base-image: building a Debian $suite root filesystem with Node $node_version into $rootfs (a few minutes)" >&2
  mkdir -p "$cache"
  work=$(mktemp -d)
  trap 'rm -rf "$work"' EXIT
  # npm checks each tarball against the registry's integrity hash.
  (cd "$work" && npm pack --silent "node-linux-$node_arch@$node_version" "npm@$npm_version" >/dev/null)
  mkdir "$work/node" "$work/npm"
  tar -xzf "$work/node-linux-$node_arch-$node_version.tgz" -C "$work/node" --strip-components=1
  tar -xzf "$work/npm-$npm_version.tgz" -C "$work/npm" --strip-components=1
  export work
  # minbase: essential packages and apt only; no documentation, manual pages or
  # translations (what the slim image leaves out too). mmdebstrap empties apt's
  # lists and cache itself.
  mmdebstrap --quiet --variant=minbase \
    --dpkgopt='path-exclude=/usr/share/doc/*' --dpkgopt='path-include=/usr/share/doc/*/copyright' \
    --dpkgopt='path-exclude=/usr/share/man/*' --dpkgopt='path-exclude=/usr/share/locale/*' \
    --dpkgopt='path-exclude=/usr/share/info/*' \
    --customize-hook='install -m 0755 "$work/node/bin/node" "$1/usr/local/bin/node"' \
    --customize-hook='mkdir -p "$1/usr/local/lib/node_modules" && cp -a "$work/npm" "$1/usr/local/lib/node_modules/npm"' \
    --customize-hook='ln -s ../lib/node_modules/npm/bin/npm-cli.js "$1/usr/local/bin/npm"' \
    --customize-hook='ln -s ../lib/node_modules/npm/bin/npx-cli.js "$1/usr/local/bin/npx"' \
    --customize-hook='chroot "$1" groupadd --gid 1000 node' \
    --customize-hook='chroot "$1" useradd --uid 1000 --gid node --shell /bin/bash --create-home node' \
    --format=tar "$suite" "$rootfs.partial" "$mirror" >&2
  mv "$rootfs.partial" "$rootfs"
fi

podman import --quiet \
  --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
  --change "ENV NODE_VERSION=$node_version" \
  --change 'CMD ["node"]' \
  "$rootfs" "$image" >/dev/null
echo "$image"
