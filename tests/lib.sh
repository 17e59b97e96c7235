# tests/lib.sh: sourced by every tests/tNNNN-*.t script.
#
# Gives: TAP helpers (plan ok nok is isnt like unlike diag skip done_testing
# bail_out), a private temp dir $T (the test's cwd), and a daemon harness:
# fluxfs_start [ARGS]  mount $MNT with state $STATE (extra daemon ARGS)
# fluxfs_stop          unmount cleanly and wait for the daemon to exit
# fluxfs_kill9         kill -9 the daemon and detach the dead mount
# submit FILE          submit through queue/new, print the job id
# wait_state ID STATE [SECS]   poll jobs/ID/state until it reads STATE
# wait_job ID [SECS]   read jobs/ID/wait (bounded), print the result line
# mkjob CMD [CORES] [DURATION] [TASKS]   print a V1 jobspec running sh -c CMD
# An EXIT trap always unmounts, kills daemons and job processes and removes
# $T, even when the test fails or is interrupted.
# at_cleanup CMD [ARGS...]  run CMD in that trap too, after the daemons are
#                      gone and before $T is removed (e.g. umount a tmpfs)

set -u
shopt -s nullglob

TEST_NAME=$(basename "$0")
SRCDIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$SRCDIR/.." && pwd)
FLUXFSD=${FLUXFSD:-$REPO/build/fsd/fluxfsd}
SHARED=${FLUXFS_SHARED:-$REPO/../shared}
CONFORMANCE=$SHARED/conformance
FIXTURES=$SRCDIR/fixtures

T=$(mktemp -d /tmp/fluxfs-test.XXXXXX) || { echo "Bail out! mktemp failed"; exit 1; }
# a root-started broker runs as the fluxfs user: its state directory must be
# reachable by it, as /var/lib/fluxfs is
chmod 755 "$T"
# tell run-tests.sh, which cleans up after a test that was killed
[ -n "${FLUXFS_TEST_DIRS:-}" ] && echo "$T" >> "$FLUXFS_TEST_DIRS"
MNT=$T/mnt
STATE=$T/state
DAEMON_LOG=$T/daemon.log
FLUXFS_PID=
_all_pids=()
cd "$T" || exit 1

# ---------------------------------------------------------------- TAP
_tap_n=0
_tap_fail=0
_tap_plan=

plan() { _tap_plan=$1; echo "1..$1"; }
diag() { local l; while IFS= read -r l; do echo "# $l"; done <<<"$*"; }

