#!/bin/sh
# build.sh [BUILDDIR [MESON-OPTIONS...]] - configure (once) and build fluxfs.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$top/build}
[ $# -gt 0 ] && shift
if [ ! -f "$build/build.ninja" ]; then
	meson setup "$build" "$top" "$@" >/dev/null
fi
ninja -C "$build" >/dev/null
