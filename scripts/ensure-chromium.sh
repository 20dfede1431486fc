#!/bin/sh
# The browser test (test/integration/graphiql.test.ts) drives a real Chromium:
# Debian's `chromium` package at /usr/bin/chromium (or CHROMIUM_BIN). Installs
# it with apt-get where it is missing and this user may; nothing downloads a
# browser build of its own.
set -eu
bin="${CHROMIUM_BIN:-/usr/bin/chromium}"
[ -x "$bin" ] && exit 0
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "ensure-chromium: installing Debian's chromium package" >&2
  apt-get update -qq >&2
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >&2
  exit 0
fi
echo "ensure-chromium: $bin is missing; install Chromium (Debian: apt-get install chromium) or set CHROMIUM_BIN" >&2
exit 1
