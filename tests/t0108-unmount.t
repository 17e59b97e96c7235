#!/bin/bash
# Unmounting a system instance while its jobs run: `fusermount3 -u` works
# the first time. The inotify publisher makes its syscalls through a clone
# of the mount (open_tree), not through the mount point, so it does not
# make the unmount fail with EBUSY (it did, up to 40 times in a row, while
# jobs ran); the broker learns of the unmount from the mount table and
# stops, and the jobs that had not run are there at the next start. A
# mount stacked on the mount point does not stop it; `umount -l` does.
# A user's own instance does the same, its clone made in a user namespace.
. "$(dirname "$0")/lib.sh"
plan 25

[ "$(id -u)" = 0 ] || { for i in $(seq 25); do skip "needs root"; done; exit 0; }
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

# a mount moved elsewhere is still ours: the daemon runs on, and serves it
mkdir -p "$T/moved"
mount --move "$MNT" "$T/moved" || bail_out "cannot move the mount"
sleep 0.3
ok "moved (mount --move), the daemon runs on" kill -0 "$FLUXFS_PID"
ok "... and answers there" timeout 5 grep -q "^jobs:" "$T/moved/status"
mount --move "$T/moved" "$MNT"

# unmounted while the daemon cannot look (stopped), and another instance
# mounted there at once (its mount gets the same mount id): the first one
# still sees that its file system is gone, stops, and leaves the second's
# mount alone
kill -STOP "$FLUXFS_PID"
# umount(2) itself: umount(8) would stat the stopped daemon's mount point
python3 -c 'import ctypes, sys; sys.exit(ctypes.CDLL(None).umount2(sys.argv[1].encode(), 0))' "$MNT" ||
	diag "umount2 failed"
mkdir -p "$T/state2"
"$FLUXFSD" --state "$T/state2" "$MNT" 2>/dev/null || bail_out "cannot start the second instance"
kill_second() { pkill -KILL -f -- "--state $T/state2 " 2>/dev/null; true; }
at_cleanup kill_second
kill -CONT "$FLUXFS_PID"
ok "the first daemon exits" _wait_gone "$FLUXFS_PID" 20
FLUXFS_PID=
sleep 0.3
ok "... and the second one's tree is still there and answers" timeout 5 grep -q "^jobs:" "$MNT/status"
fusermount3 -u "$MNT"
second_gone() { ! pgrep -f -- "--state $T/state2 " >/dev/null; }
wait_until 20 second_gone
fluxfs_start || bail_out "cannot mount again"

# umount -l with a process inside: the daemon stops too
(cd "$MNT/jobs" && exec sleep 30) &
inside=$!
sleep 0.2
ok "umount -l of a tree a process is in" umount -l "$MNT"
ok "the daemon exits" _wait_gone "$FLUXFS_PID" 20
FLUXFS_PID=
kill "$inside" 2>/dev/null; wait "$inside" 2>/dev/null

# restarting at once after an unmount: the old daemon still gives a job
# that ignores SIGTERM its kill grace; the new one waits for it to let go
# of the state directory instead of failing ("in use by pid N")
fluxfs_start || bail_out "cannot mount"
stubborn=$(submit "$(mkjob 'trap "" TERM; sleep 60' > stubborn.yaml; echo stubborn.yaml)")
wait_state "$stubborn" RUN 20
held=$(timeout 10 "$F" -m "$MNT" submit --urgency=hold true)
old=$FLUXFS_PID
fusermount3 -u "$MNT"
FLUXFS_PID=
"$FLUXFSD" --state "$STATE" "$MNT" 2>restart.err
rc=$?
FLUXFS_PID=$(pgrep -f -- "--state $STATE $MNT" | head -1)
_all_pids+=("$FLUXFS_PID")
is "$rc" 0 "fusermount3 -u, then fluxfsd at once on the same state: it starts ($(cat restart.err))"
ok "... once the old daemon has let go (and it exits)" _wait_gone "$old" 10
is "$(job_state "$held")" SCHED "... and the held job is there"
fluxfs_stop

# what a user's instance does (no clone: by path, as before) is unchanged:
# a fresh root instance with --no-publish has no publisher and no watch,
# and its unmount still ends it through the kernel
fluxfs_start --no-publish || bail_out "cannot mount without publisher"
ok "without a publisher, fusermount3 -u works" fusermount3 -u "$MNT"
ok "... and the daemon exits" _wait_gone "$FLUXFS_PID" 20
FLUXFS_PID=

# a user's own instance: the clone is made in a user namespace of its own
u=fluxfs-t0108
test_user "$u"
as_user() { setpriv --reuid="$u" --regid=nogroup --init-groups env HOME="$T/uhome" "$@"; }
fuse_mode=$(stat -c %a /dev/fuse)
at_cleanup chmod "$fuse_mode" /dev/fuse
chmod 666 /dev/fuse   # fusermount3 needs it, as Debian ships it
mkdir -p "$T/uhome" "$T/ustate" "$T/umnt"
chown "$u" "$T/uhome" "$T/ustate" "$T/umnt"
uclean() { pkill -KILL -f -- "--state $T/ustate " 2>/dev/null; fusermount3 -uz "$T/umnt" 2>/dev/null; true; }
at_cleanup uclean
if [ "$(cat /proc/sys/user/max_user_namespaces)" -gt 0 ] && as_user unshare -U true 2>/dev/null; then
	ubusy=
	for round in 1 2 3; do
		as_user "$FLUXFSD" --state "$T/ustate" "$T/umnt" || bail_out "the user's instance does not start"
		if [ $round = 1 ]; then
			as_user timeout 10 inotifywait -q -e create --format '%e' "$T/umnt/jobs" > uiw.log 2>&1 &
			iwp=$!
			sleep 0.5
		fi
		as_user timeout 30 "$F" -m "$T/umnt" submit --cc=1-2000 true > uids ||
			bail_out "the user cannot submit"
		[ $round = 1 ] && { wait "$iwp"; is "$(cat uiw.log)" "CREATE,ISDIR" \
			"a user's instance: inotify watchers see its jobs (the clone's calls)"; }
		sleep 0.2
		n=0
		until as_user fusermount3 -u "$T/umnt" 2>/dev/null; do
			n=$((n + 1)); [ $n -ge 300 ] && break; sleep 0.01
		done
		ubusy+="$n "
		user_gone() { ! pgrep -f -- "--state $T/ustate " >/dev/null; }
		wait_until 20 user_gone || diag "round $round: the user's fluxfsd still runs"
	done
	is "$ubusy" "0 0 0 " "... 3 times its first fusermount3 -u while jobs run works"
	ok "... and the daemon exits" user_gone
	ok "... having logged the unmount" grep -q "$T/umnt was unmounted" "$T/ustate/fluxfsd.log"
	nok "... and nothing is left mounted" is_mounted "$T/umnt"
else
	for i in 1 2 3 4 5; do skip "user namespaces are not allowed here"; done
fi
