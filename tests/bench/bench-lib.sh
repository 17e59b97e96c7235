# bench-lib.sh - sourced by the benchmark scripts (bench.sh, bench-builds.sh).
#
# bench_work NAME: a fresh $work (/tmp/fluxfs-bench-NAME.*) with mnt/ and
# state/, readable by a system instance's fluxfs user.
# bench_work_done: unmount $work/mnt (lazily if it stays busy), remove $work.
# idle_init DIR: once, before idle: a fifo in DIR that idle sleeps on.
# idle MOUNT: wait until the instance at MOUNT has run everything submitted
# so far. Bash builtins only (a read with a timeout for the sleep): an awk
# and a sleep every 10 ms cost ~9% of this 2-core machine, charged to the
# figure being measured.
idle_init() { mkfifo "$1/tick"; exec 9<>"$1/tick"; }
idle() {
	local k v n
	while :; do
		n=0
		while read -r k v; do
			case $k in new: | depend: | priority: | sched: | run: | cleanup:) n=$((n + v)) ;; esac
		done <"$1/status"
		[ "$n" = 0 ] && return
		read -r -t 0.01 -u 9 || true
	done
}

bench_work() {
	work=$(mktemp -d "/tmp/fluxfs-bench-$1.XXXXXX")
	chmod 755 "$work"
	mkdir "$work/mnt" "$work/state"
}
bench_work_done() {
	fusermount3 -u "$work/mnt" 2>/dev/null || { sleep 0.5; fusermount3 -uz "$work/mnt" 2>/dev/null; } || true
	rm -rf --one-file-system "$work"
}
