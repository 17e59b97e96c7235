#!/bin/bash
# joblist (doc/tree.md "joblist"): every job in jobs/, a JSON line each, as
# flux jobs lists it; one read for what jobs/<id>/ gives in five a job. Its
# lines agree with each job's own files, however it is read (cat, small
# reads, a pread far ahead), through a restart, and fluxfs jobs uses it.
. "$(dirname "$0")/lib.sh"
plan 25

fluxfs_start || bail_out "cannot mount"
FX=$(dirname "$FLUXFSD")/../tools/fluxfs
fx() { timeout 30 "$FX" -m "$MNT" "$@"; }
like "$(ls "$MNT")" "joblist" "the root lists joblist"
is "$(stat -c '%a %s' "$MNT/joblist")" "444 0" "read-only for everyone, size 0 (made when read)"
nok "nobody writes it" sh -c "echo x > '$MNT/joblist'" 2>/dev/null
is "$(cat "$MNT/joblist")" "" "no jobs: empty"

# one job of each kind of end, and some that have not ended
mkjob 'echo hi' > ok.yaml; mkjob 'exit 3' > bad.yaml; mkjob 'sleep 300' 2 600 > run.yaml
ok_id=$(submit ok.yaml) && wait_job "$ok_id" >/dev/null
bad_id=$(submit bad.yaml) && wait_job "$bad_id" >/dev/null
run_id=$(submit run.yaml)
held_id=$(fx submit --urgency=0 --job-name=later -n 1 true)
can_id=$(fx submit --urgency=0 true) && fx cancel "$can_id" >/dev/null
cat > script.sh <<'EOF'
#!/bin/bash
#SBATCH -J nightly -n 1
true
EOF
batch_id=$(submit script.sh) && wait_job "$batch_id" >/dev/null
wait_state "$run_id" RUN >/dev/null

# field FIELD ID: the job's FIELD in joblist, as Python prints it
field() { python3 -c 'import json, sys
for l in open(sys.argv[1]):
    o = json.loads(l)
    if o["id"] == sys.argv[2]: print(o[sys.argv[3]])' "$MNT/joblist" "$2" "$1"; }
is "$(python3 -c 'import json, sys
keys = None
for l in open(sys.argv[1]):
    k = tuple(json.loads(l))
    if keys not in (None, k): print("differ", k); break
    keys = k
print(" ".join(keys))' "$MNT/joblist")" \
	"id userid state result name queue bank urgency priority ntasks nnodes ncores duration t_submit t_run t_cleanup t_inactive status nodelist exception" \
	"every line is a JSON object with the same keys"
is "$(python3 -c 'import json, sys; print(" ".join(sorted(json.loads(l)["id"] for l in open(sys.argv[1]))))' "$MNT/joblist")" \
	"$(ls "$MNT/jobs" | sort | tr '\n' ' ' | sed 's/ $//')" "one line for each job in jobs/"
agree=0
for id in $(ls "$MNT/jobs"); do
	[ "$(field state "$id")" = "$(cat "$MNT/jobs/$id/state")" ] || agree=1
	r=$(cat "$MNT/jobs/$id/result"); [ "$(field result "$id")" = "${r:-None}" ] || agree=1
done
is "$agree" 0 "each job's state and result are those of its own files"
is "$(field result "$ok_id") $(field status "$ok_id") $(field name "$ok_id") $(field nodelist "$ok_id")" \
	"COMPLETED 0 0 sh $(hostname)" "a completed job: result, status, name (its command), nodes"
is "$(python3 -c 'import json, sys
for l in open(sys.argv[1]):
    o = json.loads(l)
    if o["id"] == sys.argv[2]:
        print(0 < o["t_submit"] <= o["t_run"] <= o["t_cleanup"] <= o["t_inactive"])' "$MNT/joblist" "$ok_id")" \
	True "... its times in order"
is "$(field result "$bad_id") $(field status "$bad_id")" "FAILED 3 3" "a failed job: its exit code"
is "$(field state "$run_id") $(field ncores "$run_id") $(field result "$run_id") $(field t_inactive "$run_id")" \
	"RUN 2 None 0.0" "a running job: the cores it holds, no end yet"
is "$(field state "$held_id") $(field urgency "$held_id") $(field name "$held_id") $(field nodelist "$held_id")" \
	"SCHED 0 later None" "a held job: urgency 0, its --job-name, no nodes"
is "$(field result "$can_id")" "CANCELED" "a canceled job"
like "$(field exception "$can_id")" "^cancel" "... and the exception that ended it"
is "$(field name "$batch_id")" "nightly" "a batch script: the name its #SBATCH -J gives"
is "$(field userid "$ok_id")" "$(id -u)" "the submitter's uid"
noname_id=$(fx submit --job-name= /bin/true)
is "$(field name "$noname_id")" "true" "an empty job name: the command's base name"

# fluxfs jobs reads it: the same jobs, the same columns
is "$(fx jobs -a -n | wc -l)" "$(ls "$MNT/jobs" | wc -l)" "fluxfs jobs -a lists every job"
like "$(fx jobs -a | grep "$held_id")" "later +S +1 .*held" "... a held one with its name"

# many jobs: built as the reads come, the same bytes however it is read
fx submit --quiet --cc=1-1500 true
fx cancel "$held_id" >/dev/null; fx cancel "$run_id" >/dev/null
wait_until 120 sh -c "[ \$(grep -vc '\"state\":\"INACTIVE\"' '$MNT/joblist') -eq 0 ]" >/dev/null
cat "$MNT/joblist" > full
is "$(wc -l < full)" "$(ls "$MNT/jobs" | wc -l)" "1,500 more jobs: a line each"
cmp_ok=$(dd if="$MNT/joblist" bs=97 2>/dev/null | cmp - full >/dev/null && echo same)
is "$cmp_ok" same "read 97 bytes at a time: the same bytes as one cat"
off=$(( $(wc -c < full) * 3 / 4 ))
is "$(python3 -c 'import os, sys
fd = os.open(sys.argv[1], os.O_RDONLY)
print(os.pread(fd, 64, int(sys.argv[2])).decode())' "$MNT/joblist" "$off")" \
	"$(python3 -c 'import sys; print(open(sys.argv[1], "rb").read()[int(sys.argv[2]):][:64].decode())' full "$off")" \
	"a pread three quarters in, first thing after open: the bytes cat has there"
is "$(python3 -c 'import os, sys
fd = os.open(sys.argv[1], os.O_RDONLY)
os.read(fd, 100000); os.pread(fd, 10, int(sys.argv[2]))
os.lseek(fd, 0, 0)
data = b""
while True:
    b = os.read(fd, 65536)
    if not b: break
    data += b
print(data == open(sys.argv[3], "rb").read(), os.pread(fd, 5, 0) == data[:5])' "$MNT/joblist" "$off" full)" \
	"True True" "read on, then seek back to 0 (less, a second pass): the same bytes again"

# a restart: the ended jobs' lines built again from the store are the same
fluxfs_stop
fluxfs_start || bail_out "cannot restart"
cat "$MNT/joblist" > after
is "$(diff full after | wc -l)" 0 "after a restart every ended job's line is the same"
is "$(stat -c %s after)" "$(stat -c %s full)" "... and so is the whole"