# Set TODO="why" around assertions that fail because of a known daemon bug:
# they print "# TODO why" and do not count as failures.
TODO=
_tap_result() {            # _tap_result RC DESC
	_tap_n=$((_tap_n + 1))
	local todo=${TODO:+ # TODO $TODO}
	if [ "$1" -eq 0 ]; then
		echo "ok $_tap_n - $2$todo"
	else
		echo "not ok $_tap_n - $2$todo"
		[ -z "$TODO" ] && _tap_fail=$((_tap_fail + 1))
		local c=${BASH_LINENO[1]:-?}
		diag "  failed at $TEST_NAME line $c"
	fi
	return "$1"
}
# ok DESC CMD [ARGS...]: pass when CMD exits 0
ok() { local d=$1; shift; "$@"; _tap_result $? "$d"; }
# nok DESC CMD [ARGS...]: pass when CMD exits non-zero
nok() { local d=$1; shift; if "$@"; then _tap_result 1 "$d"; else _tap_result 0 "$d"; fi; }
# is GOT EXPECTED DESC
is() {
	if [ "$1" = "$2" ]; then _tap_result 0 "$3"; else
		_tap_result 1 "$3"; diag "       got: '$1'" "  expected: '$2'"; return 1; fi
}
isnt() {
	if [ "$1" != "$2" ]; then _tap_result 0 "$3"; else
		_tap_result 1 "$3"; diag "  got '$1', expected anything else"; return 1; fi
}
# like GOT ERE DESC
like() {
	if [[ $1 =~ $2 ]]; then _tap_result 0 "$3"; else
		_tap_result 1 "$3"; diag "  '$1'" "  doesn't match /$2/"; return 1; fi
}
unlike() {
	if [[ ! $1 =~ $2 ]]; then _tap_result 0 "$3"; else
		_tap_result 1 "$3"; diag "  '$1'" "  matches /$2/"; return 1; fi
}
skip() { _tap_n=$((_tap_n + 1)); echo "ok $_tap_n # skip $1"; }
done_testing() { [ -n "$_tap_plan" ] || { _tap_plan=$_tap_n; echo "1..$_tap_n"; }; }
bail_out() { echo "Bail out! $*"; exit 255; }

# ---------------------------------------------------------------- cleanup
_cleanup_cmds=()
at_cleanup() { _cleanup_cmds+=("$(printf '%q ' "$@")"); }
# test_user NAME [GROUP]: a throwaway login (primary group nogroup, home
# /var/empty/NAME less a "fluxfs-" prefix; made anew, removed at the end), in GROUP as well when
# given (made too); bails out if it cannot be made. Root only.
test_user() {
	userdel "$1" 2>/dev/null
	[ -n "${2:-}" ] && { groupdel "$2" 2>/dev/null; groupadd "$2" || bail_out "cannot create group $2"; at_cleanup groupdel "$2"; }
	useradd -M -N -g nogroup ${2:+-G "$2"} -d "/var/empty/${1#fluxfs-}" -s /bin/sh "$1" ||
		bail_out "cannot create a test user"
	at_cleanup userdel "$1"
}
_kill_jobs() {
	# job processes: descendants of our daemons, and anything whose cwd is
	# inside $T (tasks run in the submitter's cwd, which is $T)
	local p pids=() d
	for d in "${_all_pids[@]}"; do
		pids+=($(_descendants "$d"))
	done
	for p in /proc/[0-9]*; do
		d=$(readlink "$p/cwd" 2>/dev/null) || continue
		case $d in "$T"|"$T"/*) [ "${p#/proc/}" != $$ ] && pids+=("${p#/proc/}") ;; esac
	done
	[ ${#pids[@]} -gt 0 ] && kill -9 "${pids[@]}" 2>/dev/null
	return 0
}
_descendants() {
	local c
	for c in $(pgrep -P "$1" 2>/dev/null); do
		echo "$c"; _descendants "$c"
	done
}
# is_mounted DIR: from /proc/mounts (stat of a hung mount would block)
is_mounted() { awk -v m="$1" '$2 == m { f = 1 } END { exit !f }' /proc/mounts; }
# our FUSE mounts (a test's own tmpfs is its business: see at_cleanup)
_our_mounts() { awk -v t="$T" '$3 ~ /^fuse/ && ($2 == t || index($2, t "/") == 1) { print $2 }' /proc/mounts; }
# abort the FUSE connection of a mount: every request blocked on a hung
# daemon (even an uninterruptible FLUSH) then fails with ENOTCONN
_abort_mount() {
	local c
	c=$(awk -v m="$1" '$5 == m { split($3, d, ":"); print d[2] }' /proc/self/mountinfo | tail -1)
	if [ -n "$c" ] && [ -w "/sys/fs/fuse/connections/$c/abort" ]; then
		echo 1 > "/sys/fs/fuse/connections/$c/abort"
	else
		umount -f "$1" 2>/dev/null	# fuse_umount_begin aborts too
	fi
}
_unmount_all() {
	local m i
	for i in 1 2 3; do
		m=$(_our_mounts)
		[ -z "$m" ] && return 0
		for m in $m; do
			timeout 5 fusermount3 -u "$m" 2>/dev/null && continue
			_abort_mount "$m"
			timeout 5 fusermount3 -u "$m" 2>/dev/null || fusermount3 -uz "$m" 2>/dev/null || umount -l "$m" 2>/dev/null
		done
	done
}
# watchdog: if the daemon stops answering (a deadlock), abort its FUSE
# connection so that the test fails instead of hanging in D state. Under
# the sanitizers (scripts/test.sh --sanitize unwinds every malloc's stack)
# a hostile 200,000-value submission alone holds the loop for about 17 s:
# a deadlock is told from that by waiting longer.
_watchdog() {
	local misses=0 limit=3
	[ -n "${ASAN_OPTIONS:-}" ] && limit=8
	exec >/dev/null 2>&1 </dev/null
	while kill -0 "$1" 2>/dev/null; do
		sleep 2
		local m
		for m in $(_our_mounts); do
			if timeout 5 ls -a "$m/queue" >/dev/null 2>&1 || ! is_mounted "$m"; then
				misses=0
			elif [ $((++misses)) -ge "$limit" ]; then
				echo "$(date +%T) $m not responding: aborting the FUSE connection" >> "$T/watchdog.log"
				_abort_mount "$m"
				misses=0
			fi
		done
	done
}
_watchdog_pid=
_start_watchdog() {
	[ -n "$_watchdog_pid" ] && return
	_watchdog $$ &
	_watchdog_pid=$!
	disown "$_watchdog_pid"
}
# did the watchdog have to abort a hung daemon?
watchdog_fired() { [ -s "$T/watchdog.log" ]; }
_cleanup() {
	local rc=$? p
	trap - EXIT INT TERM
	# the status of the script's last command means nothing; signals and
	# bail_out (255) do
	[ "$rc" -lt 128 ] && rc=0
	[ -n "$_watchdog_pid" ] && kill "$_watchdog_pid" 2>/dev/null
	if watchdog_fired; then
		echo "# watchdog: the daemon hung and its connection was aborted:"
		sed 's/^/#   /' "$T/watchdog.log"
		rc=1
	fi
	_kill_jobs
	_unmount_all
	for p in "${_all_pids[@]}"; do
		kill -9 "$p" 2>/dev/null
	done
	_kill_jobs
	# the link directories (/tmp/fluxfs-link-*) of nested instances whose
	# parents were killed above: a broker removes its children's when they
	# or it stop, and a restart sweeps the rest (the "link" record each
	# nested state directory keeps); a test is not restarted
	local rec l
	while IFS= read -r rec; do
		l=$(head -c 200 "$rec")
		case $l in /tmp/fluxfs-link-??????/link.ipc) rm -rf "${l%/link.ipc}" ;; esac
	done < <(find "$T" -path '*/nested/*' -name link -type f 2>/dev/null)
	# the test's own (last registered first), once nothing uses its mounts
	local i
	for ((i = ${#_cleanup_cmds[@]} - 1; i >= 0; i--)); do
		eval "${_cleanup_cmds[i]}" || echo "# cleanup failed: ${_cleanup_cmds[i]}"
	done
	# a sanitizer build (scripts/test.sh --sanitize) reports into the logs
	local san
	san=$(cat "$DAEMON_LOG" $(find "$T" \( -name fluxfsd.log -o -path '*/nested/*/log' \) 2>/dev/null) 2>/dev/null |
		grep -E -A12 'ERROR: (Address|Leak)Sanitizer|runtime error:' | head -40)
	if [ -n "$san" ]; then
		echo "not ok - the daemon reported sanitizer errors"
		echo "$san" | sed 's/^/#   /'
		rc=1
	fi
	cd /
	if [ -n "${FLUXFS_KEEP:-}" ]; then
		echo "# kept $T" >&2
	else
		rm -rf --one-file-system "$T" 2>/dev/null
	fi
	if [ -n "$_tap_plan" ] && [ "$_tap_plan" != "$_tap_n" ]; then
		echo "# planned $_tap_plan tests but ran $_tap_n"
		rc=1
	elif [ -z "$_tap_plan" ]; then
		echo "# no plan (script ended early?)"
		rc=1
	fi
	[ "$_tap_fail" -gt 0 ] && rc=1
	exit "$rc"
}
trap _cleanup EXIT
trap 'echo "# interrupted"; exit 130' INT TERM

# ---------------------------------------------------------------- daemon
# fluxfs_start [ARGS]: start the daemon in the foreground on $MNT
fluxfs_start() {
	mkdir -p "$MNT" "$STATE"
	_start_watchdog
	"$FLUXFSD" -f --state "$STATE" "$@" "$MNT" >>"$DAEMON_LOG" 2>&1 &
	FLUXFS_PID=$!
	disown "$FLUXFS_PID"	# no "Killed" job reports; bash still reaps it
	_all_pids+=("$FLUXFS_PID")
	local i
	for i in $(seq 200); do
		if is_mounted "$MNT" && timeout 5 test -e "$MNT/status"; then
			return 0
		fi
		kill -0 "$FLUXFS_PID" 2>/dev/null || break
		sleep 0.05
	done
	diag "fluxfsd did not mount $MNT; log:" "$(tail -5 "$DAEMON_LOG")"
	return 1
}
# wait (bounded) for a pid to exit
_wait_gone() {
	local i
	for i in $(seq $((${2:-10} * 20))); do
		kill -0 "$1" 2>/dev/null || return 0
		sleep 0.05
	done
	return 1
}
fluxfs_stop() {
	local i
	for i in $(seq 50); do
		fusermount3 -u "$MNT" 2>/dev/null && break
		sleep 0.1
	done
	is_mounted "$MNT" && { _abort_mount "$MNT"; fusermount3 -uz "$MNT"; }
	if [ -n "$FLUXFS_PID" ] && ! _wait_gone "$FLUXFS_PID" 10; then
		diag "fluxfsd $FLUXFS_PID did not exit after unmount"
		kill -9 "$FLUXFS_PID" 2>/dev/null
		return 1
	fi
	FLUXFS_PID=
	! is_mounted "$MNT"
}
# fluxfs_kill9: returns 1 if the daemon did not die of kill -9 by itself
# (its connection then had to be aborted)
fluxfs_kill9() {
	local rc=0
	kill -9 "$FLUXFS_PID" 2>/dev/null
	if ! _wait_gone "$FLUXFS_PID" 5; then
		rc=1
		diag "fluxfsd $FLUXFS_PID survives kill -9 for 5 s (stuck in the kernel?):" \
			"$(cat /proc/"$FLUXFS_PID"/task/*/stack 2>/dev/null | sort | uniq -c | sort -rn | head -8)"
		_abort_mount "$MNT"
		_wait_gone "$FLUXFS_PID" 5
	fi
	fusermount3 -u "$MNT" 2>/dev/null || fusermount3 -uz "$MNT" 2>/dev/null
	FLUXFS_PID=
	is_mounted "$MNT" && rc=1
	return $rc
}

