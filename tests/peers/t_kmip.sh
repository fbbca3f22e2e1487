# SPDX-License-Identifier: GPL-2.0
#
# The KMIP provider against pykmip-server (python3-pykmip) on 127.0.0.1,
# with a CA, server and client certificates made for the run, and against
# tests/peers/fake-kmip.py, a peer that misbehaves.
#
# Volumes that must later reach a misbehaving peer are formatted through
# the fake peer in forward mode (it relays TLS to pykmip-server as it is),
# so the wrap slot names the fake peer's port; the test then switches the
# fake peer's mode, or stops it.  Tests that swap certificates format with
# per-test copies of the certificate files and then overwrite the copies.

. "$PEERS/kmip.sh"

setup_file() {
	kmip_setup || return 0
	[ -x "$TOP/build/bin/envcrypt-header-edit" ] ||
		make -C "$TOP" build/bin/envcrypt-header-edit >/dev/null
}


# new_volume URI NAME: a CMK alias/NAME in the KMS at URI (its id in
# $cmk_id), and img formatted with it
new_volume() {
	ctl_rc 0 kms create-key --spec AES_256 --kms "$1" --alias "$2"
	cmk_id=$(sed -n 's/^id: *//p' ctl.out)
	[ -n "$cmk_id" ] || fail "create-key printed no id: $(cat ctl.out)"
	image img
	ctl_rc 0 format img --kms "$1" --key "alias/$2" --yes
}

# elapsed_ms CMD...: run CMD (its status in $rc), its run time in $ms
elapsed_ms() {
	local t0 t1

	t0=$(date +%s%N)
	rc=0
	"$@" || rc=$?
	t1=$(date +%s%N)
	ms=$(((t1 - t0) / 1000000))
}

# open_bounded EXPECTED_RC: open --verify-only img within 20 s, no crash
open_bounded() {
	rc=0
	timeout -k 2 20 "$ENVCRYPTCTL" open --verify-only img \
		>ctl.out 2>&1 || rc=$?
	[ "$rc" != 124 ] && [ "$rc" != 137 ] ||
		fail "open --verify-only hung (killed after 20 s): $(cat ctl.out)"
	[ "$rc" -lt 128 ] || fail "open --verify-only crashed: exit $rc: $(cat ctl.out)"
	[ "$rc" = "$1" ] ||
		fail "open --verify-only: exit $rc, expected $1: $(cat ctl.out)"
}

# no_secrets: the last output holds no key material or PEM
no_secrets() {
	out_lacks "PRIVATE KEY"
	out_lacks "BEGIN"
	out_lacks "$(sed -n 2p "$KMIP_PKI/client.key")"
}

test_create_format_verify_only() {
	kmip_need
	new_volume "$KMIP_URI" verify
	ctl_rc 0 open --verify-only img
	assert_eq "img: data key unwrapped through wrap slot 0 (CMK $cmk_id in $KMIP_URI); key check value matches" \
		"$(cat ctl.out)" "open --verify-only"
	no_secrets
	ctl_rc 0 kms describe-key --kms "$KMIP_URI" alias/verify
	out_has "alias/verify"
	out_has "Enabled"
	ctl_rc 0 kms list-keys --kms "$KMIP_URI"
	out_has "alias/verify"
	no_secrets
}

test_wrong_aad_refused() {
	kmip_need
	new_volume "$KMIP_URI" aad
	"$TOP/build/bin/envcrypt-header-edit" img sector_size 4096 >edit.out 2>&1 ||
		fail "envcrypt-header-edit: $(cat edit.out)"
	ctl_rc 5 open --verify-only img
	out_has "envcryptctl: img: the data key wrapped by CMK $cmk_id in KMIP KMS 127.0.0.1:$KMIP_PORT does not authenticate: the header was changed, or the wrapped key belongs to another volume"
	no_secrets
}

test_disabled_key_final() {
	kmip_need
	new_volume "$KMIP_URI" revoked
	ctl_rc 0 kms disable-key --kms "$KMIP_URI" alias/revoked --force
	ctl_rc 3 open --verify-only img
	out_has "envcryptctl: img: CMK $cmk_id (alias/revoked) is Disabled in KMIP KMS 127.0.0.1:$KMIP_PORT"
	out_has "(KMIP state Deactivated); KMIP cannot reactivate a revoked key: open the volume through another wrap slot"
	out_lacks "enable it"
	out_lacks "tried"
	no_secrets
}

