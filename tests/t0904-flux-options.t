#!/bin/bash
# Flux's per-resource options (--cores, --tasks-per-node, --gpus-per-node),
# --requires (RFC 35 queries as RFC 31 constraints, kept by the matcher) and
# --signal (a warning before the time limit).
. "$(dirname "$0")/lib.sh"
FLUXFS=${FLUXFS_CLI:-$(dirname "$FLUXFSD")/../tools/fluxfs}
plan 32
fx() { timeout 30 "$FLUXFS" -m "$MNT" "$@"; }

cat > R.json <<'JSON'
{"version": 1, "execution": {
  "R_lite": [{"rank": "0-3", "children": {"core": "0-1"}}],
  "nodelist": ["node[0-3]"],
  "properties": {"bigmem": "2-3", "gpu": "3"}}}
JSON
ok "daemon mounts 4 nodes, bigmem on 2-3" fluxfs_start --resources R.json

# --cores is the total, as Flux: a task a core, or a task a node with -N
is "$(fx run --cores=4 sh -c 'echo $FLUX_TASK_RANK' | sort | tr '\n' ' ')" "0 1 2 3 " \
	"run --cores=4: four tasks"
id=$(fx submit --wait -N 2 --cores=4 true | head -1)
is "$(fx jobs -n -o '{ntasks} {nnodes} {ncores}' "$id")" "2 2 4" "-N 2 --cores=4: a task on each of 2 nodes, 4 cores"
id=$(fx submit --wait -N 2 --cores=4 --tasks-per-node=2 true | head -1)
is "$(fx jobs -n -o '{ntasks} {nnodes} {ncores}' "$id")" "4 2 4" "... with --tasks-per-node=2: two tasks a node"
like "$(fx submit --dry-run -N 2 --gpus-per-node=2 true)" '"type":"node","count":2,.*"type":"gpu","count":2.*"exclusive":true' \
	"-N 2 --gpus-per-node=2: two gpus in each node's slot, whole nodes"
nok "--cores with -n is refused, as Flux" fx submit --cores=2 -n 2 true 2>/dev/null
like "$(fx submit -N 2 --cores=3 true 2>&1)" "must be a multiple of --nodes" "--cores not a multiple of -N is refused"

# --requires
nodes() { fx jobs -n -o '{nodelist}' "$1"; }
id=$(fx submit --wait -N 2 --requires=bigmem true | head -1)
is "$(nodes "$id")" "node[2-3]" "--requires=bigmem: the bigmem nodes"
id=$(fx submit --wait --requires=host:node1 true | head -1)
is "$(nodes "$id")" "node1" "--requires=host:node1"
id=$(fx submit --wait -N 2 --requires=-bigmem true | head -1)
is "$(nodes "$id")" "node[0-1]" "--requires=-bigmem: the others"
id=$(fx submit --wait -N 2 --requires='rank:0 or rank:3' true | head -1)
is "$(nodes "$id")" "node[0,3]" "--requires='rank:0 or rank:3'"
id=$(fx submit --wait -N 1 --requires='bigmem not gpu' true | head -1)
is "$(nodes "$id")" "node2" "--requires='bigmem not gpu'"
out=$(fx submit -N 2 --requires=host:node1 true 2>&1)
like "$out" "constraints \(--requires\) leave 1 node" "more nodes than the constraint leaves: refused, saying so"
is "$(status_field sched)" 0 "... and nothing was queued"
# a constrained job waits for its nodes while another runs elsewhere
busy=$(fx submit -N 1 --requires=gpu -x sleep 30)
wait_state "$busy" RUN >/dev/null
waiter=$(fx submit --requires=gpu true)
free=$(fx submit --wait true | head -1)
is "$(fx jobs -n -o '{state} {result}' "$waiter" "$free")" "SCHED 
INACTIVE COMPLETED 0" "a job for the busy gpu node waits; one that may go elsewhere runs" ||
	diag "$(jobfile "$busy" eventlog)"
fx cancel "$busy" >/dev/null
is "$(timeout 20 cat "$MNT/jobs/$waiter/wait")" "COMPLETED 0" "... and runs when the node frees"

