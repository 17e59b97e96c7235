#!/bin/sh
# start.sh [MOUNTPOINT] - install what is missing, build, and start a fluxfs
# instance on this machine's resources, mounted at MOUNTPOINT (default /flux
# as root, ~/flux otherwise). Extra fluxfsd options go in $FLUXFSD_OPTS.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
"$top/scripts/deps.sh"
"$top/scripts/build.sh"

if [ "$(id -u)" -eq 0 ]; then mnt=${1:-/flux}; else mnt=${1:-$HOME/flux}; fi
# as root this is a system instance, run as the fluxfs user after mounting
# (fluxfsd makes the user itself if missing; made here so it is seen first)
if [ "$(id -u)" -eq 0 ] && ! id fluxfs >/dev/null 2>&1; then
	useradd --system --user-group --no-create-home --home-dir /nonexistent \
		--shell /usr/sbin/nologin --comment "fluxfs workload manager" fluxfs
fi
if grep -q " $mnt fuse.fluxfsd " /proc/mounts; then
	# a live tree answers stat; a dead one (its fluxfsd was killed) gives
	# ENOTCONN, and the fluxfsd started below detaches it
	if stat "$mnt" >/dev/null 2>&1; then
		echo "fluxfs is already mounted at $mnt (stop it with: fusermount3 -u $mnt)"
		exit 0
	fi
else
	mkdir -p "$mnt"
fi
# shellcheck disable=SC2086
"$top/build/fsd/fluxfsd" ${FLUXFSD_OPTS:-} "$mnt"
cat <<MSG
fluxfs is running at $mnt ($(grep '^cores:' "$mnt/status"), $(grep '^nodes:' "$mnt/status")).
Try:
  cp $top/mount-examples/hello.yaml $mnt/queue/
  ls $mnt/jobs/ && cat $mnt/jobs/*/stdout
  cat $mnt/README
The fluxfs command (fluxfs run hostname, fluxfs jobs, ...) is $top/build/tools/fluxfs:
  export PATH=$top/build/tools:\$PATH
Stop it with: fusermount3 -u $mnt
MSG
