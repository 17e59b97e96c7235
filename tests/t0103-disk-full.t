#!/bin/bash
# A full disk under the state directory: submissions fail with ENOSPC (and
# queue/errors says so), nothing accepted is lost, output that could not be
# stored is never shown and the eventlog says it was dropped, the daemon
# starts on the full disk (reads and cancel work), and submissions work
# again once space is freed, without a restart. A commit that fails with a
# submission waiting on it (the disk filled before the daemon looked) fails
# that submission and nothing else: the daemon stays up.
. "$(dirname "$0")/lib.sh"
plan 38

SMALL=$T/small
mkdir -p "$SMALL"
mount -t tmpfs -o size=8m tmpfs "$SMALL" || bail_out "cannot mount a tmpfs"
small_gone() { umount "$SMALL" 2>/dev/null || umount -l "$SMALL" 2>/dev/null || ! is_mounted "$SMALL"; }
at_cleanup small_gone
STATE=$SMALL/state

fill() { dd if=/dev/zero of="$SMALL/filler" bs=64k 2>/dev/null; [ "$(df --output=avail "$SMALL" | tail -1)" -lt 64 ]; }
# the daemon looks at the disk once a second and logs what it finds
says() { grep -q "$1" "$DAEMON_LOG"; }
log_count() { grep -c "$1" "$DAEMON_LOG"; }
cp_err() { timeout 10 cp "$1" "$MNT/queue/" 2>&1; }

fluxfs_start || bail_out "cannot mount"
mkjob 'echo before' > a.yaml
{ mkjob 'echo held'; echo '    urgency: 0'; } > h.yaml   # submitted held
mkjob 'while [ ! -e go ]; do sleep 0.05; done; head -c 3000000 /dev/zero | tr "\0" x; echo end' > o.yaml

A=$(submit a.yaml)
is "$(wait_job "$A")" "COMPLETED 0" "A completes before the disk fills"
H=$(submit h.yaml)
ok "H is held" wait_state "$H" SCHED
H2=$(submit h.yaml)
ok "H2 is held" wait_state "$H2" SCHED
O=$(submit o.yaml)
ok "O runs, waiting to write" wait_state "$O" RUN

ok "the disk fills up" fill
ok "the daemon notices" wait_until 10 says "disk is full"
out=$(cp_err a.yaml)
like "$out" "No space left on device" "cp to queue/ fails with ENOSPC"
like "$(tail -1 "$MNT/queue/errors")" "a.yaml: ENOSPC: " "queue/errors says ENOSPC"
nok "queue/new fails too" submit a.yaml

# output written while the disk is full is dropped, never shown
touch go
is "$(wait_job "$O")" "COMPLETED 0" "O completes on the full disk"
size=$(stat -c %s "$MNT/jobs/$O/stdout")
jobfile "$O" stdout > o.before
is "$(wc -c < o.before)" "$size" "O's stdout: its size is what a read returns"
like "$(tail -c 200 o.before)" "fluxfs: [0-9]+ bytes of stdout dropped: the store was full$" \
	"O's stdout ends with a note of what was dropped"
like "$(jobfile "$O" eventlog | grep '"log"' | head -1)" "stdout: output dropped from byte [0-9]+: No space left on device" \
	"O's eventlog says when output was dropped"
like "$(event_names "$O")" "finish release free clean$" "O's eventlog ends normally"

ok "kill -9 on the full disk" fluxfs_kill9
ok "restart on the full disk" fluxfs_start
ok "it says the disk is full" wait_until 10 test "$(log_count "disk is full")" -ge 2
ok "cat jobs/*/state works" quiet cat "$MNT"/jobs/*/state
is "$(job_state "$H")" SCHED "H, accepted before the disk filled, is still there"
is "$(jobfile "$A" stdout)" before "A's output is still there"
is "$(jobfile "$O" result)" "COMPLETED 0" "O is still COMPLETED (not LOST)"
ok "O's stdout is what readers saw before the restart" cmp -s o.before <(jobfile "$O" stdout)
ok "cancel works on the full disk" bash -c 'echo cancel > "$1"' _ "$MNT/jobs/$H2/ctl"
is "$(wait_job "$H2")" CANCELED "H2 is CANCELED"
out=$(cp_err a.yaml)
like "$out" "No space left on device" "submissions are refused with ENOSPC"
like "$(tail -1 "$MNT/queue/errors")" "a.yaml: ENOSPC: no space left" "queue/errors says why"

fluxfs_stop
ok "a clean restart on the full disk" fluxfs_start
is "$(jobfile "$H2" result)" CANCELED "the cancel made on the full disk is durable"

rm -f "$SMALL/filler"
ok "the daemon notices the space" wait_until 10 says "room again"
B=$(submit a.yaml)
is "$(wait_job "$B")" "COMPLETED 0" "submissions work again without a restart"
ok "H is released and runs" bash -c 'echo "urgency 16" > "$1"' _ "$MNT/jobs/$H/ctl"
is "$(wait_job "$H")" "COMPLETED 0" "H completes"

# the disk fills, and at once a stream of jobs too large for what is left
# comes in: its commit fails (the daemon looks at the disk once a second)
pad=$(head -c 60000 /dev/zero | tr '\0' x)
for i in $(seq 100); do mkjob ": $pad; true"; echo '---'; done > big.yaml
fill
out=$(timeout 20 cp big.yaml "$MNT/queue/" 2>&1)
like "$out" "No space left on device" "a stream whose commit cannot be made fails with ENOSPC"
rm -f "$SMALL/filler"
ok "the daemon is still there" wait_until 10 test -e "$MNT/status"
submit_again() { submit a.yaml > c.id 2>/dev/null && test -s c.id; }
ok "... and takes submissions again once it sees the space" wait_until 10 submit_again
is "$(wait_job "$(cat c.id)")" "COMPLETED 0" "... which run"
unlike "$(cat "$DAEMON_LOG")" "double free|SIGABRT|SIGSEGV" "nothing crashed"
ok "clean stop" fluxfs_stop
