#!/bin/bash
# watch.sh - print a line each time a job finishes, driven by inotify events
# (no polling): every state change of a job is a CLOSE_WRITE on its state file.
set -euo pipefail
mnt=${FLUXFS_MOUNT:-/flux}
inotifywait -q -m -r -e close_write --format '%w%f' "$mnt/jobs" |
while read -r path; do
	[ "${path##*/}" = state ] || continue
	dir=${path%/state}
	if [ "$(cat "$path" 2>/dev/null)" = INACTIVE ]; then
		echo "${dir##*/} $(cat "$dir/result")"
	fi
done
