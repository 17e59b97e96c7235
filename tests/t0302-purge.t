#!/bin/bash
# Retention (off by default): --purge-keep N keeps the N newest inactive
# jobs; --purge-age S forgets jobs inactive for longer than S seconds.
# Purged jobs leave jobs/, the store, and status counts; active ones stay.
. "$(dirname "$0")/lib.sh"
plan 14

njobs() { ls "$MNT/jobs" | wc -l; }

ok "daemon mounts with --purge-keep 5" fluxfs_start --purge-keep 5
mkjob 'true' > t.yaml
mkjob 'sleep 30' > long.yaml
L=$(submit long.yaml)
ok "a long job runs" wait_state "$L" RUN
ids=()
for i in $(seq 20); do ids+=("$(submit t.yaml)"); done
is "$(wait_job "${ids[19]}")" "COMPLETED 0" "the last short job completes"
ok "only 5 inactive jobs are kept" wait_until 10 bash -c '[ "$(awk "/^inactive:/ {print \$2}" "$1/status")" = 5 ]' _ "$MNT"
ok "jobs/ lists 5 inactive + the running one" wait_until 5 bash -c '[ "$(ls "$1/jobs" | wc -l)" = 6 ]' _ "$MNT"
ok "the oldest short job is gone" test ! -e "$MNT/jobs/${ids[0]}"
ok "the newest short job is kept" test -e "$MNT/jobs/${ids[19]}/result"
is "$(job_state "$L")" RUN "the running job is never purged"
ok "unmount" fluxfs_stop
ok "restart" fluxfs_start
is "$(njobs)" 6 "purged jobs stay purged in the store"

ok "unmount" fluxfs_stop
ok "restart with --purge-age 1" fluxfs_start --purge-age 1
ok "every inactive job is forgotten after a second or two" wait_until 10 bash -c '[ "$(ls "$1/jobs" | wc -l)" = 0 ]' _ "$MNT"
