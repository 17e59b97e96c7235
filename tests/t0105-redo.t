#!/bin/bash
# The store's redo log (fsd/redo.h): a submission is durable once it is in
# the log, and what LMDB had not synced when the machine went down is
# applied again when the daemon starts. A crash of the machine is played
# by putting back a copy of the store taken before the submissions, after
# a kill -9 (the daemon stopped meanwhile, so that no checkpoint reuses the
# log's files in between). Then a power failure, which leaves the disk with
# the last checkpoint and any part of what was written after it: LMDB's meta
# pages (its first two) from one copy of the store and the rest from
# another, both ways, found by the daemon in another boot.
. "$(dirname "$0")/lib.sh"
# while ./unsaved exists the daemon's checkpoints are not saved (fsd/store.c)
export FLUXFS_TEST_CKPT_UNSAVED=$PWD/unsaved
FLUXFS=${FLUXFS_CLI:-$(dirname "$FLUXFSD")/../tools/fluxfs}
plan 25

fluxfs_start || bail_out "cannot mount"
# its files are made in the background, after the tree is mounted
made() { test "$(stat -c '%s %a %U' "$STATE/$1" 2>/dev/null)" = "4194304 600 $(stat -c %U "$STATE/data.mdb")"; }
for f in redo.0 redo.1; do
	ok "$f is made, 4 MiB, 0600, the store's owner's" wait_until 10 made "$f"
done
mkjob 'echo warm' > w.yaml
W=$(submit w.yaml)
is "$(wait_job "$W")" "COMPLETED 0" "a job runs (the log is in use from the iteration after)"

# a copy of the store as it is now, taken with the daemon stopped (idle:
# every commit is whole in the page cache)
ok "idle" wait_until 10 test "$(status_field run)$(status_field cleanup)" = 00
kill -STOP "$FLUXFS_PID"
cp "$STATE/data.mdb" data.copy
kill -CONT "$FLUXFS_PID"

# acknowledged submissions: 20 held jobs in one bulk, then 5 single ones
ids=$("$FLUXFS" -m "$MNT" submit --urgency=0 --cc=1-20 true | tr "\n" " ") || true
is "$(echo "$ids" | wc -w)" 20 "20 held jobs submitted in one bulk"
for i in 1 2 3 4 5; do
	mkjob "echo single-$i" > "s$i.yaml"
	echo '    urgency: 0' >> "s$i.yaml"
	ids="$ids $(submit "s$i.yaml")"
done
is "$(echo "$ids" | wc -w)" 25 "and 5 single ones"

kill -STOP "$FLUXFS_PID"   # no checkpoint from here on
ok "kill -9 the daemon" fluxfs_kill9
# the machine loses what LMDB had not synced
cat data.copy > "$STATE/data.mdb"
ok "restart on the store as it was before the submissions" fluxfs_start
like "$(cat "$DAEMON_LOG")" "commits the store had lost were applied again from its redo log" \
	"the daemon says it applied the redo log"
missing=0
for id in $ids; do
	s=$(job_state "$id")
	[ "$s" = SCHED ] || [ "$s" = PRIORITY ] || { missing=$((missing + 1)); diag "$id: '$s'"; }
done
is "$missing" 0 "every acknowledged job is back, held"
is "$(jobfile "$(echo "$ids" | awk '{print $NF}')" jobspec | grep -c 'single-5')" 1 \
	"the last one's jobspec is whole"

# and they run
for id in $ids; do echo "urgency 16" > "$MNT/jobs/$id/ctl"; done
last=$(echo "$ids" | awk '{print $NF}')
is "$(wait_job "$last")" "COMPLETED 0" "released, the last one runs"

# a clean stop leaves nothing to apply
n=$(grep -c "applied again" "$DAEMON_LOG")
fluxfs_stop
ok "a clean restart" fluxfs_start
is "$(grep -c "applied again" "$DAEMON_LOG")" "$n" "applies nothing"