test_scheduled_deletion_final() {
	kmip_need
	new_volume "$KMIP_URI" doomed
	ctl_rc 0 kms schedule-deletion --kms "$KMIP_URI" alias/doomed --days 7 --force
	ctl_rc 3 open --verify-only img
	out_has "envcryptctl: img: CMK $cmk_id (alias/doomed) is PendingDeletion in KMIP KMS 127.0.0.1:$KMIP_PORT, deleted on "
	out_has "; it was revoked when its deletion was scheduled, and KMIP cannot reactivate a revoked key: open the volume through another wrap slot"
	out_lacks "enable it"
}

# The KMS stops listening (the fake peer that relayed to pykmip is gone):
# retryable, exit 4, within the timeout plus the retries' backoff.
test_kms_gone_retryable() {
	kmip_need
	fake_kmip_start
	new_volume "$(kmip_uri_at "$FAKE_PORT" "$KMIP_PKI" timeout=2)" gone
	ctl_rc 0 open --verify-only img
	fake_kmip_stop
	elapsed_ms open_bounded 4
	out_has "KMIP KMS 127.0.0.1:$FAKE_PORT: connection refused"
	out_has "(tried 3 times)"
	out_has "retry when the KMS is reachable"
	[ "$ms" -lt 3000 ] || fail "exit 4 after $ms ms, expected < 3000 ms"
	no_secrets
}

# Accepts, handshakes, never answers: exit 4 after the 1 s timeout.
test_silent_server_times_out() {
	kmip_need
	fake_kmip_start
	new_volume "$(kmip_uri_at "$FAKE_PORT" "$KMIP_PKI" timeout=1)" silent
	fake_kmip_mode silent
	elapsed_ms open_bounded 4
	out_has "KMIP KMS 127.0.0.1:$FAKE_PORT: no answer within 1 s"
	out_has "retry when the KMS is reachable"
	[ "$ms" -ge 900 ] && [ "$ms" -lt 2500 ] ||
		fail "exit 4 after $ms ms, expected about 1000 ms"
	fake_kmip_stop
}

# A peer that accepts TCP and never starts TLS: the handshake times out.
test_handshake_timeout() {
	kmip_need
	fake_kmip_start
	new_volume "$(kmip_uri_at "$FAKE_PORT" "$KMIP_PKI" timeout=1)" nohello
	fake_kmip_stop
	FAKE_PORT_SAVED=$FAKE_PORT
	start_bg tarpit /usr/bin/python3 -c 'import socket, sys, time
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(sys.argv[1])))
s.listen(8)
conns = []
while True:
	conns.append(s.accept()[0])' "$FAKE_PORT_SAVED"
	wait_port "$FAKE_PORT_SAVED" 10 || fail "the tarpit did not start"
	elapsed_ms open_bounded 4
	out_has "KMIP KMS 127.0.0.1:$FAKE_PORT_SAVED: no answer within 1 s during the TLS handshake"
	[ "$ms" -lt 2500 ] || fail "exit 4 after $ms ms, expected about 1000 ms"
	stop_bg tarpit
}

test_wrong_client_certificate_refused() {
	kmip_need
	kmip_pki_copy "$T/p"
	new_volume "$(kmip_uri_at "$KMIP_PORT" "$T/p")" rogueclient
	cp "$KMIP_PKI/rogue-client.pem" "$T/p/client.pem"
	cp "$KMIP_PKI/rogue-client.key" "$T/p/client.key"
	ctl_rc 2 open --verify-only img
	out_has "KMIP KMS 127.0.0.1:$KMIP_PORT: the server refused our client certificate $T/p/client.pem"
	out_lacks "tried"
	no_secrets
}

# A key file that is not the certificate's: a configuration error (exit 1)
# found before connecting.
test_client_key_mismatch_refused() {
	kmip_need
	kmip_pki_copy "$T/p"
	new_volume "$(kmip_uri_at "$KMIP_PORT" "$T/p")" mismatch
	cp "$KMIP_PKI/rogue-client.key" "$T/p/client.key"
	ctl_rc 1 open --verify-only img
	out_has "the client key $T/p/client.key does not match the client certificate $T/p/client.pem"
	no_secrets
}

