#!/bin/bash
# One daemon per state dir and per mountpoint, with clear messages.
. "$(dirname "$0")/lib.sh"
plan 17

ok "first daemon mounts" fluxfs_start
mkdir -p "$T/mnt2"
out=$(timeout 10 "$FLUXFSD" --state "$STATE" "$T/mnt2" 2>&1); rc=$?
isnt "$rc" 0 "second daemon on the same state dir fails"
like "$out" "in use" "with a message saying the state is in use"
nok "the second mountpoint is not mounted" mountpoint -q "$T/mnt2"

mkdir -p "$T/state2"
out=$(timeout 10 "$FLUXFSD" --state "$T/state2" "$MNT" 2>&1); rc=$?
isnt "$rc" 0 "second daemon on a mounted mountpoint fails"
like "$out" "already mounted" "with a message saying it is already mounted"
out=$(timeout 10 "$FLUXFSD" -f --state "$T/state2" "$MNT" 2>&1); rc=$?
isnt "$rc" 0 "same in the foreground (-f)"
ok "first instance still works" test "$(status_field tree-version)" = 2
is "$(wait_job "$(mkjob 'echo still' > j.yaml; submit j.yaml)")" "COMPLETED 0" "and runs jobs"
ok "only one mount at MNT" test "$(awk -v m="$MNT" '$2 == m' /proc/mounts | wc -l)" = 1

ok "unmount" fluxfs_stop
# the lock is released on exit: the same state dir can be mounted elsewhere
MNT=$T/mnt2
ok "state dir usable again after unmount" fluxfs_start
is "$(ls "$MNT/jobs" | wc -l)" 1 "with its job"
ok "unmount" fluxfs_stop

# daemonized start (no -f) returns once mounted
timeout 20 "$FLUXFSD" --state "$STATE" "$MNT" >/dev/null 2>&1
FLUXFS_PID=$(daemon_pid "--state $STATE $MNT")
_all_pids+=($FLUXFS_PID)
ok "daemonized start returns with the tree mounted" test -e "$MNT/status"
ok "unmount the daemonized instance" fluxfs_stop

# daemonized start with relative paths (cwd is $T)
cp "$FIXTURES/R-4n2c.json" rel-R.json
mkdir -p rel-state rel-mnt
out=$(timeout 20 "$FLUXFSD" --state rel-state --resources rel-R.json rel-mnt 2>&1)
FLUXFS_PID=$(daemon_pid "--state rel-state")
_all_pids+=($FLUXFS_PID)
MNT=$T/rel-mnt
is "$(status_field nodes 2>/dev/null)" 4 "daemonized start with relative --resources and --state" || diag "$out"
is_mounted "$MNT" && fluxfs_stop
