#!/bin/bash
# Parsers are bounded by the bytes they make, not only by node counts: a
# jobspec whose aliases expand past the limit ("billion laughs") is refused
# with EINVAL and a reason naming the limit, and the daemon's memory does
# not grow by what the expansion would have been.
. "$(dirname "$0")/lib.sh"
plan 17

fluxfs_start || bail_out "cannot mount"
lasterr() { timeout 5 cat "$MNT/queue/errors" | tail -1; }
njobs() { ls "$MNT/jobs" | wc -l; }
pid=$(daemon_pid "--state $STATE") || bail_out "no daemon for $STATE"
is "$(cat "/proc/$pid/comm")" fluxfsd "the daemon's pid is $pid"
rss_kb() { awk '$1 == "RssAnon:" { print $2 }' "/proc/$pid/status"; }

# bomb SCALAR LEVELS: a valid jobspec whose attributes.user holds a scalar
# of SCALAR bytes, then LEVELS lists of ten aliases to the level below
bomb() {
	mkjob true | sed '/^attributes:/,$d'
	python3 - "$1" "$2" <<'PY'
import sys
scalar, levels = int(sys.argv[1]), int(sys.argv[2])
print("attributes:\n  system:\n    duration: 60\n  user:")
print('    l0: &l0 "%s"' % ("x" * scalar))
for l in range(1, levels + 1):
    print("    l%d: &l%d [%s]" % (l, l, ", ".join(["*l%d" % (l - 1)] * 10)))
PY
}
bomb 8000 9 > laughs10k.yaml       # ~10 KB, 8e12 bytes expanded
bomb 490000 12 > laughs500k.yaml   # ~500 KB
{ mkjob true; echo ---; cat laughs10k.yaml; echo ---; mkjob true; } > stream.yaml
ok "the small bomb is about 10 KB" test "$(stat -c %s laughs10k.yaml)" -lt 12000
ok "the large bomb is about 500 KB" test "$(stat -c %s laughs500k.yaml)" -gt 400000

rss0=$(rss_kb)
nok "cp of a 10 KB alias bomb fails" timeout 30 cp laughs10k.yaml "$MNT/queue/" 2>cp.err
like "$(cat cp.err)" "Invalid argument" "with EINVAL"
like "$(lasterr)" "laughs10k\.yaml: EINVAL: line [0-9]+ column [0-9]+: too large once expanded: alias 'l0' .*aliases may add at most 8 times the document's [0-9]+ bytes" \
	"queue/errors names the limit on alias copies"
nok "cp of a 500 KB alias bomb fails" timeout 30 cp laughs500k.yaml "$MNT/queue/" 2>cp.err
like "$(cat cp.err)" "Invalid argument" "with EINVAL"
like "$(lasterr)" "laughs500k\.yaml: EINVAL: .*too large once expanded: .*at most 8 times" \
	"queue/errors names the limit"
nok "a bulk submission carrying a bomb fails" timeout 30 cp stream.yaml "$MNT/queue/" 2>/dev/null
like "$(lasterr)" "stream\.yaml: EINVAL: job 2 of 3: line [0-9]+ column [0-9]+: too large once expanded" \
	"queue/errors names the job and the limit"
is "$(njobs)" 0 "no job was created"
rss1=$(rss_kb)
diag "daemon RssAnon: ${rss0} kB before, ${rss1} kB after the bombs"
ok "the daemon's RssAnon grew by less than 64 MB (${rss0} -> ${rss1} kB)" \
	test $((rss1 - rss0)) -lt 65536
ok "the daemon is still there" kill -0 "$pid"

# anchors used as meant are still fine
mkjob true | sed '/^attributes:/,$d' > aliases.yaml
cat >> aliases.yaml <<'Y'
attributes:
  system: &sys
    duration: 60
  user:
    env: &env {A: "1", B: "2"}
    again: *env
    sys: *sys
Y
ok "cp of a jobspec with a few aliases succeeds" timeout 10 cp aliases.yaml "$MNT/queue/"
is "$(njobs)" 1 "it is a job"
id=$(ls "$MNT/jobs")
is "$(wait_job "$id")" "COMPLETED 0" "and it runs"