# ---------------------------------------------------------------- jobs
# submit FILE: submit through the queue/new clone file, print the id
submit() {
	local id
	id=$(timeout 10 bash -c 'exec 3<>"$1" && cat "$2" >&3 && read -r id <&3 && echo "$id"' \
		_ "$MNT/queue/new" "$1") || return 1
	[ -n "$id" ] || return 1
	echo "$id"
}
# submit_cp FILE [NAME]: submit with cp; print the new job id (the one job
# that appeared in jobs/)
submit_cp() {
	local before after id
	before=$(ls "$MNT/jobs")
	timeout 10 cp "$1" "$MNT/queue/${2:-$(basename "$1")}" || return 1
	after=$(ls "$MNT/jobs")
	id=$(comm -13 <(echo "$before") <(echo "$after"))
	[ -n "$id" ] && [ "$(echo "$id" | wc -l)" -eq 1 ] || return 1
	echo "$id"
}
jobfile() { timeout 5 cat "$MNT/jobs/$1/$2"; }
job_state() { timeout 5 cat "$MNT/jobs/$1/state" 2>/dev/null; }
# wait_state ID STATE [SECS]
wait_state() {
	local i s n=$((${3:-20} * 20))
	for ((i = 0; i < n; i++)); do
		s=$(job_state "$1")
		[ "$s" = "$2" ] && return 0
		sleep 0.05
	done
	diag "job $1 is '$s' after ${3:-20}s, wanted $2"
	return 1
}
# wait_job ID [SECS]: block on jobs/ID/wait, print the result line
wait_job() { timeout "${2:-20}" cat "$MNT/jobs/$1/wait"; }
# wait_until SECS CMD...: poll CMD until it succeeds. CMD is run anew at
# every try, but its arguments were expanded once: put a "$(...)" in a
# function, not on the wait_until line.
wait_until() {
	local n=$(($1 * 20)) i
	shift
	for ((i = 0; i < n; i++)); do
		"$@" && return 0
		sleep 0.05
	done
	return 1
}
# quiet CMD...: run CMD with stdout discarded (for ok/nok: a redirection
# after "ok ..." would swallow the TAP line too)
quiet() { "$@" >/dev/null; }
# daemon_pid PATTERN: the newest broker whose command line matches (its
# inotify publisher, a child with the same command line, is fluxfs-publish)
daemon_pid() {
	local p found=
	for p in $(pgrep -f -- "$1"); do
		[ "$(cat "/proc/$p/comm" 2>/dev/null)" = fluxfsd ] && found=$p
	done
	[ -n "$found" ] && echo "$found"
}
has_procs() { pgrep -f "$1" >/dev/null; }
# no_procs PATTERN: no process has PATTERN in its command line
no_procs() { ! pgrep -f "$1" >/dev/null; }
# all_inactive: every job the instance knows is INACTIVE (for wait_until:
# a condition must be a command, so that it is evaluated at every try)
all_inactive() { [ "$(status_field inactive)" = "$(status_field jobs)" ]; }
status_field() { timeout 5 cat "$MNT/status" | awk -F': ' -v k="$1" '$1 == k { print $2 }'; }
event_names() { jobfile "$1" eventlog | sed -n 's/.*"name":"\([^"]*\)".*/\1/p' | tr '\n' ' ' | sed 's/ $//'; }
event_ts() { jobfile "$1" eventlog | sed -n "s/.*\"timestamp\":\([0-9.]*\),\"name\":\"$2\".*/\1/p" | head -1; }

