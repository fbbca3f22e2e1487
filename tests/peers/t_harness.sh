# SPDX-License-Identifier: GPL-2.0
#
# The peer-test harness itself: setup_file's exports reach the tests,
# start_bg processes die with the file, make_pki makes a chain that
# verifies, and the local KMS works from the host.

setup_file() {
	export HARNESS_VALUE=from-setup
	start_bg sleeper sleep 600
}

test_setup_exports_reach_tests() {
	assert_eq from-setup "${HARNESS_VALUE:-}" "exported by setup_file"
	[ -d "$T" ] && [ "$PWD" = "$T" ] || fail "not in the scratch dir"
}

test_start_bg_and_stop_bg() {
	local pid

	pid=$(cat "$PEER_TMP/sleeper.pid")
	kill -0 "$pid" || fail "the background sleeper is not running"
	stop_bg sleeper
	! kill -0 "$pid" 2>/dev/null || fail "sleeper $pid survived stop_bg"
}

test_make_pki() {
	make_pki pki
	openssl verify -CAfile pki/ca.pem pki/server.pem pki/client.pem \
		>verify.out || fail "chain: $(cat verify.out)"
	! openssl verify -CAfile pki/ca.pem pki/rogue-client.pem \
		>/dev/null 2>&1 || fail "the rogue client verifies"
	openssl x509 -in pki/server.pem -noout -ext subjectAltName |
		grep -q 'IP Address:127.0.0.1' || fail "server SAN"
}

test_local_kms_verify_only() {
	image img
	ENVCRYPT_KMS_DIR=$T/kms ctl_rc 0 format img --yes
	ENVCRYPT_KMS_DIR=$T/kms ctl_rc 0 open --verify-only img
	out_has "img: data key unwrapped through wrap slot 0"
	# the keystore directory gone: unreachable (exit 4), not "not found"
	rm -rf "$T/kms"
	ctl_rc 4 open --verify-only img
	out_has "local KMS $T/kms: the keystore directory $T/kms is missing"
}
