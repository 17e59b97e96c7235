#!/bin/bash
# watch.sh - print a line each time a job finishes, driven by inotify events
# (no polling): every state change of a job is a CLOSE_WRITE on its state file.
# Events in quick succession may be coalesced and the file always shows the
# latest state, so a job can be seen INACTIVE on more than one event: each
# job is reported once.
set -euo pipefail
mnt=${FLUXFS_MOUNT:-/flux}
declare -A done=()
inotifywait -q -m -r -e close_write --format '%w%f' "$mnt/jobs" |
while read -r path; do
	[ "${path##*/}" = state ] || continue
	dir=${path%/state}
	id=${dir##*/}
	[ -z "${done[$id]:-}" ] || continue
	if [ "$(cat "$path" 2>/dev/null)" = INACTIVE ]; then
		done[$id]=1
		echo "$id $(cat "$dir/result")"
	fi
done
