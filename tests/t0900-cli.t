#!/bin/bash
# The fluxfs command-line tool against a real mount: every subcommand, their
# --help, bad usage, and the exit-status conventions of run.
. "$(dirname "$0")/lib.sh"
FLUXFS=${FLUXFS_CLI:-$(dirname "$FLUXFSD")/../tools/fluxfs}
[ -x "$FLUXFS" ] || { echo "1..0 # SKIP no fluxfs binary at $FLUXFS"; exit 0; }
command -v script >/dev/null || { echo "1..0 # SKIP script(1) is not installed"; exit 0; }
plan 124

fx() { timeout 30 "$FLUXFS" -m "$MNT" "$@"; }
fxq() { fx "$@" >/dev/null 2>&1; }   # for ok/nok: only the exit status

ok "daemon mounts (simulated 8-node cluster)" fluxfs_start --resources "$CONFORMANCE/R/4r4c4r1c.json"

# ---- submit
id=$(T_MARK="x y" fx submit sleep 300)
like "$id" '^f[1-9A-HJ-NP-Za-km-z]+$' "submit prints an F58 id"
ok "the id names a directory in jobs/" test -d "$MNT/jobs/$id"
ok "jobspec is JSON V1 with our cwd and environment" python3 -c '
import json, sys, os
j = json.load(open(sys.argv[1]))
assert j["version"] == 1, j
assert j["tasks"][0]["command"] == ["sleep", "300"], j["tasks"]
assert j["attributes"]["system"]["cwd"] == os.getcwd()
assert j["attributes"]["system"]["environment"]["T_MARK"] == "x y"
assert j["attributes"]["system"]["duration"] == 0
' "$MNT/jobs/$id/jobspec"
ok "wait_state RUN" wait_state "$id" RUN
# a directory that is no fluxfs mount: said, whatever the command
mkdir -p notamount
for cmd in "submit true" "run true" "jobs"; do
	# shellcheck disable=SC2086
	like "$(timeout 30 "$FLUXFS" -m notamount $cmd 2>&1; echo "rc=$?")" \
		"'notamount' is not a fluxfs mount: No such file or directory.*rc=1" "$cmd: not a fluxfs mount, exit 1"
done

cc=$(fx submit --cc=1-20 -t 1m sh -c 'echo {cc} $FLUX_JOB_CC')
is "$(echo "$cc" | wc -l)" 20 "--cc=1-20 prints 20 ids"
is "$(echo "$cc" | sort -u | wc -l)" 20 "... all different"
last=$(echo "$cc" | tail -1)
is "$(wait_job "$last")" "COMPLETED 0" "... the last copy completes"
is "$(jobfile "$last" stdout)" "20 20" "... with {cc} replaced by its index, and its environment (it waited)"
ok "--cc copies have duration 60" python3 -c '
import json, sys
assert json.load(open(sys.argv[1]))["attributes"]["system"]["duration"] == 60' "$MNT/jobs/$last/jobspec"

nid=$(fx submit -N 2 -n 3 -c 2 --job-name=spread --env=FOO=bar --env-remove='T_*' true)
ok "-N 2 -n 3 -c 2: node[2] > slot[2] > core[2], total 3 tasks" python3 -c '
import json, sys
j = json.load(open(sys.argv[1]))
r = j["resources"][0]
assert r["type"] == "node" and r["count"] == 2 and "exclusive" not in r, r
s = r["with"][0]
assert s["type"] == "slot" and s["count"] == 2 and s["with"][0] == {"type": "core", "count": 2}, s
assert j["tasks"][0]["count"] == {"total": 3}, j["tasks"]
sy = j["attributes"]["system"]
assert sy["job"]["name"] == "spread" and sy["environment"]["FOO"] == "bar"
assert not any(k.startswith("T_") for k in sy["environment"])
' "$MNT/jobs/$nid/jobspec"
# a name with a newline and an escape: one line in the table, the terminal
# not driven by it; --json keeps the name as it is
cid=$(fx submit --job-name=$'two\nl\e[31m' true)
is "$(fx jobs -a | grep -c '^l')" 0 "a job named with a newline is one line of fluxfs jobs"
like "$(fx jobs -a | grep "$cid")" "two\?l\?\[31m" "... its control characters shown as '?'"
xid=$(fx submit -N 2 true)
ok "-N 2 alone: exclusive nodes, one task each" python3 -c '
import json, sys
j = json.load(open(sys.argv[1]))
r = j["resources"][0]
assert r["type"] == "node" and r["count"] == 2 and r["exclusive"] is True, r
assert r["with"][0]["count"] == 1 and j["tasks"][0]["count"] == {"per_slot": 1}
' "$MNT/jobs/$xid/jobspec"

