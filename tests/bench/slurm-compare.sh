#!/bin/bash
# slurm-compare.sh - fluxfs beside Slurm on this machine, same workloads,
# same cores, alternating, with the machine's ceilings measured in the same
# run. Not part of the test suite. Prints one table on stdout (progress on
# stderr); save it with
#   tests/bench/slurm-compare.sh | tee tests/bench/results/slurm-compare-$(date +%F).txt
#
# Environment:
#   BUILD=dir     fluxfs build directory (default <repo>/build; relative
#                 paths are taken from the repository root)
#   REPS=3        repetitions; each reports median [min-max] over reps
#   N=1000        jobs per workload (the bulk path is limited to 1000 by
#                 Slurm's default MaxArraySize)
#   LAT=20        one-job latency samples per rep (median per rep)
#   MEMJOBS="1000 10000"  job counts at which daemon memory is read
#   FULL=1        also a 10,000-job submission loop (once) and memory at
#                 100,000 jobs: takes hours, bounded by Slurm's completion rate
#   PURGE_KEEP=10000 PURGE_AGE=300   fluxfs retention (see below)
#   SLURM_PORT=16817  slurmctld port (slurmd uses the next one)
#   POLL=0.1      seconds between "is everything done?" polls, both systems
#
# Time: Slurm's completion rate decides it (every Slurm job costs ~100 ms of
# slurmd/slurmstepd/munge work). Estimated 6-8 minutes for the default run on
# an idle 2-core machine (Slurm ~25 jobs/s end to end); measured 30 minutes
# with other work keeping the load at 3-10 (Slurm 5-8 jobs/s), most of it in
# the top-up to 10,000 jobs. MEMJOBS=1000 skips the top-up.
# Ctrl-C stops it at once and cleans up; a `kill` of the script alone takes
# effect when the current step ends.
#
# Workloads (all one-core `true` jobs), per rep, each system in turn, the
# order of the systems swapped every rep:
#   bulk  `fluxfs submit --cc=1-N true` vs `sbatch --array=1-N --wrap true`:
#         submission rate, and end to end (first submission -> nothing
#         pending or running, polled every POLL s: fluxfs `status`, `squeue`)
#   loop  a bash loop of N `cp job.yaml MNT/queue/` vs `sbatch --wrap true`:
#         submission rate while jobs run; then everything still active is
#         canceled (`fluxfs cancel --all`, `scancel`) so that the run stays
#         short: these jobs count as jobs (they end CANCELED) for memory
#   lat   `fluxfs run true` vs `srun true`, LAT times, wall time each
# Then both are topped up with bulk `true` jobs (real ones, run to the end)
# to each MEMJOBS count and the daemons' RssAnon is read; the first count
# (1,000) is read after rep 1's bulk workload, on an idle instance.
#
# Ceilings, measured in every rep before the workloads: fork/exec/wait of
# /bin/true (bench-spawn, 1 and 2 in flight), create+write+close through a
# do-nothing FUSE fs (bench-nullfs + bench-submit --create), the same bash cp
# loop into that fs, and durable LMDB commits of one put (bench-lmdb). Each
# fluxfs figure is printed as a fraction of the ceiling that bounds it:
#   loop   min(cp loop into nullfs, LMDB commits/s): every cp waits for its
#          own durable commit
#   bulk   raw FUSE create/s, the better of 1 and 8 clients: what N
#          separate submissions could reach at best. `fluxfs submit --cc`
#          sends its N jobs as one bulk submission (one write of N
#          jobspecs, one commit), so it can pass this figure, as sbatch
#          --array (one RPC, one record) does
#   e2e    fork/exec/wait, 2 in flight (2 cores: every job is one spawn)
#   lat    a floor of 2 spawns (the client, the task) + 1 durable commit
#
# Slurm configuration (22.05, Debian's slurm-wlm; written to a temp dir,
# /etc/slurm is not touched; a private munged on its own socket):
#   one node, NodeName=$(hostname -s), CPUs = the cores of the fluxfs instance
#   SelectType=select/cons_tres (CR_Core), SchedulerType=sched/backfill
#   ProctrackType=proctrack/linuxproc, TaskPlugin=task/none: no cgroup
#     plugins, so it runs in a container whatever the cgroup layout
#   MpiDefault=none, ReturnToService=2, no accounting, no jobcomp
#   SchedulerParameters=batch_sched_delay=0,sched_min_interval=0 and a
#     trivial Epilog (exit 0): Slurm's documented high-throughput settings.
#     Stock Slurm completes ~0.7-2 jobs/s here (it waits for the next
#     scheduling pass); the epilog-complete message schedules at once.
#     cgroup plugins were not tried: linuxproc works everywhere, and task
#     binding would not change one-core `true` jobs.
#   Everything else is default: MinJobAge=300 (finished jobs are kept 300 s),
#     MaxJobCount=10000 (200000 with FULL=1), logging at "info".
#   slurmctld and slurmd run with -D in the background (pidfiles in the temp
#     dir) and are stopped, with munged, on exit. munged wants every
#     directory above its socket searchable by all: the temp dir is 0755.
# fluxfs runs with the matching retention: --purge-age 300 (Slurm's
# MinJobAge) --purge-keep 10000 (Slurm's MaxJobCount).
set -euo pipefail

