#!/bin/bash
# Job dependencies (RFC 26): DEPEND until decided; afterok/afternotok/
# afterany/after; rejection of bad ones; dependency exceptions; restart.
. "$(dirname "$0")/lib.sh"
plan 30

# depjob CMD SCHEME JOBID: a jobspec that depends on JOBID
depjob() {
	mkjob "$1"
	printf '    dependencies:\n      - scheme: %s\n        value: %s\n' "$2" "$3"
}

ok "daemon mounts" fluxfs_start
# A runs long enough that G (submitted after four others) sees it running
# even on a loaded machine
mkjob 'sleep 3; exit 0' > ok.yaml
mkjob 'sleep 1; exit 4' > bad.yaml
A=$(submit ok.yaml)
F=$(submit bad.yaml)
ok "two targets submitted" test -n "$A" -a -n "$F"

depjob 'echo B ran' afterok "$A" > b.yaml
B=$(submit b.yaml)
is "$(job_state "$B")" DEPEND "afterok on a running job: DEPEND"
like "$(jobfile "$B" eventlog)" "\"dependency-add\".*afterok=$A" "eventlog has dependency-add"
depjob 'echo C ran' afterok "$F" > c.yaml
C=$(submit c.yaml)
depjob 'echo D ran' afternotok "$F" > d.yaml
D=$(submit d.yaml)
depjob 'echo E ran' afterany "$F" > e.yaml
E=$(submit e.yaml)
depjob 'echo G ran' after "$A" > g.yaml
G=$(submit g.yaml)

is "$(wait_job "$B")" "COMPLETED 0" "afterok of a completed job runs"
is "$(jobfile "$B" stdout)" "B ran" "B's output"
ok "B started after A ended" awk -v a="$(event_ts "$A" clean)" -v b="$(event_ts "$B" start)" 'BEGIN { exit !(b >= a) }'
is "$(wait_job "$C")" "CANCELED" "afterok of a failed job never runs"
like "$(jobfile "$C" eventlog)" '"type":"dependency"' "C has a dependency exception"
is "$(jobfile "$C" stdout)" "" "C printed nothing"
is "$(wait_job "$D")" "COMPLETED 0" "afternotok of a failed job runs"
is "$(wait_job "$E")" "COMPLETED 0" "afterany of a failed job runs"
is "$(wait_job "$G")" "COMPLETED 0" "after (started) runs"
ok "G left DEPEND before A ended" awk -v a="$(event_ts "$A" clean)" -v g="$(event_ts "$G" depend)" 'BEGIN { exit !(g <= a) }'

depjob 'true' afterfoo "$A" > x.yaml
nok "unknown scheme rejected" cp x.yaml "$MNT/queue/"
like "$(tail -1 "$MNT/queue/errors")" "unknown scheme 'afterfoo'" "reason in queue/errors"
depjob 'true' afterok fNoSuchJob > y.yaml
nok "unknown job rejected" cp y.yaml "$MNT/queue/"
like "$(tail -1 "$MNT/queue/errors")" "unknown job 'fNoSuchJob'" "reason in queue/errors"

# a dependent job survives a restart in DEPEND and runs afterwards
mkjob 'sleep 30' > long.yaml
L=$(submit long.yaml)
depjob 'echo after restart' afterany "$L" > w.yaml
W=$(submit w.yaml)
is "$(job_state "$W")" DEPEND "W waits on the long job"
ok "unmount" fluxfs_stop
ok "restart" fluxfs_start
is "$(job_state "$L")" INACTIVE "the long job ended at shutdown"
is "$(wait_job "$W")" "COMPLETED 0" "W ran after the restart (afterany)"

# begin-time (Flux's --begin-time, Slurm's --begin): the job waits for the time
mkjob 'echo began' > begin.yaml
python3 - begin.yaml <<'PY'
import sys, time
p = sys.argv[1]
s = open(p).read()
s = s.replace("  system:\n", "  system:\n    dependencies:\n      - scheme: begin-time\n        value: %f\n" % (time.time() + 2), 1)
open(p, "w").write(s)
PY
B=$(submit begin.yaml)
is "$(job_state "$B")" DEPEND "a job with a begin-time 2 s away waits in DEPEND"
is "$(wait_job "$B" 10)" "COMPLETED 0" "then it runs by itself"
printf '#!/bin/sh\n#SBATCH --dependency=afterok:%s\n#SBATCH --begin=now+1\necho slurm-dep\n' "$B" > sd.sh
S=$(submit sd.sh)
is "$(wait_job "$S" 10) $(jobfile "$S" stdout)" "COMPLETED 0 slurm-dep" "#SBATCH --dependency=afterok:ID and --begin=now+1"

# singleton: one job of a user's name past DEPEND at a time (Slurm, Flux)
FLUXFS=${FLUXFS_CLI:-$(dirname "$FLUXFSD")/../tools/fluxfs}
fx() { timeout 30 "$FLUXFS" -m "$MNT" "$@"; }
s1=$(fx submit --job-name=solo sleep 1)
wait_state "$s1" RUN >/dev/null
s2=$(fx submit --job-name=solo --dependency=singleton true)
printf '#!/bin/sh\n#SBATCH -J solo\n#SBATCH --dependency=singleton\necho third\n' > sd2.sh
s3=$(submit sd2.sh)
o=$(fx submit --job-name=other --dependency=singleton true)
is "$(job_state "$s2") $(job_state "$s3")" "DEPEND DEPEND" \
	"singletons wait while a job of their name runs (one without singleton too)"
is "$(wait_job "$o" 10)" "COMPLETED 0" "a singleton of another name runs at once"
is "$(wait_job "$s3" 20) $(jobfile "$s3" stdout)" "COMPLETED 0 third" "#SBATCH --dependency=singleton runs in its turn"
is "$(python3 -c '
import json, sys
def t(p, name):
    return [json.loads(l)["timestamp"] for l in open(p) if json.loads(l)["name"] == name][0]
a, b, c = sys.argv[1:4]
print(t(a, "finish") <= t(b, "start") and (t(b, "finish") <= t(c, "start") or t(c, "finish") <= t(b, "start")))' \
	"$MNT/jobs/$s1/eventlog" "$MNT/jobs/$s2/eventlog" "$MNT/jobs/$s3/eventlog")" True \
	"... never two of them at once"