err=$(fx submit -n 1000 true 2>&1)
rc=$?
isnt "$rc" 0 "an unsatisfiable job is rejected with a non-zero exit"
like "$err" "rejected: EINVAL" "... and the reason from queue/errors"

# ---- run
is "$(fx run echo hi)" hi "run echo hi prints hi"
fx run echo hi >/dev/null; is $? 0 "run echo hi exits 0"
fx run false; is $? 1 "run false exits 1"
fx run sh -c 'exit 3'; is $? 3 "run sh -c 'exit 3' exits 3"
is "$(fx run sh -c 'echo out; echo err >&2' 2>&1 >/dev/null)" err "run copies stderr to stderr"
is "$(fx run -n 3 sh -c 'echo $FLUX_TASK_RANK' | sort | tr '\n' ' ')" "0 1 2 " "run -n 3 runs 3 tasks"
is "$(fx run -l -n 2 sh -c 'echo a; echo b >&2' 2>&1 | sort | tr '\n' ' ')" "0: a 0: b 1: a 1: b " \
	"run -l labels stdout and stderr lines with the task's rank"
is "$(fx run sh -c 'for i in 1 2 3; do echo $i; sleep 0.2; done' | tr '\n' ' ')" "1 2 3 " "run streams output while the job runs"
fx run -t 0.5s sleep 10 2>/dev/null; is $? 124 "run of a job that times out exits 124"
fx run sh -c 'kill -9 $$'; is $? 137 "run of a killed task exits 128+9"
# a background job of a script ignores SIGINT: restore it as a terminal would
python3 -c 'import os, signal, sys; signal.signal(signal.SIGINT, signal.SIG_DFL); os.execvp(sys.argv[1], sys.argv[1:])' \
	"$FLUXFS" -m "$MNT" run -v sleep 30 > run.out 2> run.err &
rpid=$!
wait_until 10 grep -q jobid: run.err
rid=$(sed -n 's/.*jobid: //p' run.err)
wait_state "$rid" RUN >/dev/null
kill -INT $rpid
wait $rpid; rrc=$?
is "$rrc" 1 "Ctrl-C on run cancels the job and exits 1"
is "$(jobfile "$rid" result)" CANCELED "... the job was canceled"
like "$(cat run.err)" "canceled" "... and says so"
"$FLUXFS" -m "$MNT" run -v sleep 30 2> run.err &
rpid=$!
wait_until 10 grep -q jobid: run.err
wait_state "$(sed -n 's/.*jobid: //p' run.err)" RUN >/dev/null
kill -TERM $rpid
wait $rpid; rrc=$?
is "$rrc" 1 "SIGTERM on run cancels the job too"

# ---- jobs
jobs=$(fx jobs)
like "$jobs" "JOBID +USER +NAME +ST +NTASKS +NNODES +TIME +INFO" "jobs prints the flux jobs header"
like "$jobs" "$id +[^ ]+ +sleep +R +1 +1 " "jobs lists the running job"
unlike "$jobs" "$last" "jobs hides inactive jobs by default"
like "$(fx jobs -a)" "$last .* CD " "jobs -a shows completed ones"
ok "jobs -o json parses" python3 -c '
import json, sys
a = json.loads(sys.stdin.read())
assert isinstance(a, list) and len(a) >= 1
j = [x for x in a if x["id"] == sys.argv[1]][0]
assert j["state"] == "RUN" and j["name"] == "sleep" and j["ntasks"] == 1, j
' "$id" < <(fx jobs -o json)
ncd=$(fx jobs -a --no-header | awk '$4 == "CD"' | wc -l)
is "$(fx jobs -a --state=completed --format='{id}' --no-header | wc -l)" "$ncd" "jobs --state=completed --format={id} lists the CD jobs"
is "$(fx jobs --format='{id} {state} {name}' --no-header)" "$id RUN sleep" "jobs --format with fields"
is "$(fx jobs -a -c 2 -n | wc -l)" 2 "jobs -c 2 -n (Flux's: count, no header) shows two lines"
is "$(fx jobs --json | python3 -c 'import json, sys; print(len(json.load(sys.stdin)))')" \
	"$(fx jobs -o json | python3 -c 'import json, sys; print(len(json.load(sys.stdin)))')" "jobs --json is -o json"