_json_str() {
	local s=${1//\\/\\\\}
	s=${s//\"/\\\"}
	s=${s//$'\t'/\\t}
	s=${s//$'\n'/\\n}
	printf '"%s"' "$s"
}
# mkjob CMD [CORES] [DURATION] [TASKS]: one slot of CORES cores running
# TASKS copies of sh -c CMD
mkjob() {
	cat <<EOF
version: 1
resources:
  - type: slot
    count: 1
    label: task
    with:
      - type: core
        count: ${2:-1}
tasks:
  - command: ["sh", "-c", $(_json_str "$1")]
    slot: task
    count:
      per_slot: ${4:-1}
attributes:
  system:
    duration: ${3:-60}
EOF
}
# mkjob_nodes CMD NODES [CORES_PER_NODE] [DURATION]: one task per node
mkjob_nodes() {
	cat <<EOF
version: 1
resources:
  - type: node
    count: $2
    with:
      - type: slot
        count: 1
        label: task
        with:
          - type: core
            count: ${3:-1}
tasks:
  - command: ["sh", "-c", $(_json_str "$1")]
    slot: task
    count:
      per_slot: 1
attributes:
  system:
    duration: ${4:-60}
EOF
}

# ---------------------------------------------------------------- overlay
# overlay_start N FANOUT [CORES]: N brokers of one multi-node instance on
# this machine ($OVERLAY_HB: more bootstrap keys, e.g. '"heartbeat": {...},')
# this machine (tcp on 127.0.0.1, insecure unless $OVERLAY_TLS names a
# `fluxfs keygen` directory), each with a one-node R of CORES cores (2) named
# n0..n{N-1}: state $T/s$i, mount $T/m$i, log $T/log$i. Returns once every
# broker is mounted (not joined: see overlay_wait_up). Sets MNT to the
# leader's tree and OVERLAY_PORT to rank 0's port (rank i: +i).
overlay_write_boot() {    # overlay_write_boot N FANOUT TLSDIR > FILE
	local i sep= scheme=tcp
	[ -n "$3" ] && scheme=tls+tcp
	printf '{"version": 1, "fanout": %d, %s' "$2" "${OVERLAY_HB:-}"
	if [ -n "$3" ]; then
		printf ' "tls": {"ca": "%s/ca.pem", "cert": "%s/cert.pem", "key": "%s/key.pem"},' "$3" "$3" "$3"
	else
		printf ' "insecure": true,'
	fi
	printf ' "brokers": ['
	for ((i = 0; i < $1; i++)); do
		printf '%s\n  {"host": "n%d", "bind": "%s://127.0.0.1:%d", "connect": "%s://127.0.0.1:%d"}' \
			"$sep" "$i" "$scheme" $((OVERLAY_PORT + i)) "$scheme" $((OVERLAY_PORT + i))
		sep=,
	done
	printf ']}\n'
}
overlay_start_rank() {    # overlay_start_rank I [BOOTFILE]: (re)start broker I
	local i=$1 boot=${2:-$T/boot.json} k
	mkdir -p "$T/s$i" "$T/m$i"
	"$FLUXFSD" -f --bootstrap "$boot" --rank "$i" -s "$T/s$i" -r "$T/r$i.json" "$T/m$i" \
		>>"$T/log$i" 2>&1 &
	_all_pids+=($!)
	OVERLAY_PIDS[$i]=$!
	disown $!
	for k in $(seq 200); do
		is_mounted "$T/m$i" && return 0
		sleep 0.05
	done
	diag "broker $i did not mount:" "$(tail -3 "$T/log$i")"
	return 1
}
overlay_start() {
	local n=$1 k=$2 cores=${3:-2} i
	# ports: a block of our own, away from other tests running in parallel,
	# below the kernel's ephemeral range (32768-) where dials take theirs
	OVERLAY_PORT=$((20000 + ($$ % 127) * 100))
	OVERLAY_N=$n
	OVERLAY_PIDS=()
	overlay_write_boot "$n" "$k" "${OVERLAY_TLS:-}" > "$T/boot.json"
	for ((i = 0; i < n; i++)); do
		printf '{"version": 1, "execution": {"R_lite": [{"rank": "0", "children": {"core": "0-%d"}}], "nodelist": ["n%d"]}}\n' \
			$((cores - 1)) "$i" > "$T/r$i.json"
	done
	for ((i = 0; i < n; i++)); do
		overlay_start_rank "$i" || return 1
	done
	MNT=$T/m0
	DAEMON_LOG=$T/log0
}
# overlay_state RANK: its state as the leader sees it (status)
overlay_state() { awk -v k="overlay.$1:" '$1 == k { sub("state=", "", $3); print $3 }' "$MNT/status"; }
overlay_nup() { grep -c '^overlay\.[0-9]*: .* state=up ' "$MNT/status"; }
# overlay_wait_up [SECS]: until every broker has joined
overlay_wait_up() { wait_until "${1:-20}" sh -c "[ \"\$(grep -c '^overlay\\.[0-9]*: .* state=up ' '$MNT/status')\" = $OVERLAY_N ]"; }
