#!/bin/sh
# deps.sh [--test] - install the Debian 12 packages fluxfs needs to build,
# run and (--test) test. Installs only what is missing; needs root (or sudo)
# when something is.
set -eu

PACKAGES="gcc clang meson ninja-build pkg-config
libfuse3-dev fuse3 liblmdb-dev lmdb-utils libnng-dev libhwloc-dev hwloc libxml2-dev
libjansson-dev libyaml-dev
inotify-tools python3 procps util-linux psmisc
rsync perl vim-tiny openssl"
# only the tests use these; without their recommends (snakemake's are large)
TEST_PACKAGES="snakemake strace"

missing=""
for p in $PACKAGES; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" ||
		missing="$missing $p"
done
test_missing=""
if [ "${1:-}" = "--test" ]; then
	for p in $TEST_PACKAGES; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" ||
			test_missing="$test_missing $p"
	done
fi
[ -z "$missing$test_missing" ] && exit 0

echo "fluxfs: installing:$missing$test_missing" >&2
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO=sudo
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
# shellcheck disable=SC2086
[ -z "$missing" ] || $SUDO apt-get install -y -qq $missing >/dev/null
# shellcheck disable=SC2086
[ -z "$test_missing" ] ||
	$SUDO apt-get install -y -qq --no-install-recommends $test_missing >/dev/null
