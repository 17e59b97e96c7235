#!/bin/bash
# Partial release (Flux's shrink, issue 16): "release HOSTLIST" in a running
# job's ctl gives back nodes whose tasks have ended; the job runs on, the
# scheduler uses them at once, the eventlog and R say so.
. "$(dirname "$0")/lib.sh"
FLUXFS=${FLUXFS_CLI:-$(dirname "$FLUXFSD")/../tools/fluxfs}
plan 16
fx() { timeout 30 "$FLUXFS" -m "$MNT" "$@"; }
ctl() { timeout 10 sh -c 'echo "$2" > "$1"' _ "$MNT/jobs/$1/ctl" "$2"; }

ok "daemon mounts a 4-node x 2-core cluster" fluxfs_start --resources "$FIXTURES/R-4n2c.json"
# a 2-node job whose second node's task ends at once
a=$(fx submit -N 2 sh -c '[ "$FLUX_TASK_NODEID" = 1 ] && exit 0; sleep 60')
wait_state "$a" RUN >/dev/null
b=$(fx submit -N 3 true)
is "$(job_state "$b")" SCHED "a 3-node job waits: two of four nodes are taken"
hosts=$(python3 -c '
import json, re, sys
nl = json.load(open(sys.argv[1]))["execution"]["nodelist"][0]
m = re.match(r"(\D+)\[(\d+)-(\d+)\]$", nl)
print(" ".join(f"{m[1]}{i}" for i in range(int(m[2]), int(m[3]) + 1)) if m else nl)' "$MNT/jobs/$a/R")
set -- $hosts
first=$1 second=$2
ok "the job holds two nodes ($first $second)" test -n "$second"
for i in $(seq 100); do ctl "$a" "release $second" 2>/dev/null && break; sleep 0.1; done
is "$(job_state "$a")" RUN "release $second: the job runs on"
is "$(timeout 20 cat "$MNT/jobs/$b/wait")" "COMPLETED 0" "the waiting 3-node job got the node at once"
like "$(jobfile "$a" eventlog)" '"name":"release","context":\{"ranks":"[0-9]+","final":false\}' \
	"the eventlog says release, not final, with the rank"
like "$(jobfile "$a" R)" "\"nodelist\":\\[\"$first\"\\]" "R now names only $first"
is "$(fx jobs -n -o '{nnodes}' "$a")" 1 "jobs shows one node"

nok "release $first (its task still runs) fails" ctl "$a" "release $first"
like "$(tail -1 "$MNT/queue/errors")" "still run on $first" \
	"... saying the tasks still run there"
nok "release of a node it does not hold fails" ctl "$a" "release nodeX"
nok "release of a bad host list fails" ctl "$a" "release node["
nok "release with another line in the same write fails" ctl "$a" "$(printf 'release %s\nsignal 0' "$first")"
mkdir "$MNT/jobs/$a/inner"
nok "release while the job has a nested instance fails" ctl "$a" "release $first"
like "$(tail -1 "$MNT/queue/errors")" "nested instances" "... saying why"
rmdir "$MNT/jobs/$a/inner" 2>/dev/null
fx cancel "$a" >/dev/null
is "$(timeout 20 cat "$MNT/jobs/$a/wait")" "CANCELED" "the job ends when canceled, as any"