top=$(cd "$(dirname "$0")/../.." && pwd)
BUILD=${BUILD:-$top/build}
case $BUILD in /*) ;; *) BUILD=$top/$BUILD ;; esac
REPS=${REPS:-3}; N=${N:-1000}; LAT=${LAT:-20}; FULL=${FULL:-0}; POLL=${POLL:-0.1}
MEMJOBS=${MEMJOBS:-1000 10000}
[ "$FULL" = 1 ] && MEMJOBS="$MEMJOBS 100000"
PURGE_KEEP=${PURGE_KEEP:-10000}; PURGE_AGE=${PURGE_AGE:-300}
SLURM_PORT=${SLURM_PORT:-16817}
B=$BUILD/tests/bench
FLUXFSD=$BUILD/fsd/fluxfsd
FLUXFS=$BUILD/tools/fluxfs

log() { echo "# $(date +%T) $*" >&2; }
die() { echo "slurm-compare: $*" >&2; exit 1; }

[ "$(id -u)" = 0 ] || die "run as root (Slurm daemons, munge, FUSE)"
for f in "$FLUXFSD" "$FLUXFS" "$B/bench-submit" "$B/bench-spawn" "$B/bench-lmdb" "$B/bench-nullfs"; do
	[ -x "$f" ] || die "$f missing: build first (meson setup $BUILD && ninja -C $BUILD)"
done
[ "$N" -le 1000 ] || die "N must be <= 1000 (Slurm's default MaxArraySize is 1001)"

work=$(mktemp -d /tmp/slurm-compare.XXXXXX)
chmod 755 "$work"   # a root fluxfsd runs as the fluxfs user: it must reach its state here
chmod 755 "$work"   # munged refuses a socket below a directory others cannot search
MNT=$work/mnt
SL=$work/slurm
export SLURM_CONF=$SL/slurm.conf
FLUXFS_PID='' CTLD_PID='' SLURMD_PID='' MUNGED_PID='' NULLFS_PID=''
t_start=$EPOCHREALTIME

# ------------------------------------------------------------ helpers
now() { echo "$EPOCHREALTIME"; }
rate() { awk -v n="$1" -v a="$2" -v b="$3" 'BEGIN { printf "%.1f", n / (b - a) }'; }
ms() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", 1000 * (b - a) }'; }
first_rate() { grep -o "= [0-9.]*" | head -1 | awk '{print $2}'; }   # "... = 123 ..." -> 123
# figures: 3 significant digits or whole numbers (123.4 -> 123, 12.34 -> 12.3)
fmt() { awk -v x="$1" 'BEGIN { if (x == "-") print x; else printf (x >= 100 ? "%.0f\n" : "%.3g\n"), x }'; }
median() { tr ' ' '\n' | grep . | sort -g | awk '{ v[NR] = $1 } END {
	if (NR == 0) { print "-"; exit }
	m = NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2; print m }'; }
minmax() { tr ' ' '\n' | grep . | sort -g | sed -n '1p;$p' | xargs; }
pid_status() { local p; for p; do echo "/proc/$p/status"; done; }
rss() { local f; f=$(pid_status "$@"); awk '/^RssAnon/ { s += $2 } END { print s + 0 }' $f; }
wait_gone() {   # wait_gone PID SECS
	local i
	for ((i = 0; i < $2 * 10; i++)); do kill -0 "$1" 2>/dev/null || return 0; sleep 0.1; done
	return 1
}
stop_pid() {    # stop_pid PID: TERM, then KILL after 10 s
	[ -n "$1" ] || return 0
	kill "$1" 2>/dev/null || return 0
	wait_gone "$1" 10 || kill -9 "$1" 2>/dev/null || true
}
is_mounted() { awk -v m="$1" '$2 == m { f = 1 } END { exit !f }' /proc/mounts; }
unmount() {   # the daemon may hold its mount busy for a moment: retry, then lazily
	local i
	for ((i = 0; i < 50; i++)); do
		is_mounted "$1" || return 0
		fusermount3 -u "$1" 2>/dev/null && return 0
		sleep 0.1
	done
	fusermount3 -uz "$1" 2>/dev/null || true
}

# declare -A results: "system:metric" -> space-separated values, one a rep
declare -A R
add() { R[$1]="${R[$1]:-} $2"; }

cleanup() {
	local rc=$?
	trap - EXIT INT TERM
	if [ -n "$CTLD_PID" ]; then timeout 10 scancel --user=root --quiet 2>/dev/null || true; fi
	stop_pid "$SLURMD_PID"
	stop_pid "$CTLD_PID"
	stop_pid "$MUNGED_PID"
	unmount "$MNT"
	[ -n "$FLUXFS_PID" ] && { wait_gone "$FLUXFS_PID" 10 || kill -9 "$FLUXFS_PID" 2>/dev/null || true; }
	unmount "$work/null"
	[ -n "$NULLFS_PID" ] && { wait_gone "$NULLFS_PID" 5 || kill -9 "$NULLFS_PID" 2>/dev/null || true; }
	cd /
	# leftovers (job steps of a killed slurmd, jobs of an interrupted run):
	# only processes whose cwd is our directory
	local p d
	for p in /proc/[0-9]*; do
		d=$(readlink "$p/cwd" 2>/dev/null) || continue
		case $d in "$work"|"$work"/*) kill -9 "${p#/proc/}" 2>/dev/null ;; esac
	done
	if [ "$rc" != 0 ]; then
		echo "slurm-compare: failed (exit $rc); last daemon logs:" >&2
		tail -n 5 "$work"/fluxfsd.log "$SL"/munged.out "$SL"/slurmctld.log "$SL"/slurmd.log >&2 2>/dev/null || true
	fi
	rm -rf --one-file-system "$work"
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
cd "$work"   # jobs of both systems run here

# ------------------------------------------------------------ fluxfs
fluxfs_start() {
	mkdir -p "$MNT" "$work/state"
	"$FLUXFSD" -f --state "$work/state" --purge-keep "$PURGE_KEEP" --purge-age "$PURGE_AGE" \
		"$MNT" >"$work/fluxfsd.log" 2>&1 &
	FLUXFS_PID=$!
	local i
	for ((i = 0; i < 100; i++)); do
		is_mounted "$MNT" && [ -e "$MNT/status" ] && return 0
		kill -0 "$FLUXFS_PID" 2>/dev/null || break
		sleep 0.1
	done
	die "fluxfsd did not mount $MNT: $(tail -3 "$work/fluxfsd.log")"
}
# shellcheck disable=SC2046  # a list of pids
fluxfs_pids() { echo "$FLUXFS_PID" $(pgrep -P "$FLUXFS_PID" -x fluxfsd || true); }
fluxfs_active() {   # number of jobs not yet INACTIVE
	awk '/^(new|depend|priority|sched|run|cleanup):/ { n += $2 } END { print n + 0 }' "$MNT/status"
}
fluxfs_idle() {
	local i
	for ((i = 0; ; i++)); do
		[ "$(fluxfs_active)" = 0 ] && return 0
		[ "$i" -gt 36000 ] && die "fluxfs: jobs still active after an hour"
		sleep "$POLL"
	done
}
fluxfs_bulk() {   # fluxfs_bulk N -> "submit_rate e2e_rate"
	local t0 t1 t2
	t0=$(now)
	"$FLUXFS" -m "$MNT" submit --cc="1-$1" true >/dev/null
	t1=$(now)
	fluxfs_idle
	t2=$(now)
	echo "$(rate "$1" "$t0" "$t1") $(rate "$1" "$t0" "$t2")"
}
fluxfs_loop() {   # fluxfs_loop N -> submit rate of a bash cp loop
	local i t0 t1
	t0=$(now)
	for ((i = 0; i < $1; i++)); do cp "$work/true.yaml" "$MNT/queue/"; done
	t1=$(now)
	"$FLUXFS" -m "$MNT" cancel --all >/dev/null 2>&1 || true
	fluxfs_idle
	rate "$1" "$t0" "$t1"
}
fluxfs_lat() {   # fluxfs_lat K -> median ms of K `fluxfs run true`
	local i t0 t1 v=
	for ((i = 0; i < $1; i++)); do
		t0=$(now); "$FLUXFS" -m "$MNT" run true; t1=$(now)
		v+=" $(ms "$t0" "$t1")"
	done
	fluxfs_idle
	echo "$v" | median
}
# shellcheck disable=SC2046  # a list of pids
fluxfs_rss() { rss $(fluxfs_pids); }
fluxfs_records() { awk '/^jobs:/ { print $2 }' "$MNT/status"; }

# ------------------------------------------------------------ Slurm
slurm_install() {
	local need=
	for c in slurmctld slurmd sbatch munged mungekey; do command -v "$c" >/dev/null || need=1; done
	[ -z "$need" ] && return 0
	log "installing Slurm and munge (apt)"
	export DEBIAN_FRONTEND=noninteractive
	apt-get install -y -q slurmctld slurmd slurm-client munge >&2 ||
		{ apt-get update -q >&2 && apt-get install -y -q slurmctld slurmd slurm-client munge >&2; }
}
slurm_config() {   # slurm_config CPUS
	local host; host=$(hostname -s)
	mkdir -p "$SL/state" "$SL/spool" "$SL/munge"
	printf '#!/bin/sh\nexit 0\n' > "$SL/epilog.sh"; chmod 755 "$SL/epilog.sh"
	cat > "$SL/slurm.conf" <<EOF
ClusterName=compare
SlurmctldHost=$host
SlurmUser=root
SlurmdUser=root
SlurmctldPort=$SLURM_PORT
SlurmdPort=$((SLURM_PORT + 1))
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$SL/munge/socket
StateSaveLocation=$SL/state
SlurmdSpoolDir=$SL/spool
SlurmctldPidFile=$SL/slurmctld.pid
SlurmdPidFile=$SL/slurmd.pid
SlurmctldLogFile=$SL/slurmctld.log
SlurmdLogFile=$SL/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
SchedulerType=sched/backfill
SchedulerParameters=batch_sched_delay=0,sched_min_interval=0
Epilog=$SL/epilog.sh
MpiDefault=none
ReturnToService=2
AccountingStorageType=accounting_storage/none
JobAcctGatherType=jobacct_gather/none
JobCompType=jobcomp/none
$([ "$FULL" = 1 ] && echo "MaxJobCount=200000")
NodeName=$host CPUs=$1 State=UNKNOWN
PartitionName=compare Nodes=$host Default=YES MaxTime=INFINITE State=UP
EOF
}
slurm_start() {   # slurm_start CPUS
	slurm_config "$1"
	# the machine's key (created as the package would if absent), copied so
	# that our munged owns it
	if [ ! -s /etc/munge/munge.key ]; then
		log "creating /etc/munge/munge.key"
		mungekey --create --keyfile=/etc/munge/munge.key
		chown munge:munge /etc/munge/munge.key 2>/dev/null || true
	fi
	install -m 600 /etc/munge/munge.key "$SL/munge/key"
	munged -F --key-file="$SL/munge/key" --socket="$SL/munge/socket" \
		--pid-file="$SL/munge/pid" --seed-file="$SL/munge/seed" \
		--log-file="$SL/munge/log" >"$SL/munged.out" 2>&1 &
	MUNGED_PID=$!
	local i
	for ((i = 0; i < 50; i++)); do
		[ -S "$SL/munge/socket" ] && break
		kill -0 "$MUNGED_PID" 2>/dev/null || die "munged exited: $(tail -1 "$SL/munged.out")"
		sleep 0.1
	done
	slurmctld -D -f "$SLURM_CONF" >"$SL/slurmctld.out" 2>&1 &
	CTLD_PID=$!
	slurmd -D -f "$SLURM_CONF" >"$SL/slurmd.out" 2>&1 &
	SLURMD_PID=$!
	local deadline=$((SECONDS + 60))
	while [ "$SECONDS" -lt "$deadline" ]; do
		[ "$(timeout 5 sinfo -h -o %T 2>/dev/null)" = idle ] && return 0
		kill -0 "$CTLD_PID" 2>/dev/null && kill -0 "$SLURMD_PID" 2>/dev/null || break
		sleep 0.1
	done
	die "Slurm node not idle: $(sinfo 2>&1 | tail -2); $(tail -3 "$SL/slurmctld.log" "$SL/slurmd.log" 2>&1)"
}
slurm_idle() {
	local i out
	for ((i = 0; ; i++)); do
		# a failed squeue (controller busy) prints nothing: not "idle"
		if out=$(squeue -h -o %i 2>/dev/null) && [ -z "$out" ]; then return 0; fi
		[ "$i" -gt 36000 ] && die "Slurm: jobs still queued after an hour"
		sleep "$POLL"
	done
}
slurm_bulk() {
	local t0 t1 t2
	t0=$(now)
	sbatch -Q -o /dev/null --array="1-$1" --wrap true
	t1=$(now)
	slurm_idle
	t2=$(now)
	echo "$(rate "$1" "$t0" "$t1") $(rate "$1" "$t0" "$t2")"
}
slurm_loop() {
	local i t0 t1
	t0=$(now)
	for ((i = 0; i < $1; i++)); do sbatch -Q -o /dev/null --wrap true; done
	t1=$(now)
	scancel --user=root --quiet || true
	slurm_idle
	rate "$1" "$t0" "$t1"
}
slurm_lat() {
	local i t0 t1 v=
	for ((i = 0; i < $1; i++)); do
		t0=$(now); srun -Q true; t1=$(now)
		v+=" $(ms "$t0" "$t1")"
	done
	slurm_idle
	echo "$v" | median
}
slurm_rss() { echo "$(rss "$CTLD_PID") $(rss "$SLURMD_PID")"; }   # two figures
slurm_records() {   # finished ones too, until MinJobAge
	local out
	out=$(squeue -h -t all -o %i 2>/dev/null) || { echo "?"; return 0; }
	grep -c . <<<"$out" || true
}

# ------------------------------------------------------------ ceilings
ceilings() {
	add c:spawn1 "$("$B/bench-spawn" 1000 1 | first_rate)"
	add c:spawn2 "$("$B/bench-spawn" 1000 2 | first_rate)"
	rm -rf "$work/lmdb"; mkdir -p "$work/lmdb"
	add c:lmdb "$("$B/bench-lmdb" "$work/lmdb" 1000 1 | first_rate)"
	add c:fuse "$("$B/bench-submit" "$work/null" 2000 1 --create | first_rate)"
	add c:fuse8 "$("$B/bench-submit" "$work/null" 2000 8 --create | first_rate)"
	local i t0 t1
	t0=$(now)
	for ((i = 0; i < 300; i++)); do cp "$work/true.yaml" "$work/null/"; done
	t1=$(now)
	add c:cp "$(rate 300 "$t0" "$t1")"
}

# ------------------------------------------------------------ workloads
declare -A JOBS=([fluxfs]=0 [slurm]=0)
declare -A MEM
mem_read() {   # mem_read SYSTEM: RssAnon (kB) and job records held, at its job count
	local s=$1
	MEM[$s:${JOBS[$s]}]="$(${s}_rss) $(${s}_records)"
}
run_system() {   # run_system SYSTEM REP
	local s=$1 r=$2 v
	log "rep $r: $s bulk $N"
	v=$(${s}_bulk "$N"); JOBS[$s]=$((JOBS[$s] + N))
	add "$s:bulk" "${v% *}"; add "$s:e2e" "${v#* }"
	[ "$r" = 1 ] && mem_read "$s"
	log "rep $r: $s loop $N"
	add "$s:loop" "$(${s}_loop "$N")"; JOBS[$s]=$((JOBS[$s] + N))
	log "rep $r: $s latency x$LAT"
	add "$s:lat" "$(${s}_lat "$LAT")"; JOBS[$s]=$((JOBS[$s] + LAT))
}
topup() {   # topup SYSTEM TARGET: run bulk chunks of real jobs up to TARGET
	local s=$1 n
	while [ "${JOBS[$s]}" -lt "$2" ]; do
		n=$(($2 - JOBS[$s])); [ "$n" -gt 1000 ] && n=1000
		${s}_bulk "$n" >/dev/null
		JOBS[$s]=$((JOBS[$s] + n))
	done
	mem_read "$s"
}

cat > "$work/true.yaml" <<'SPEC'
version: 1
resources:
  - type: slot
    count: 1
    label: task
    with:
      - type: core
        count: 1
tasks:
  - command: ["true"]
    slot: task
    count:
      per_slot: 1
attributes:
  system:
    duration: 0
SPEC

slurm_install
load0=$(cut -d' ' -f1-3 /proc/loadavg)
log "starting fluxfs ($BUILD) and a nullfs for the ceilings"
fluxfs_start
CORES=$(awk '/^cores:/ { print $2 }' "$MNT/status")
mkdir -p "$work/null"
"$B/bench-nullfs" "$work/null" >"$work/nullfs.log" 2>&1 &
NULLFS_PID=$!
log "starting Slurm (munged, slurmctld, slurmd) with CPUs=$CORES"
slurm_start "$CORES"
mem_read fluxfs
mem_read slurm
for ((i = 0; i < 50; i++)); do is_mounted "$work/null" && break; sleep 0.1; done

for ((rep = 1; rep <= REPS; rep++)); do
	log "rep $rep: ceilings"
	ceilings
	if ((rep % 2)); then order="fluxfs slurm"; else order="slurm fluxfs"; fi
	for s in $order; do run_system "$s" "$rep"; done
done
if [ "$FULL" = 1 ]; then
	for s in fluxfs slurm; do
		log "full: $s loop 10000"
		add "$s:loop10k" "$(${s}_loop 10000)"; JOBS[$s]=$((JOBS[$s] + 10000))
	done
fi
for s in fluxfs slurm; do mem_read "$s"; done   # at the end of the reps
for target in $MEMJOBS; do
	for s in fluxfs slurm; do
		[ "${JOBS[$s]}" -lt "$target" ] || continue
		log "memory: $s up to $target jobs"
		topup "$s" "$target"
	done
done
load1=$(cut -d' ' -f1-3 /proc/loadavg)

# ------------------------------------------------------------ table
pct() { awk -v a="$1" -v b="$2" 'BEGIN { if (a != "-" && b > 0) printf "%.0f%%", 100 * a / b; else print "-" }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a != "-" && b > 0) printf "%.2f", a / b; else print "-" }'; }
min2() { awk -v a="$1" -v b="$2" 'BEGIN { print (a < b ? a : b) }'; }
med() { echo "${R[$1]:-}" | median; }
cell() {   # "median [min-max]"
	[ -n "${R[$1]:-}" ] || { echo -; return; }
	local a b; read -r a b <<<"$(echo "${R[$1]}" | minmax)"
	printf '%s [%s-%s]' "$(fmt "$(med "$1")")" "$(fmt "$a")" "$(fmt "$b")"
}
W='| %-42s | %-22s | %-22s | %8s | %-38s | %7s |\n'
row() { printf "$W" "$@"; }
sep() { printf '|%s|%s|%s|%s|%s|%s|\n' "$(printf -- '-%.0s' {1..44})" "$(printf -- '-%.0s' {1..24})" \
	"$(printf -- '-%.0s' {1..24})" "$(printf -- '-%.0s' {1..10})" "$(printf -- '-%.0s' {1..40})" "$(printf -- '-%.0s' {1..9})"; }

cspawn1=$(med c:spawn1); cspawn2=$(med c:spawn2); clmdb=$(med c:lmdb); cfuse8=$(med c:fuse8); ccp=$(med c:cp)
lat_floor=$(awk -v s="$cspawn1" -v l="$clmdb" 'BEGIN { printf "%.1f", 2000 / s + 1000 / l }')
ceil_loop=$(min2 "$ccp" "$clmdb"); ceil_bulk=$(awk -v a="$(med c:fuse)" -v b="$cfuse8" 'BEGIN { print (a > b ? a : b) }')
for v in cspawn1 cspawn2 clmdb ccp ceil_loop ceil_bulk; do printf -v "$v" '%s' "$(fmt "${!v}")"; done

echo "fluxfs vs Slurm, $(date -u +%FT%TZ), $(hostname -s): $(uname -r), $CORES cores (both)"
echo "fluxfs $(git -C "$top" describe --always --dirty 2>/dev/null || echo '?') ($BUILD)," \
	"retention --purge-keep $PURGE_KEEP --purge-age $PURGE_AGE;" \
	"Slurm $(sinfo -V | awk '{print $2}') (cons_tres, backfill, batch_sched_delay=0, sched_min_interval=0, Epilog)"
echo "REPS=$REPS N=$N LAT=$LAT FULL=$FULL; cells: median [min-max] over reps; load $load0 -> $load1;" \
	"run took $(awk -v a="$t_start" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.0f", b - a }') s"
echo
row "workload" "fluxfs" "Slurm" "fx/Slurm" "ceiling (median, same run)" "fx/ceil"
sep
fb=$(med fluxfs:bulk); fl=$(med fluxfs:loop); fe=$(med fluxfs:e2e); fla=$(med fluxfs:lat)
row "submit, bash loop of $N (jobs/s)" "$(cell fluxfs:loop)" "$(cell slurm:loop)" \
	"$(ratio "$fl" "$(med slurm:loop)")" "cp->nullfs $ccp, LMDB commit $clmdb" "$(pct "$fl" "$ceil_loop")"
if [ "$FULL" = 1 ]; then
	row "submit, bash loop of 10000 (jobs/s)" "$(cell fluxfs:loop10k)" "$(cell slurm:loop10k)" \
		"$(ratio "$(med fluxfs:loop10k)" "$(med slurm:loop10k)")" "as above" "$(pct "$(med fluxfs:loop10k)" "$ceil_loop")"
fi
row "submit, bulk $N (jobs/s)" "$(cell fluxfs:bulk)" "$(cell slurm:bulk)" \
	"$(ratio "$fb" "$(med slurm:bulk)")" "raw FUSE create (1 or 8 clients) $ceil_bulk" "$(pct "$fb" "$ceil_bulk")"
row "end to end, bulk $N (jobs/s)" "$(cell fluxfs:e2e)" "$(cell slurm:e2e)" \
	"$(ratio "$fe" "$(med slurm:e2e)")" "spawn+wait, 2 in flight $cspawn2" "$(pct "$fe" "$cspawn2")"
row "one job, run/srun true (ms)" "$(cell fluxfs:lat)" "$(cell slurm:lat)" \
	"$(ratio "$fla" "$(med slurm:lat)")" "floor 2 spawns + 1 commit: $lat_floor" "$(pct "$lat_floor" "$fla")"
for k in $(printf '%s\n' "${!MEM[@]}" | grep '^fluxfs:' | cut -d: -f2 | sort -n); do
	[ -n "${MEM[slurm:$k]:-}" ] || continue
	read -r frss frec <<<"${MEM[fluxfs:$k]}"
	read -r srss drss srec <<<"${MEM[slurm:$k]}"
	row "RssAnon after $k jobs (kB)" "$frss" "$((srss + drss))" "$(ratio "$frss" "$((srss + drss))")" \
		"ctld $srss + slurmd $drss; held $frec/$srec" ""
done
sep
row "ceiling: fork/exec/wait, 1 at a time" "$(cell c:spawn1)" "" "" "/s" ""
row "ceiling: fork/exec/wait, 2 in flight" "$(cell c:spawn2)" "" "" "/s" ""
row "ceiling: raw FUSE create+write+close" "$(cell c:fuse)" "" "" "/s, 1 C client, bench-nullfs" ""
row "ceiling: raw FUSE create+write+close" "$(cell c:fuse8)" "" "" "/s, 8 C clients" ""
row "ceiling: bash cp loop into nullfs" "$(cell c:cp)" "" "" "/s" ""
row "ceiling: LMDB durable commits (1 put)" "$(cell c:lmdb)" "" "" "/s" ""
echo
echo "jobs/s: higher is better; ms, kB: lower is better. fx/Slurm = fluxfs / Slurm; fx/ceil = fluxfs / ceiling"
echo "(for the latency row: floor / fluxfs)."
echo "fluxfs RssAnon: fluxfsd and its helper process; Slurm: slurmctld + slurmd (munged not counted)."
echo "held F/S: job records each daemon still holds (fluxfs status 'jobs:', squeue -t all); both forget"
echo "finished jobs after $PURGE_AGE s, so the faster system holds more of the jobs it ran."
echo "Jobs counted for memory include the canceled remainder of each submission loop."
