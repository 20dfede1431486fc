#!/bin/sh
# make image: builds the gateway's image from the Dockerfile with podman, prints
# its size and writes its SBOM (SPDX JSON, by syft) to image-sbom.spdx.json.
#   IMAGE       the tag to build (tekton-resource-gateway:latest)
#   NODE_IMAGE  the base; when unset, a node:24-bookworm-slim already in podman's
#               storage, else a local one (scripts/node-base-image.sh), since no
#               registry may be reachable. `NODE_IMAGE=node:24-bookworm-slim`
#               pulls the official one from a registry or mirror.
#   CA_BUNDLE   the host's CA bundle, given to npm inside the build as the
#               `npm_ca` secret (/etc/ssl/certs/ca-certificates.crt when present)
# See docs/decisions/016-image-with-podman.md.
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
image=${IMAGE:-tekton-resource-gateway:latest}
"$root/scripts/ensure-podman.sh"

# syft (a Go build on a first run) is made while the image builds, which waits on the network much of the time.
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
"$root/scripts/ensure-syft.sh" >"$work/syft" &
syft_build=$!

if [ -n "${NODE_IMAGE:-}" ]; then
  base=$NODE_IMAGE
elif podman image exists docker.io/library/node:24-bookworm-slim; then
  base=docker.io/library/node:24-bookworm-slim
else
  base=$("$root/scripts/node-base-image.sh")
fi

ca=${CA_BUNDLE:-/etc/ssl/certs/ca-certificates.crt}
secret=
[ -s "$ca" ] && secret="--secret id=npm_ca,src=$ca"

started=$(date +%s)
# --isolation chroot: RUN steps need no OCI runtime or cgroup setup. The ulimits:
# podman would raise nofile and nproc above what this process may (root without
# CAP_SYS_RESOURCE on the CI machines); these stay within it.
# shellcheck disable=SC2086
podman build --isolation chroot --pull=missing \
  --ulimit "nofile=$(ulimit -Hn):$(ulimit -Hn)" --ulimit nproc=4096:4096 \
  $secret --build-arg "NODE_IMAGE=$base" --tag "$image" .
size=$(podman image inspect --format '{{.Size}}' "$image")
echo "image: $image on $base, $((size / 1000000)) MB, built in $(($(date +%s) - started)) s"

wait "$syft_build" || { echo "image: building syft failed (scripts/ensure-syft.sh)" >&2; exit 1; }
syft=$(cat "$work/syft")
# An uncompressed OCI layout: no gzip of ~400 MB only to be read once.
podman save --quiet --format oci-dir --uncompressed --output "$work/image" "$image"
SYFT_CHECK_FOR_APP_UPDATE=false "$syft" scan --quiet "oci-dir:$work/image" \
  --source-name "$image" --output "spdx-json=$root/image-sbom.spdx.json"
echo "image: SBOM in image-sbom.spdx.json ($(grep -o '"SPDXID":"SPDXRef-Package-' "$root/image-sbom.spdx.json" | wc -l) packages)"
