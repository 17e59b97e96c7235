#!/bin/bash
# Unmounting a system instance while its jobs run: `fusermount3 -u` works
# the first time. The inotify publisher makes its syscalls through a clone
# of the mount (open_tree), not through the mount point, so it does not
# make the unmount fail with EBUSY (it did, 11-40 times in a row, while
# jobs ran); the broker learns of the unmount from the mount table and
# stops, and the jobs that had not run are there at the next start. A
# mount stacked on the mount point does not stop it; `umount -l` does.
. "$(dirname "$0")/lib.sh"
plan 13

[ "$(id -u)" = 0 ] || { for i in $(seq 13); do skip "needs root"; done; exit 0; }
F=$(dirname "$FLUXFSD")/../tools/fluxfs
# unmount_busy: how many times fusermount3 -u said busy before it worked
unmount_busy() {
	local n=0
	until fusermount3 -u "$MNT" 2>/dev/null; do
		n=$((n + 1))
		[ $n -ge 300 ] && break
		sleep 0.01
	done
	echo "$n"
}

busy=
for round in 1 2 3; do
	fluxfs_start || bail_out "cannot mount"
	timeout 30 "$F" -m "$MNT" submit --cc=1-2000 true > ids.$round || bail_out "cannot submit"
	sleep 0.2   # jobs run, the publisher announces them
	busy+="$(unmount_busy) "
	_wait_gone "$FLUXFS_PID" 20 || diag "round $round: fluxfsd still running"
	FLUXFS_PID=
done
is "$busy" "0 0 0 " "3 times: the first fusermount3 -u of a tree whose jobs run works"
nok "the tree is no longer mounted" is_mounted "$MNT"
no_procs_left() { ! pgrep -f -- "--state $STATE " >/dev/null; }
ok "the daemon has exited" no_procs_left
ok "it logged the unmount" grep -q "$MNT was unmounted" "$DAEMON_LOG"

# nothing was lost: the last round's jobs are all there, and those that had
# not run when the tree went run after a restart
fluxfs_start || bail_out "cannot mount again"
n=$(wc -l < ids.3)
is "$n" 2000 "the last round submitted 2000 jobs"
missing=0
for id in $(cat ids.3); do [ -d "$MNT/jobs/$id" ] || missing=$((missing + 1)); done
is "$missing" 0 "... all of them are in jobs/ after the restart"
ok "all of them end" wait_until 60 all_inactive

# a mount stacked on the mount point hides the tree but is not its unmount
mount -t tmpfs t0108 "$MNT" || bail_out "cannot stack a tmpfs"
sleep 0.3
ok "with a tmpfs on top, the daemon runs on" kill -0 "$FLUXFS_PID"
umount "$MNT"
id=$(submit "$(mkjob true > t.yaml; echo t.yaml)")
is "$(wait_job "$id")" "COMPLETED 0" "... and, uncovered, the tree works"

# umount -l with a process inside: the daemon stops too
(cd "$MNT/jobs" && exec sleep 30) &
inside=$!
sleep 0.2
ok "umount -l of a tree a process is in" umount -l "$MNT"
ok "the daemon exits" _wait_gone "$FLUXFS_PID" 20
FLUXFS_PID=
kill "$inside" 2>/dev/null; wait "$inside" 2>/dev/null

# what a user's instance does (no clone: by path, as before) is unchanged:
# a fresh root instance with --no-publish has no publisher and no watch,
# and its unmount still ends it through the kernel
fluxfs_start --no-publish || bail_out "cannot mount without publisher"
ok "without a publisher, fusermount3 -u works" fusermount3 -u "$MNT"
ok "... and the daemon exits" _wait_gone "$FLUXFS_PID" 20
FLUXFS_PID=
