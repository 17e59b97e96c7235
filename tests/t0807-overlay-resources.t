#!/bin/bash
# resources/ on a follower's tree is the instance's (doc/overlay.md "One
# tree on every node"): every node, its status (joined or not, drained),
# the allocations and the free counts, as on the leader's tree, from the
# follower's replica of the leader's store.
. "$(dirname "$0")/lib.sh"
plan 19

overlay_start 4 2 || bail_out "cannot start 4 brokers"
overlay_wait_up 30 || bail_out "the brokers did not join"
tree() { (cd "$1/resources" && find . | sort); }
same() { [ "$(timeout 5 cat "$T/m0/resources/$1")" = "$(timeout 5 cat "$T/m$2/resources/$1")" ]; }

is "$(tree "$T/m3")" "$(tree "$T/m0")" "a follower lists every node and core, as the leader"
ok "... once they have all joined, its summary is the leader's" wait_until 10 same summary 3
like "$(cat "$T/m3/resources/summary")" "nodes: 4.cores: 8.cores-free: 8" "(4 nodes, 8 cores, all free)"
is "$(cat "$T/m3/resources/R")" "$(cat "$T/m0/resources/R")" "its R is the leader's"

mkjob_nodes "exec sleep 300" 2 2 600 > two.yaml
id=$(submit two.yaml) || bail_out "cannot submit"
wait_state "$id" RUN 20
ok "a running job's allocation shows on the follower" wait_until 10 same allocations 3
like "$(cat "$T/m3/resources/allocations")" "$id:x" "(held exclusively by the job)"
like "$(cat "$T/m2/resources/summary")" "cores-free: 4" "the follower's free count leaves it out"
node=n$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["execution"]["R_lite"][0]["rank"].split("-")[0].split(",")[0])' "$MNT/jobs/$id/R")
ok "a node's state names the job, on the follower too" wait_until 10 same "cluster0/$node/state" 3

echo "drain n3" > "$T/m1/resources/ctl"
ok "a drain made on a follower shows on another" wait_until 10 grep -qx "node drained" "$T/m2/resources/cluster0/n3/state"
echo "up n3" > "$T/m1/resources/ctl"
ok "... and so does up" wait_until 10 grep -qx "node up" "$T/m2/resources/cluster0/n3/state"

# rank 3 (a leaf under rank 1) goes; the job runs on n0 and n1
kill -9 "${OVERLAY_PIDS[3]}"
ok "a lost node is down on the followers' trees" wait_until 20 sh -c "head -1 '$T/m2/resources/cluster0/n3/state' | grep -qx 'node down'"
ok "the leader's and a follower's allocations agree" wait_until 10 same allocations 2

echo cancel > "$MNT/jobs/$id/ctl"
wait_job "$id" 30 >/dev/null
ok "the ended job's allocation is gone from the follower" wait_until 10 sh -c "! grep -q '$id' '$T/m2/resources/allocations'"
fusermount3 -uz "$T/m3" 2>/dev/null
overlay_start_rank 3 || bail_out "cannot restart rank 3"
ok "the node is up again everywhere once it rejoins" wait_until 20 grep -qx "node up" "$T/m2/resources/cluster0/n3/state"
ok "the restarted follower shows the instance from its replica" wait_until 10 same summary 3

# which tree fluxfs uses without -m: of one instance's brokers, the
# leader's; with another instance mounted too, none (it says which)
FX=$(dirname "$FLUXFSD")/../tools/fluxfs
# (only when no other test's instance is mounted on this machine)
# (an instance of someone else's on this machine, at the default /flux
# above all, is one fluxfs would pick: these two are then not ours to say)
alone=$(awk -v t="$T/" '$3 == "fuse.fluxfsd" && index($2, t) != 1' /proc/mounts | wc -l)
if [ "$alone" = 0 ]; then
	like "$(env -u FLUXFS_MOUNT "$FX" status 2>&1)" "rank 0 of 4 brokers" "fluxfs without -m picks the leader of the brokers here"
else
	skip "another fluxfs instance is mounted on this machine"
fi
mkdir -p "$T/other" "$T/os"
"$FLUXFSD" -s "$T/os" -r "$T/r0.json" "$T/other" || bail_out "cannot start another instance"
if [ "$alone" = 0 ]; then
	like "$(env -u FLUXFS_MOUNT "$FX" status 2>&1)" "several fluxfs instances are mounted \(.*$T/other.*\): say which with -m" \
		"with another instance mounted it guesses nothing"
else
	skip "another fluxfs instance is mounted on this machine"
fi
fusermount3 -u "$T/other"
like "$("$FX" -m "$T/m2" run -N 5 true 2>&1)" "requested 5 nodes but the instance has 4" \
	"too many nodes is said in nodes"
id=$("$FX" -m "$T/m0" submit true)
wait_job "$id" >/dev/null
ok "a follower's events has the leader's jobs" wait_until 10 grep -q "\"id\":\"$id\",.*\"name\":\"clean\"" "$T/m3/events"
