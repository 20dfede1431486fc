#!/bin/sh
# Installs the container tools `make image` and `make image-test` use, from
# Debian's packages, where they are missing: podman, runc (its OCI runtime here:
# crun fails on hybrid cgroup v1/v2 hosts such as this project's CI machines) and
# mmdebstrap (scripts/node-base-image.sh). Without recommends: no slirp4netns,
# fuse-overlayfs or buildah are needed (root, host network, native overlay).
set -eu
missing=
for tool in podman runc mmdebstrap; do
  command -v "$tool" >/dev/null 2>&1 || missing="$missing $tool"
done
[ -z "$missing" ] && exit 0
if ! command -v apt-get >/dev/null 2>&1; then
  echo "ensure-podman: install$missing yourself (no apt-get here)" >&2
  exit 1
fi
sudo=
if [ "$(id -u)" != 0 ]; then
  command -v sudo >/dev/null 2>&1 || { echo "ensure-podman: installing$missing needs root or sudo" >&2; exit 1; }
  sudo=sudo
fi
echo "ensure-podman: installing$missing from Debian's packages" >&2
# Another apt-get may hold dpkg's lock on a shared machine: wait for it.
$sudo apt-get -o DPkg::Lock::Timeout=600 update -qq >&2
$sudo env DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends \
  podman runc mmdebstrap >&2