# ---- a power failure between checkpoints
ok "idle" wait_until 10 test "$(status_field run)$(status_field cleanup)" = 00
sleep 2.5   # the checkpoint after the last change is saved (a third of a second after it)
kill -STOP "$FLUXFS_PID"
cp "$STATE/data.mdb" ckpt.copy   # what the disk holds for sure
# the checkpoints from here on commit to LMDB and sync it, but their
# saves never reach the disk: the power fails before
touch unsaved
kill -CONT "$FLUXFS_PID"
late=$("$FLUXFS" -m "$MNT" submit --urgency=0 --cc=1-60 true | tr "\n" " ") || true
for i in 1 2 3; do late="$late $("$FLUXFS" -m "$MNT" submit --urgency=0 true)"; done
is "$(echo "$late" | wc -w)" 63 "63 more held jobs acknowledged"
# a store file's newest transaction (its meta pages), or the saved
# checkpoint's (redo.ckpt's newest slot)
txn_of() {
	python3 - "$@" <<'PY'
import struct, sys
d = open(sys.argv[2], "rb").read()
if sys.argv[1] == "ckpt":
    s = [d[i:i + 512] for i in (0, 512) if d[i:i + 4] == b"FXRK"]
    print(max((struct.unpack(">Q", x[8:16])[0], struct.unpack(">Q", x[16:24])[0]) for x in s)[1] if s else 0)
else:
    print(max(struct.unpack("<Q", d[i + 144:i + 152])[0] for i in (0, 4096)))
PY
}
newer() { test "$(txn_of meta "$STATE/data.mdb")" -gt "$(txn_of meta ckpt.copy)"; }
ok "LMDB commits after the checkpoint (a checkpoint begins)" wait_until 10 newer
kill -STOP "$FLUXFS_PID"
ok "kill -9 the daemon" fluxfs_kill9
rm -f unsaved
cp "$STATE/data.mdb" late.copy
for f in redo.0 redo.1 redo.ckpt; do cp "$STATE/$f" "$f.keep"; done
# the same, or the splices below are not a disk the machine could leave
# (a checkpoint's save was on its way when the copy was taken)
ck=$(txn_of ckpt redo.ckpt.keep)
copy_txn=$(txn_of meta ckpt.copy)
if [ "$ck" != "$copy_txn" ]; then
	for i in 1 2 3 4 5 6 7; do skip "a checkpoint ($ck) came after the copy ($copy_txn): a slow machine"; done
	exit 0
fi
all_back() {
	local id s missing=0
	for id in $late $ids; do
		s=$(job_state "$id")
		[ "$s" = SCHED ] || [ "$s" = PRIORITY ] || [ "$s" = INACTIVE ] || missing=$((missing + 1))
	done
	echo "$missing"
}
# the machine came back: another boot (within one boot only the daemon
# went down, and nothing is put back)
echo 00000000-1111-2222-3333-444444444444 > boot_id
chmod 644 boot_id
export FLUXFS_TEST_BOOT_ID=$PWD/boot_id
# the later meta pages reached the disk, the pages they point to did not
{ head -c 8192 late.copy; tail -c +8193 ckpt.copy; } > "$STATE/data.mdb"
ok "restart on the checkpoint's pages with the later meta pages" fluxfs_start
like "$(cat "$DAEMON_LOG")" "put back to its last checkpoint" "the daemon says it went back to the checkpoint"
is "$(all_back)" 0 "every acknowledged job is there"
is "$(jobfile "$(echo "$late" | awk '{print $NF}')" state)" SCHED "the last one held, as submitted"
fluxfs_kill9
# the later pages reached the disk, the later meta pages did not: the
# checkpoint's own pages must not have been written over since
for f in redo.0 redo.1 redo.ckpt; do cp "$f.keep" "$STATE/$f"; done
{ head -c 8192 ckpt.copy; tail -c +8193 late.copy; } > "$STATE/data.mdb"
ok "restart on the later pages with the checkpoint's meta pages" fluxfs_start
is "$(all_back)" 0 "every acknowledged job is there"
ok "the store reads whole: every job listed has its jobspec" \
	bash -c 'for d in "$1"/jobs/*/; do test -s "$d/jobspec" || exit 1; done' _ "$MNT"
