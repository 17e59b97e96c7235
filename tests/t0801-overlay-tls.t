#!/bin/bash
# Brokers authenticate each other with mutual TLS (doc/overlay.md): keys
# from `fluxfs keygen`; a broker whose certificate another CA signed is
# refused, both sides say why in their logs, and its node stays down.
. "$(dirname "$0")/lib.sh"
plan 13

FLUXFS=$(dirname "$FLUXFSD")/../tools/fluxfs
ok "fluxfs keygen writes the instance's credentials" quiet "$FLUXFS" keygen "$T/keys"
is "$(stat -c %a "$T/keys/key.pem") $(ls "$T/keys" | tr '\n' ' ')" "600 ca.pem cert.pem key.pem " \
	"ca.pem, cert.pem, key.pem (0600), nothing else (the CA's key is gone)"
nok "keygen does not overwrite them" "$FLUXFS" keygen "$T/keys" 2>/dev/null
quiet "$FLUXFS" keygen "$T/other"

OVERLAY_TLS=$T/keys overlay_start 3 2 || bail_out "cannot start 3 brokers"
ok "3 brokers join over tls+tcp://" overlay_wait_up 30 || diag "$(grep overlay "$MNT/status")"
unlike "$(cat "$T/log0")" "insecure" "no insecure warning"

# rank 2 again, with a certificate of another CA
kill -9 "${OVERLAY_PIDS[2]}"
wait_until 10 sh -c "grep -q '^overlay.2: .* state=lost' '$MNT/status'"
fusermount3 -uz "$T/m2" 2>/dev/null
overlay_write_boot 3 2 "$T/other" > "$T/boot-other.json"
overlay_start_rank 2 "$T/boot-other.json" || bail_out "cannot restart rank 2"
sleep 3
isnt "$(overlay_state 2)" up "a broker of another CA does not join"
# (nng 1.5.2's dialer may stall in the refused handshake instead of
# failing: then the leader says so and dials again)
ok "the leader says why" wait_until 15 grep -Eq "rank 2 at tls\+tcp://127.0.0.1:[0-9]*: .*(refused by TLS|no answer)" "$T/log0"
ok "so does the refused broker" wait_until 10 grep -q "connections to tls+tcp://.*failed: .*refused by TLS" "$T/log2"
is "$(cat "$MNT/resources/cluster0/n2/state")" "node down" "its node stays down"
like "$(overlay_state 2)" "refused|lost" "status says it was refused (or lost)"

# with the instance's certificate it joins
kill -9 "${OVERLAY_PIDS[2]}"
fusermount3 -uz "$T/m2" 2>/dev/null
sleep 0.5
overlay_start_rank 2 || bail_out "cannot restart rank 2"
ok "with the right certificate it joins" overlay_wait_up 30
mkjob_nodes 'echo $FLUX_TASK_RANK' 3 > three.yaml
id=$(submit three.yaml)
is "$(wait_job "$id" 30) $(jobfile "$id" stdout | sort | tr '\n' ' ')" "COMPLETED 0 0 1 2 " \
	"a 3-node job runs over TLS"

# plain tcp:// without "insecure" is refused at start
sed 's/tls+tcp/tcp/g' "$T/boot.json" > "$T/boot-plain.json"
mkdir -p "$T/m9"
like "$("$FLUXFSD" -f --bootstrap "$T/boot-plain.json" --rank 1 -s "$T/s9" "$T/m9" 2>&1)" \
	"is not tls\+tcp:// \(set \"insecure\": true" "plain tcp:// needs \"insecure\": true"
