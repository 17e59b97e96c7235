#!/bin/sh
# deps.sh - install the Debian 12 packages fluxfs needs to build, run and test.
# Installs only what is missing; needs root (or sudo) when something is.
set -eu

PACKAGES="gcc clang meson ninja-build pkg-config
libfuse3-dev fuse3 liblmdb-dev lmdb-utils libnng-dev libhwloc-dev hwloc libxml2-dev
libjansson-dev libyaml-dev
inotify-tools python3 procps util-linux psmisc
rsync perl vim-tiny openssl"

missing=""
for p in $PACKAGES; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" ||
		missing="$missing $p"
done
[ -z "$missing" ] && exit 0

echo "fluxfs: installing:$missing" >&2
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO=sudo
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
# shellcheck disable=SC2086
$SUDO apt-get install -y -qq $missing >/dev/null
