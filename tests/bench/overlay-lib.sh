# overlay-lib.sh - sourced by the benchmarks that start many brokers of one
# multi-node instance on this machine (bench-overlay.sh, bench-reparent.sh).
# Needs T (their directory) and PORT (rank 0's; rank i listens at +i).

# boot_file N FANOUT: an insecure bootstrap file on 127.0.0.1, on stdout
boot_file() {
	local i
	printf '{"insecure": true, "fanout": %d, "brokers": [' "$2"
	for ((i = 0; i < $1; i++)); do
		[ "$i" -gt 0 ] && printf ','
		printf '{"host": "n%d", "bind": "tcp://127.0.0.1:%d", "connect": "tcp://127.0.0.1:%d"}' \
			"$i" $((PORT + i)) $((PORT + i))
	done
	printf ']}\n'
}

# start_brokers N FLUXFSD: one broker per rank, each a node of one core
start_brokers() {
	local i
	for ((i = 0; i < $1; i++)); do
		mkdir -p "$T/s$i" "$T/m$i"
		printf '{"version":1,"execution":{"R_lite":[{"rank":"0","children":{"core":"0"}}],"nodelist":["n%d"]}}\n' \
			"$i" > "$T/r$i.json"
		"$2" --bootstrap "$T/boot.json" --rank "$i" -s "$T/s$i" -r "$T/r$i.json" "$T/m$i" 2>/dev/null
	done
}

# stop_all: every broker under $T, and the mounts of those that died
stop_all() {
	local m
	for m in $(ls -d "$T"/m* 2>/dev/null | sort -rV); do
		fusermount3 -u "$m" 2>/dev/null || fusermount3 -uz "$m" 2>/dev/null || true
	done
	for _ in $(seq 100); do
		pgrep -f "fluxfsd --bootstrap $T/" >/dev/null || break
		sleep 0.1
	done
	pkill -9 -f "fluxfsd --bootstrap $T/" 2>/dev/null || true
	for m in $(awk -v t="$T/" 'index($2, t) == 1 { print $2 }' /proc/mounts); do
		fusermount3 -uz "$m" 2>/dev/null || umount -l "$m" 2>/dev/null || true
	done
}
