#!/bin/bash
# watch.sh - print a line each time a job finishes, however fast it ran:
# follow the instance's event journal (events, doc/tree.md), where every
# event of every job appears once, in commit order. No polling, no race
# with a job directory that comes and goes before a watch could be set.
set -euo pipefail
mnt=${FLUXFS_MOUNT:-/flux}
# -n 0: from now on (a new reader of events gets a backlog first)
tail -n 0 -F "$mnt/events" | while read -r line; do
	case $line in
	*'"name":"clean"'*)
		id=${line#*\"id\":\"}
		id=${id%%\"*}
		echo "$id $(cat "$mnt/jobs/$id/result")"
		;;
	esac
done
