#!/bin/bash
# The broker and its helper run above the jobs' tasks (fluxfsd --nice,
# doc/tree.md "Daemon"): by default 5 steps of nice below the one they were
# started with, where the kernel allows it (root); every task, whichever
# way it is started (the helper for another user, the broker's own launcher
# under --user root, a nested instance), gets back the nice the instance
# was started with. --nice N asks for N, and a daemon that may not have it
# says so and does not start.
. "$(dirname "$0")/lib.sh"
plan 18

[ "$(id -u)" = 0 ] || { for i in $(seq 18); do skip "needs root"; done; exit 0; }
u=fluxfs-t0107
test_user "$u"
as_user() { setpriv --reuid="$u" --regid=nogroup --init-groups "$@"; }
# the nice of every thread of a process, once each
nices() { for t in /proc/"$1"/task/*/stat; do sed 's/.*) //' "$t" | cut -d' ' -f17; done | sort -u | tr '\n' ' '; }
imp_of() { ps -o pid=,comm= --ppid "$1" | awk '$2 == "fluxfs-imp" { print $1 }'; }
mkjob 'ps -o ni= -p $$ | tr -d " "' > ni.yaml
chmod 644 ni.yaml
# the nice a job's task ran at (submitted as the test user, or root)
task_nice() {
	local id
	if [ "${1:-}" = user ]; then
		ls "$MNT/jobs" | sort > "$T/before"
		as_user cp ni.yaml "$MNT/queue/" || return 1
		id=$(ls "$MNT/jobs" | sort | comm -13 "$T/before" - | head -1)
	else
		id=$(submit ni.yaml) || return 1
	fi
	[ "$(wait_job "$id")" = "COMPLETED 0" ] && jobfile "$id" stdout
}

# a system instance: the broker (all its threads) and its helper at -5
fluxfs_start || bail_out "cannot mount"
is "$(nices "$FLUXFS_PID")" "-5 " "a system instance's broker runs at nice -5, every thread"
imp=$(imp_of "$FLUXFS_PID")
is "$(nices "$imp")" "-5 " "... and its helper fluxfs-imp"
is "$(task_nice user)" 0 "a user's task (started by the helper) runs at 0"
is "$(task_nice)" 0 "root's too"
fluxfs_stop

# started under nice 4: the broker at -1, the tasks at 4
printf '#!/bin/sh\nexec nice -n 4 %q "$@"\n' "$FLUXFSD" > nice4
chmod +x nice4
FLUXFSD=$T/nice4 fluxfs_start || bail_out "cannot mount under nice"
is "$(nices "$FLUXFS_PID")" "-1 " "started at nice 4: the broker goes 5 lower"
is "$(task_nice user)" 4 "... and its tasks keep 4"
fluxfs_stop

# -o nice=2 (as in fstab): the broker above what it was started with
fluxfs_start -o nice=2 || bail_out "cannot mount with nice=2"
is "$(nices "$FLUXFS_PID") $(nices "$(imp_of "$FLUXFS_PID")")" "2  2 " "-o nice=2: broker and helper at 2"
is "$(task_nice user)" 0 "... the tasks at 0"
fluxfs_stop

# --user root: no helper; the broker's own launcher starts the tasks, and
# a nested instance's broker (root's job's, forked by the broker)
fluxfs_start --user root || bail_out "cannot mount as root"
is "$(nices "$FLUXFS_PID")" "-5 " "--user root: the broker at -5"
is "$(task_nice)" 0 "... its launcher's task at 0"
mkjob 'sleep 300' 1 600 > hold.yaml
P=$(submit hold.yaml)
ok "a job to nest in runs" wait_state "$P" RUN
E=$MNT/jobs/$P/ens
ok "mkdir makes a nested instance" timeout 30 mkdir "$E"
child=$(pgrep -f "fluxfsd -f --state $STATE/nested/$P/ens/state " | head -1)
is "$(nices "$child")" "-5 " "the nested broker (root's) is 5 below its task nice, 0"
id=$(timeout 10 bash -c 'exec 3<>"$1/queue/new" && cat ni.yaml >&3 && read -r id <&3 && echo "$id"' _ "$E")
is "$(timeout 30 cat "$E/jobs/$id/wait"):$(timeout 5 cat "$E/jobs/$id/stdout")" "COMPLETED 0:0" \
	"a task of the nested instance runs at 0"
fluxfs_stop

# a daemon that may not go below its start: --nice -5 as a user fails
mkdir -p "$T/ustate" "$T/umnt"
chown "$u" "$T/ustate" "$T/umnt"
err=$(as_user "$FLUXFSD" -f --nice -5 --state "$T/ustate" "$T/umnt" 2>&1)
rc=$?
is "$rc" 1 "--nice -5 as a user: fluxfsd exits 1"
like "$err" "--nice -5: Permission denied .*needs root or RLIMIT_NICE" "... saying why"
# above its start: its tasks could not come back down (RLIMIT_NICE 0)
err=$(as_user prlimit --nice=0 "$FLUXFSD" -f --nice 3 --state "$T/ustate" "$T/umnt" 2>&1)
rc=$?
is "$rc" 1 "--nice 3 as a user, RLIMIT_NICE 0: fluxfsd exits 1"
like "$err" "--nice 3: the tasks could not come back to our nice 0" "... saying why"