dec=$(python3 -c '
import sys
a = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
n = 0
for c in sys.argv[1][1:]:
    n = n * 58 + a.index(c)
print(n)' "$id")
is "$(fx jobs -n -o '{id.f58} {id.dec} {username} {status_abbrev} {runtime!H}' "$id" | cut -d' ' -f1-4)" \
	"$id $dec $(id -un) R" "jobs -o takes Flux's fields: {id.f58} {id.dec} {username} {status_abbrev}"
done_id=$(fx jobs -a -n -f completed -c 1 -o '{id}')
is "$(fx jobs -n -o '{status}' "$id") $(fx jobs -n -o '{status}' "$done_id")" "RUN COMPLETED" \
	"{status} as Flux's: the state while active, how it ended after (not the two letters)"
like "$(fx jobs -n -o '{runtime!H}|{t_submit!d}' "$id")" '^0:00:[0-9]{2}\|[0-9]{4}-[0-9]{2}-[0-9]{2}T' "... and conversions: !H, !d"
like "$(fx jobs -a --stats -n -o '{id}' | head -1)" '^0 pending, 1 running, [0-9]+ completed, ' "jobs --stats counts what it shows"
is "$(fx jobs --name=sleep -n -o '{id}')" "$id" "jobs --name=sleep"
is "$(fx jobs --since=1h -n -o '{id}' | grep -c "$last")" 1 "jobs --since=1h includes jobs that ended since"
nok "jobs -o with an unknown field fails" fxq jobs -o '{nosuch}'


# ---- kill, cancel, wait
kid=$(fx submit sh -c 'trap "echo got USR1" USR1; trap "echo got TERM; exit 3" TERM; echo up; while :; do sleep 0.05; done')
wait_until 20 grep -q up "$MNT/jobs/$kid/stdout"
ok "kill -s USR1 signals a running job" fx kill -s USR1 "$kid"
wait_until 10 grep -q "got USR1" "$MNT/jobs/$kid/stdout"
ok "kill (TERM by default, --signal=SIGTERM spelled out)" fx kill --signal=SIGTERM "$kid"
is "$(fx wait "$kid"):$(tr '\n' ' ' < "$MNT/jobs/$kid/stdout")" "$kid: FAILED 3:up got USR1 got TERM " \
	"... the job saw both signals, and ended as its task did"
nok "kill of a job that has ended exits 1" fxq kill "$kid"
ok "cancel exits 0" fx cancel "$id"
is "$(fx wait "$id")" "$id: CANCELED" "wait prints the result of a canceled job"
nok "wait exits non-zero for a job that did not complete" fxq wait "$id"
is "$(fx wait "$last")" "$last: COMPLETED 0" "wait prints COMPLETED 0"
ok "wait exits 0 when every job completed" fxq wait "$last" "$nid"
nok "cancel of an inactive job fails" fxq cancel "$id"
nok "cancel of an unknown job fails" fxq cancel fNoSuchJob

# ---- attach
aid=$(fx submit sh -c 'echo early; sleep 0.3; echo late; exit 4')
is "$(fx attach "$aid" | tr '\n' ' ')" "early late " "attach streams the whole output"
fx attach "$aid" >/dev/null; is $? 4 "attach exits with the job's status"

# ---- status, resource list (once every job has ended)
wait_until 10 grep -qx 'cores-free: 20' "$MNT/status" || diag "some job still runs"
st=$(fx status)
like "$st" "cores: +[0-9]+ free of 20" "status shows cores"
like "$st" "nodes: +8" "status shows nodes"
rl=$(fx resource list)
like "$rl" "vm-0 +4 +[0-9]+ +0 +0" "resource list has one line per node"
is "$(echo "$rl" | grep -c '^vm-')" 8 "resource list shows all 8 nodes"
like "$rl" "total +20 +20 " "resource list totals (all free)"

# ---- top
held=$(fx submit --urgency 0 true)   # pending (held), submitted first
tid=$(fx submit -N 2 sleep 30)
wait_state "$tid" RUN >/dev/null
out=$(TERM=xterm timeout 20 script -qc "'$FLUXFS' -m '$MNT' top --iterations 2 -d 0.2" /dev/null </dev/null)
is "$?" 0 "top --iterations 2 renders under script and exits 0"
like "$out" "fluxfs top" "top shows its title"
like "$out" "$tid" "top shows the running job"
like "$out" $'\e\\[\\?1049l' "top restores the terminal"
last=$(echo "$out" | grep -o -e "$tid" -e "$held" | tail -2 | tr '\n' ' ')
is "$last" "$tid $held " "top lists running jobs before pending ones (as flux top)"
fx cancel "$tid" "$held" >/dev/null

# ---- help and usage
fails=
for sub in "" submit run jobs cancel wait attach status "resource list" top; do
	fx $sub --help >/dev/null 2>&1 || fails+=" $sub"
done
is "$fails" "" "every subcommand's --help exits 0"
fails=
for args in "" "bogus" "submit" "submit -n 0 true" "submit -t xyz true" "submit --cc=x true" \
	"run" "run --cc=1-2 true" "jobs --state=nope" "jobs -o {bad" "jobs --format={nope}" \
	"cancel" "wait" "attach" "resource" "resource bogus" "status extra" "top --iterations 0"; do
	fx $args >/dev/null 2>&1
	rc=$?
	[ "$rc" -ne 0 ] || fails+=" [$args]"
done
is "$fails" "" "bad usage exits non-zero"
nok "not a mount: non-zero" timeout 10 "$FLUXFS" -m "$T/nowhere" status 2>/dev/null

# Flux's submit options: --cc sets FLUX_JOB_CC, --bcc does not, --dry-run
# prints jobspecs, --quiet prints nothing, --tasks-per-node, --urgency=hold
is "$(fx submit --dry-run --cc=1-2 echo {cc} | python3 -c '
import json, sys
for l in sys.stdin:
    j = json.loads(l)
    print(j["tasks"][0]["command"][1], j["attributes"]["system"]["environment"]["FLUX_JOB_CC"])')" \
	"1 1
2 2" "submit --dry-run --cc prints one jobspec a copy, {cc} and FLUX_JOB_CC set"
is "$(fx submit --dry-run --bcc=1-2 true | grep -c FLUX_JOB_CC)" 0 "--bcc sets no FLUX_JOB_CC"
is "$(fx submit --quiet true)" "" "submit --quiet prints nothing"
tid=$(fx submit -N 2 --tasks-per-node=2 true)
is "$(fx jobs -n -o '{ntasks} {nnodes}' "$tid")" "4 2" "submit -N 2 --tasks-per-node=2: 4 tasks on 2 nodes"
hid=$(fx submit --urgency=hold true)
is "$(fx jobs -n -o '{urgency}' "$hid")" 0 "submit --urgency=hold holds it"
fx cancel "$hid" >/dev/null

# --output/--error (Flux's templates), and #SBATCH -o/-e with Slurm's patterns:
# files the tasks open as their owner, where they stand
fx submit --wait --output='out.{{id}}' --job-name=nm sh -c 'echo hi; echo oops >&2' > oid.txt
oid=$(head -1 oid.txt)
is "$(cat "$T/out.$oid" 2>&1)" "hi
oops" "submit --output=out.{{id}}: stdout and stderr in the file"
is "$(cat "$MNT/jobs/$oid/stdout")" "" "... and not in the job's stdout"
fx submit --wait --output='o.{{name}}' --error='e.{{user}}' -n 2 --job-name=two sh -c 'echo hi; echo oops >&2' >/dev/null
is "$(cat "$T/o.two") / $(cat "$T/e.$(id -un)")" "hi
hi / oops
oops" "--output and --error apart, {{name}} and {{user}}, every task appending"
printf '#!/bin/sh\n#SBATCH -o slurm-%%j.out\n#SBATCH -e slurm-%%x-%%u.err\n#SBATCH -J myjob\necho out; echo err >&2\n' > sb.sh
sbid=$(submit sb.sh)
wait_job "$sbid" >/dev/null
is "$(cat "$T/slurm-$sbid.out") $(cat "$T/slurm-myjob-$(id -un).err")" "out err" "#SBATCH -o slurm-%j.out and -e with %x %u"
printf '#!/bin/sh\n#SBATCH -n 2 -J sj\necho "$SLURM_JOB_ID $SLURM_NTASKS $SLURM_NNODES $SLURM_JOB_NAME $SLURM_PROCID $SLURM_JOB_NODELIST"\n' > sv.sh
svid=$(submit sv.sh)
wait_job "$svid" >/dev/null
like "$(jobfile "$svid" stdout)" "^$svid 2 1 sj 0 [a-z]" "an sbatch script gets SLURM_JOB_ID, SLURM_NTASKS, SLURM_NNODES, SLURM_JOB_NAME, SLURM_PROCID, SLURM_JOB_NODELIST"
printf '#!/bin/sh\n#SBATCH --export=ALL,T0900_X=exported\necho "$T0900_X"\n' > se.sh
seid=$(submit se.sh)
wait_job "$seid" >/dev/null
is "$(jobfile "$seid" stdout)" exported "#SBATCH --export=ALL,NAME=VALUE sets it for the script"
printf '#!/bin/sh\n#SBATCH --export=T0900_Y\necho x\n' > se2.sh
nok "#SBATCH --export=NAME (the submitter's value) is refused" cp se2.sh "$MNT/queue/"
printf '#!/bin/sh\n#SBATCH -o slurm-%%t.out\necho x\n' > sb2.sh
nok "#SBATCH -o with an unsupported pattern is refused" cp sb2.sh "$MNT/queue/"
like "$(tail -1 "$MNT/queue/errors")" "line 2: -o 'slurm-%t.out': '%t' is not supported" "... naming the line and the pattern"
# saved on Windows: refused at the close, as sbatch refuses it (it ran and
# failed with "/bin/bash\r: not found")
printf '#!/bin/bash\r\n#SBATCH -n 1\r\necho x\r\n' > crlf.sh
nok "a script with DOS line breaks is refused" cp crlf.sh "$MNT/queue/"
like "$(tail -1 "$MNT/queue/errors")" "crlf.sh: EINVAL: line 1: script has DOS line breaks .*dos2unix" "... saying how to convert it"
# its #! line forgotten: not a jobspec either, and the reason says what is missing
printf '#SBATCH -n 1\necho x\n' > noshebang.sh
nok "a script without its #! line is refused" cp noshebang.sh "$MNT/queue/"
like "$(tail -1 "$MNT/queue/errors")" "noshebang.sh: EINVAL: not a batch script: .* does not start with '#!'" "... saying it lacks the #! line"

# jobs --watch: each listed job again as its state changes, until all end
wa=$(fx submit sleep 1); wb=$(fx submit --dependency=afterok:"$wa" true)
out=$(fx jobs --watch -n -o '{id} {state}' "$wa" "$wb")
like "$out" "$wa RUN.*$wa INACTIVE" "jobs --watch: a running job, then its end"
like "$out" "$wb DEPEND.*$wb INACTIVE" "... and one waiting on it, through to its end"
is "$(grep -c "$wb INACTIVE" <<<"$out")" 1 "... each state once"

# --input: each task reads the file, opened as the owner
printf 'l1\nl2\n' > in.txt
iid=$(fx submit --wait --input=in.txt wc -l | head -1)
is "$(jobfile "$iid" stdout)" 2 "submit --input=FILE: the tasks' stdin"
iid=$(fx submit --wait --input=no-such-file cat | head -1)
like "$(jobfile "$iid" stderr)" "--input 'no-such-file': No such file" "a missing --input file is named on stderr"

# --setattr, --setopt, --env-file
is "$(fx submit --dry-run -S foo=3 -S user.tag='"x"' -o cpu-affinity=off true | python3 -c '
import json, sys
a = json.load(sys.stdin)["attributes"]
print(a["system"]["foo"], a["user"]["tag"], a["system"]["shell"]["options"]["cpu-affinity"])')" \
	"3 x off" "submit -S KEY=VAL, -S user.KEY, -o OPT=VAL set the jobspec's attributes"
printf 'FLUXFS_T0900_A=one\n# a comment\n-FLUXFS_T0900_B*\n' > envf
eid=$(FLUXFS_T0900_BB=gone fx submit --wait --env-file=envf sh -c 'echo "$FLUXFS_T0900_A ${FLUXFS_T0900_BB-removed}"')
is "$(jobfile "$(head -1 <<<"$eid")" stdout)" "one removed" "submit --env-file applies its rules in order"

# submit --wait and --watch (as flux submit's)
out=$(timeout 30 "$FLUXFS" -m "$MNT" submit --wait sh -c 'exit 3')
is "$? $(echo "$out" | grep -c '^f')" "3 1" "submit --wait prints the id and exits with the job's status"
out=$(timeout 30 "$FLUXFS" -m "$MNT" submit --watch --cc=1-2 echo hi-{cc})
is "$? $(echo "$out" | grep -c '^f') $(echo "$out" | grep -c '^hi-[12]$')" "0 2 2" \
	"submit --watch prints the ids, then each job's output"

# batch, as flux batch: the script runs with an instance of its own
cat > batch.sh <<'EOS'
#!/bin/bash
# flux: -t 5m
echo "mount=$FLUXFS_MOUNT"
grep '^cores:' "$FLUXFS_MOUNT/status"
echo "args=$*"
"$FX" run -n 2 echo inner
EOS
bid=$(timeout 30 "$FLUXFS" -m "$MNT" batch -n 2 --env FX="$FLUXFS" batch.sh "a b" c)
like "$bid" "^f" "batch prints the job's id"
is "$(timeout 60 cat "$MNT/jobs/$bid/wait")" "COMPLETED 0" "the batch job completes"
out=$(cat "$MNT/jobs/$bid/stdout")
like "$out" "mount=$MNT/jobs/$bid/batch" "in it, FLUXFS_MOUNT is the allocation's own instance"
like "$out" "cores: 2" "which has the allocation's 2 cores (-n 2 added to the script's directives)"
like "$out" "args=a b c" "the script gets its arguments"
is "$(echo "$out" | grep -c '^inner$')" 2 "fluxfs run in the script runs there"
nok "batch refuses a script without #!" timeout 10 "$FLUXFS" -m "$MNT" batch /dev/null 2>/dev/null
for sub in batch alloc; do
	out=$(timeout 10 "$FLUXFS" -m "$MNT" $sub --help 2>&1)
	is "$? $(echo "$out" | head -1)" "0 Usage: fluxfs $sub [OPTIONS] $( [ $sub = batch ] && echo 'SCRIPT [ARGS...]' || echo '[COMMAND [ARGS...]]')" "$sub --help prints its usage and exits 0, nothing else"
done

# alloc, as flux alloc: a command runs here with an instance of the allocation
out=$(timeout 60 "$FLUXFS" -m "$MNT" alloc -n 2 sh -c 'grep "^cores:" "$FLUXFS_MOUNT/status"; "$1" run -n 2 echo in; exit 3' _ "$FLUXFS" 2>/dev/null)
is "$? $(echo "$out" | tr '\n' ' ')" "3 cores: 2 in in " "alloc -n 2: the command sees the allocation's 2 cores, runs there, its status is alloc's"
aid=$(fx jobs -a -n -c 1 --name=alloc -o '{id}')
is "$(timeout 20 cat "$MNT/jobs/$aid/wait")" "FAILED 1" "its job is released when the command exits, and ends FAILED as it did (not CANCELED)"
timeout 60 "$FLUXFS" -m "$MNT" alloc -n 1 true 2>/dev/null
aid=$(fx jobs -a -n -c 1 --name=alloc -o '{id}')
is "$(timeout 20 cat "$MNT/jobs/$aid/wait")" "COMPLETED 0" "... COMPLETED when the command succeeded, even at once"
timeout 60 "$FLUXFS" -m "$MNT" alloc -n 1 nosuchcommand 2>/dev/null; rc=$?
aid=$(fx jobs -a -n -c 1 --name=alloc -o '{id}')
is "$rc $(cat "$MNT/jobs/$aid/state")" "127 INACTIVE" "alloc returns once its job has ended (127: no such command)"
# a TERM (or a hangup: a closed ssh session) while the command runs is
# passed on to it, and the allocation is released
timeout --preserve-status -s TERM 3 "$FLUXFS" -m "$MNT" alloc -n 1 sleep 100 2>/dev/null; rc=$?
aid=$(fx jobs -a -n -c 1 --name=alloc -o '{id}')
is "$rc $(timeout 20 cat "$MNT/jobs/$aid/wait")" "143 FAILED 1" "alloc sent TERM: the command gets it, the allocation is released"
# a ^C the terminal sends to the whole group (alloc and its command): the
# command decides; alloc exits with the command's status all the same
setsid "$FLUXFS" -m "$MNT" alloc -n 1 sh -c 'trap "" INT; kill -INT 0; sleep 0.2; exit 5' 2>/dev/null; rc=$?
aid=$(fx jobs -a -n -c 1 --name=alloc -o '{id}')
is "$rc $(cat "$MNT/jobs/$aid/state")" "5 INACTIVE" "a ^C to alloc's group that its command ignores: alloc exits with the command's 5"
# an interrupt while the allocation waits for resources cancels it
hold=$(fx submit -n 20 sleep 300)
wait_until 20 eval '[ "$(cat "$MNT/jobs/$hold/state")" = RUN ]' >/dev/null
timeout --preserve-status -s INT 3 "$FLUXFS" -m "$MNT" alloc -n 1 true 2>/dev/null; rc=$?
aid=$(fx jobs -a -n -c 1 --name=alloc -o '{id}')
is "$rc $(timeout 20 cat "$MNT/jobs/$aid/wait")" "130 CANCELED" "alloc interrupted while pending: its job is canceled, not left to run with nobody in it"
fx cancel "$hold" >/dev/null
timeout 20 cat "$MNT/jobs/$hold/wait" >/dev/null

# docs in step: every long option a tool's --help lists is in its man page
missing=
for o in $("$FLUXFSD" --help | grep -o -- '--[a-z][a-z-]*' | sort -u); do
	grep -q -- "$(echo "$o" | sed 's/-/\\\\-/g')" "$REPO/doc/fluxfsd.8" || missing+=" fluxfsd$o"
done
for sub in "" submit run batch alloc jobs cancel wait attach status "resource list" top keygen account; do
	for o in $(fx $sub --help 2>&1 | grep -o -- '--[a-z][a-z-]*' | sort -u); do
		grep -q -- "$(echo "$o" | sed 's/-/\\\\-/g')" "$REPO/doc/fluxfs.1" || missing+=" fluxfs${sub:+ $sub}$o"
	done
done
is "$missing" "" "every long option in --help is in the man page (fluxfsd.8, fluxfs.1)"
like "$(head -5 "$REPO/doc/fluxfs-tree.7")" "tree version $(status_field tree-version)" \
	"fluxfs-tree(7) states the tree version the daemon reports"

# job ids in RFC 19's other spellings: decimal, hex, dothex
id=$(timeout 30 "$FLUXFS" -m "$MNT" submit true)
dec=$(python3 -c 'import sys
a = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
v = 0
for c in sys.argv[1][1:]: v = v * 58 + a.index(c)
print(v)' "$id")
is "$(timeout 30 "$FLUXFS" -m "$MNT" wait "$dec")" "$id: COMPLETED 0" "fluxfs wait takes a decimal id"
hex=$(printf '0x%x' "$dec")
dothex=$(printf '%016x' "$dec" | sed 's/\(....\)\(....\)\(....\)\(....\)/\1.\2.\3.\4/')
is "$(timeout 30 "$FLUXFS" -m "$MNT" wait "$hex" "$dothex")" "$id: COMPLETED 0
$id: COMPLETED 0" "and hex and dothex ids"
dep=$(timeout 30 "$FLUXFS" -m "$MNT" submit --dependency=afterok:"$hex" true)
is "$(timeout 30 "$FLUXFS" -m "$MNT" wait "$dep")" "$dep: COMPLETED 0" "so does --dependency"

ok "unmount" fluxfs_stop