test_untrusted_server_refused() {
	kmip_need
	kmip_pki_copy "$T/p"
	new_volume "$(kmip_uri_at "$KMIP_PORT" "$T/p")" untrusted
	cp "$KMIP_PKI/rogue-ca.pem" "$T/p/ca.pem"
	ctl_rc 2 open --verify-only img
	out_has "KMIP KMS 127.0.0.1:$KMIP_PORT: the server certificate is not trusted by $T/p/ca.pem"
	out_has "give the CA that signed the server's certificate with ca="
	out_lacks "tried"
}

# A server with a certificate from another CA (an impostor on the address).
test_impostor_server_refused() {
	kmip_need
	fake_kmip_start
	new_volume "$(kmip_uri_at "$FAKE_PORT" "$KMIP_PKI")" impostor
	# the same port, now with the rogue CA's server certificate
	fake_kmip_start silent rogue-server "$FAKE_PORT"
	open_bounded 2
	out_has "KMIP KMS 127.0.0.1:$FAKE_PORT: the server certificate is not trusted by $KMIP_PKI/ca.pem"
	fake_kmip_stop
}

# fake_case MODE EXPECTED_RC FRAGMENT...: a volume formatted through the
# fake peer, then the peer in MODE: a clean error, no hang, no crash.  A
# peer that answers garbage fails at once (2); one that closes the
# connection before a whole answer went away mid-request, which is
# transient: tried 3 times, then unreachable (4).
fake_case() {
	local mode=$1 want=$2 f

	shift 2
	fake_kmip_start
	new_volume "$(kmip_uri_at "$FAKE_PORT" "$KMIP_PKI" timeout=3)" "fake-$mode"
	fake_kmip_mode "$mode"
	elapsed_ms open_bounded "$want"
	out_has "KMIP KMS 127.0.0.1:$FAKE_PORT"
	for f in "$@"; do
		out_has "$f"
	done
	if [ "$want" = 4 ]; then
		out_has "(tried 3 times)"
	else
		out_lacks "tried"
	fi
	no_secrets
	fake_kmip_stop
	[ "$ms" -lt 3000 ] || fail "$mode: $ms ms, a clean error should come at once"
}

test_fake_peer_garbage() {
	kmip_need
	fake_case garbage 2 \
		"answered with something that is not a KMIP Response Message (it starts with "
}

test_fake_peer_truncated() {
	kmip_need
	fake_case truncated 4 \
		"the server closed the connection in the middle of a reply (10 of 200 bytes)"
}

test_fake_peer_huge() {
	kmip_need
	fake_case huge 2 \
		"answered with a KMIP message of 1073741832 bytes, more than the 65536 bytes envcrypt accepts"
}

test_fake_peer_close() {
	kmip_need
	fake_case close 4 "the server closed the connection before it answered"
}

test_fake_peer_wrong_type() {
	kmip_need
	# a Response Message tag (42 00 7b) of type Integer (02)
	fake_case wrong-type 2 \
		"answered with something that is not a KMIP Response Message (it starts with 42 00 7b 02 "
}

test_fake_peer_wrong_tag() {
	kmip_need
	# a Request Message (42 00 78) structure (01)
	fake_case wrong-tag 2 \
		"answered with something that is not a KMIP Response Message (it starts with 42 00 78 01 "
}

test_fake_peer_no_batch_item() {
	kmip_need
	fake_case no-batch 2 "batch item"
}

test_fake_peer_not_tls() {
	kmip_need
	fake_case no-tls 2 \
		"the server does not speak TLS (wrong version number); check the port"
}

# Last: pykmip-server itself stopped.  Retryable, within the timeout.
test_zz_server_stopped() {
	kmip_need
	new_volume "$(kmip_uri "ca=$KMIP_PKI/ca.pem&cert=$KMIP_PKI/client.pem&key=$KMIP_PKI/client.key&timeout=2")" stopped
	ctl_rc 0 open --verify-only img
	kmip_server_stop
	elapsed_ms open_bounded 4
	out_has "KMIP KMS 127.0.0.1:$KMIP_PORT: connection refused"
	out_has "(tried 3 times)"
	out_has "retry when the KMS is reachable"
	[ "$ms" -lt 3000 ] || fail "exit 4 after $ms ms, expected < 3000 ms"
	kmip_server_restart
	ctl_rc 0 open --verify-only img
}
