#!/bin/bash
# overlay-localhost.sh start N [FANOUT] | stop - a multi-node instance of N
# brokers on this one machine (doc/overlay.md): each broker a node with one
# core of its own R, all linked by mutual TLS over 127.0.0.1.
#   start: keys (fluxfs keygen), bootstrap file, N brokers; prints the
#          leader's mount point once every node has joined. Every broker's
#          mount ($OVERLAY_DIR/mntI) shows the whole instance.
#   stop:  unmounts every broker (followers first)
# Work directory: $OVERLAY_DIR (default /tmp/fluxfs-overlay-$USER).
# Binaries: $FLUXFSD and $FLUXFS, else fluxfsd and fluxfs from $PATH, else
# from this repository's build/.
set -euo pipefail
dir=${OVERLAY_DIR:-/tmp/fluxfs-overlay-${USER:-$(id -un)}}
here=$(cd "$(dirname "$0")" && pwd)
fluxfsd=${FLUXFSD:-$(command -v fluxfsd || echo "$here/../build/fsd/fluxfsd")}
fluxfs=${FLUXFS:-$(command -v fluxfs || echo "$here/../build/tools/fluxfs")}
port=${OVERLAY_PORT:-18050}

case ${1:-} in
start)
	n=${2:?usage: $0 start N [FANOUT]}
	k=${3:-2}
	mkdir -p "$dir"
	[ -f "$dir/keys/key.pem" ] || "$fluxfs" keygen "$dir/keys" >/dev/null
	{
		printf '{"version": 1, "fanout": %d,\n "tls": {"ca": "%s/keys/ca.pem", "cert": "%s/keys/cert.pem", "key": "%s/keys/key.pem"},\n "brokers": [' \
			"$k" "$dir" "$dir" "$dir"
		for ((i = 0; i < n; i++)); do
			[ "$i" -gt 0 ] && printf ','
			printf '\n  {"host": "node%d", "bind": "tls+tcp://127.0.0.1:%d", "connect": "tls+tcp://127.0.0.1:%d"}' \
				"$i" $((port + i)) $((port + i))
		done
		printf ']}\n'
	} > "$dir/boot.json"
	for ((i = 0; i < n; i++)); do
		mkdir -p "$dir/state$i" "$dir/mnt$i"
		printf '{"version": 1, "execution": {"R_lite": [{"rank": "0", "children": {"core": "0"}}], "nodelist": ["node%d"]}}\n' \
			"$i" > "$dir/R$i.json"
		"$fluxfsd" --bootstrap "$dir/boot.json" --rank "$i" --state "$dir/state$i" \
			--resources "$dir/R$i.json" "$dir/mnt$i"
	done
	for _ in $(seq 100); do
		up=$(grep -c '^overlay\.[0-9]*: .* state=up ' "$dir/mnt0/status" || true)
		[ "$up" = "$n" ] && break
		sleep 0.1
	done
	echo "$up of $n nodes up; the leader's tree: $dir/mnt0" >&2
	echo "$dir/mnt0"
	;;
stop)
	for m in $(ls -d "$dir"/mnt* 2>/dev/null | sort -rV); do
		fusermount3 -u "$m" 2>/dev/null || true
	done
	;;
*)
	echo "usage: $0 start N [FANOUT] | stop" >&2
	exit 2
	;;
esac
