#!/bin/bash
# bench-nested.sh - throughput of N one-core `true` jobs (default 4096):
#   (a) flat, submitted to the root instance;
#   (b) spread over 2 nested instances (one per parent job);
#   (c) over a 2-level hierarchy: 2 nested instances, each running 2 jobs
#       that hold a nested instance, so 4 leaf instances take the work.
# Each case: first submission to last completion, jobs/s, and the ratio to
# flat. The instance describes 4 cores (R) on this machine: cores beyond the
# machine's run unbound, so the figures show the scheduling and launch path,
# not compute. Not a test: the machine is shared and noisy.
#
#   BUILD=build tests/bench/bench-nested.sh [NJOBS]
set -euo pipefail
REPO=$(cd "$(dirname "$0")/../.." && pwd)
BUILD=${BUILD:-build}
B=$REPO/$BUILD
N=${1:-4096}
FLUXFSD=$B/fsd/fluxfsd
SUBMIT=$B/tests/bench/bench-submit
T=$(mktemp -d /tmp/fluxfs-bench-nested.XXXXXX)
chmod 755 "$T"   # a root fluxfsd runs as the fluxfs user: it must reach its state here
MNT=$T/mnt
cleanup() {
	fusermount3 -u "$MNT" 2>/dev/null || true
	sleep 0.5
	pkill -f "fluxfsd -f --state $T" 2>/dev/null || true
	grep -o " $T[^ ]*" /proc/mounts | sort -r | while read -r m; do umount -l "$m" 2>/dev/null || true; done
	rm -rf "$T"
}
trap cleanup EXIT
mkdir -p "$MNT"
cat > "$T/R.json" <<'EOR'
{"version":1,"execution":{"R_lite":[{"rank":"0","children":{"core":"0-3"}}],"nodelist":["localhost"],"starttime":0,"expiration":0}}
EOR
"$FLUXFSD" --state "$T/state" --resources "$T/R.json" --purge-keep 100 "$MNT"

hold() {	# hold CORES: a job that keeps CORES cores, print its id
	cat > "$T/hold.yaml" <<EOH
version: 1
resources:
  - type: slot
    count: 1
    label: s
    with:
      - type: core
        count: $1
tasks:
  - command: ["sleep", "100000"]
    slot: s
    count:
      per_slot: 1
attributes:
  system:
    duration: 0
EOH
	local id
	id=$(bash -c 'exec 3<>"$1/queue/new" && cat "$2" >&3 && read -r id <&3 && echo "$id"' _ "$2" "$T/hold.yaml")
	for _ in $(seq 100); do [ "$(cat "$2/jobs/$id/state")" = RUN ] && break; sleep 0.1; done
	echo "$id"
}
rate() {	# rate SECONDS: jobs/s
	python3 -c "import sys; print(f'{$N / float(sys.argv[1]):.0f}')" "$1"
}
run_on() {	# run_on DIR...: N jobs split over the instances, time to completion
	local k=$# per=$((N / $#)) t0 t1
	t0=$(date +%s.%N)
	for d in "$@"; do "$SUBMIT" "$d" "$per" 1 --wait > "$T/out.$(basename "$d")" & done
	wait
	t1=$(date +%s.%N)
	python3 -c "print(f'{$t1 - $t0:.2f}')"
}

flat=$(run_on "$MNT")
p1=$(hold 2 "$MNT"); p2=$(hold 2 "$MNT")
mkdir "$MNT/jobs/$p1/a" "$MNT/jobs/$p2/b"
two=$(run_on "$MNT/jobs/$p1/a" "$MNT/jobs/$p2/b")
leaves=()
for inst in "$MNT/jobs/$p1/a" "$MNT/jobs/$p2/b"; do
	for i in 1 2; do
		q=$(hold 1 "$inst")
		mkdir "$inst/jobs/$q/l$i"
		leaves+=("$inst/jobs/$q/l$i")
	done
done
four=$(run_on "${leaves[@]}")

printf '%-44s %10s %10s %8s\n' "case ($N one-core true jobs, 4 cores)" "seconds" "jobs/s" "vs flat"
printf '%-44s %10s %10s %8s\n' "flat: root instance" "$flat" "$(rate "$flat")" "1.00"
for c in "2 nested instances:$two" "2 levels, 4 leaf instances:$four"; do
	name=${c%%:*}; s=${c##*:}
	printf '%-44s %10s %10s %8s\n' "$name" "$s" "$(rate "$s")" \
		"$(python3 -c "print(f'{$flat / $s:.2f}')")"
done