# --signal: the tasks hear it before the time limit, and may end cleanly
id=$(fx submit -t 4s --signal=USR1@3 sh -c 'trap "echo warned; exit 0" USR1; sleep 20 & wait')
is "$(timeout 20 cat "$MNT/jobs/$id/wait")" "COMPLETED 0" "--signal=USR1@3 with -t 4s: the job ends on the warning, not the limit"
is "$(jobfile "$id" stdout)" "warned" "... which its trap saw"
like "$(fx submit --dry-run --signal=SIGTERM@2m true)" '"signal":\{"signum":15,"timeleft":120' \
	"--signal=SIGTERM@2m is shell option signal {signum 15, timeleft 120}"

# jobs --sort, as flux jobs: fields, '-' reverses, numbers as numbers
a=$(fx submit --wait -n 3 --job-name=bb true | head -1)
b=$(fx submit --wait -N 1 --tasks-per-node=10 --job-name=aa true | head -1)
c=$(fx submit --wait -n 2 --job-name=cc true | head -1)
is "$(fx jobs -a -n --sort=-ntasks -o '{name}' "$a" "$b" "$c" | tr '\n' ' ')" "aa bb cc " \
	"--sort=-ntasks: 10 before 3 before 2 (numbers, not text)"
is "$(fx jobs -a -n --sort=name -o '{name}' "$a" "$b" "$c" | tr '\n' ' ')" "aa bb cc " "--sort=name"
is "$(fx jobs -a -n --sort=t_submit -c 2 -o '{name}' --name=bb)" "bb" "--sort with --count and a filter"
like "$(fx jobs --sort=bogus 2>&1)" "--sort: unknown field 'bogus'" "an unknown --sort field is named"

# fluxfs batch takes them too, as one more '# flux:' line: it wins, but
# --requires adds to the script's (both hold, as Flux appends them)
first=$(fx submit sleep 2)
printf '#!/bin/sh\n# flux: --requires=bigmem\nhostname >/dev/null; echo "ran"\n' > b.sh
bid=$(fx batch --dependency=afterok:"$first" --requires=gpu --output=b.out b.sh)
is "$(job_state "$bid")" DEPEND "batch --dependency=afterok: waits in DEPEND"
is "$(timeout 60 cat "$MNT/jobs/$bid/wait")" "COMPLETED 0" "... then runs"
is "$(fx jobs -n -o '{nodelist}' "$bid") $(cat b.out 2>&1)" "node3 ran" \
	"batch --requires=gpu holds with the script's own --requires=bigmem (node3), --output writes the file"
# fluxfs batch names the job after its script and carries our environment,
# as flux batch does (a script's own -J and --env would win)
printf '#!/bin/sh\necho "var=$T0904_VAR"\n' > carry.sh
cid=$(T0904_VAR=carried fx batch carry.sh)
is "$(timeout 60 cat "$MNT/jobs/$cid/wait") $(jobfile "$cid" stdout)" "COMPLETED 0 var=carried" \
	"fluxfs batch carries the submitter's environment"
is "$(fx jobs -n -o '{name}' "$cid")" carry.sh "... and names the job after the script"
# Flux's returncode, success and waitstatus fields
r3=$(fx submit sh -c 'exit 3'); fx wait "$r3" >/dev/null 2>&1
is "$(fx jobs -n -o '{returncode} {success} {waitstatus}' "$r3")" "3 False 768" \
	"returncode, success and waitstatus of a job that exited 3"
rk=$(fx submit sleep 300); wait_state "$rk" RUN 20
is "$(fx jobs -n -o '[{returncode}][{success}]' "$rk")" "[][]" "... empty while it runs"
fx cancel "$rk"; fx wait "$rk" >/dev/null 2>&1
is "$(fx jobs -n -o '{returncode}' "$rk")" 143 "a job canceled while running: 128 + SIGTERM"
rp=$(fx submit --urgency=0 true); fx cancel "$rp"; fx wait "$rp" >/dev/null 2>&1
is "$(fx jobs -n -o '{returncode} {success}' "$rp")" "-128 False" "a job canceled before it ran: -128, as Flux's"
