# SPDX-License-Identifier: GPL-2.0
#
# KMS faults: the KMS stops during open, rewrap and share, and comes back.
# Whatever the moment, nothing is half-written (the image is byte for byte
# what it was, or the command succeeded), the exit code says whether to
# retry, and a retry once the KMS is back succeeds.
#
# KMIP: pykmip-server behind tests/peers/kms-fault-proxy.py, which relays
# TLS as it is and counts connections and requests, so that a test can
# stop the KMS at exactly the Nth request of a command (the proxy's
# modes: see the script).  Volumes are formatted through the proxy, so
# their wrap slots name it.  exec: the example plugin behind
# tests/peers/plugins/flaky, which fails from its Nth invocation on.
# local: the keystore directory renamed away.
#
# A failed attempt is checked with same_image (every byte of the image,
# no new file in $T) and dump (both header copies ok, same sequence).
# Without device-mapper on the host, "no device" is checked as no loop
# device on the image, no /dev/mapper/NAME and no envcrypt key in
# /proc/keys; the data reading back is the image unchanged and
# open --verify-only matching the key check value (the guest tests open
# real devices).

# id_NAME variables are set through eval by kmip_keys
# shellcheck disable=SC2154
. "$PEERS/kmip.sh"

PROXY=$PEERS/kms-fault-proxy.py
FLAKY=$PEERS/plugins/flaky

setup_file() {
	kmip_setup || return 0
	PROXY_PORT=$(free_port)
	PROXY_CTL=$PEER_TMP/proxy.ctl
	PROXY_STATS=$PEER_TMP/proxy.stats
	export PROXY_PORT PROXY_CTL PROXY_STATS
	echo forward >"$PROXY_CTL"
	start_bg proxy "$KMIP_PYTHON" "$PROXY" --port "$PROXY_PORT" \
		--to "$KMIP_PORT" --control "$PROXY_CTL" --stats "$PROXY_STATS"
	wait_port "$PROXY_PORT" 10 || {
		cat "$PEER_TMP/proxy.log" >&2
		return 1
	}
	PROXY_URI=$(kmip_uri_at "$PROXY_PORT" "$KMIP_PKI" timeout=2)
	export PROXY_URI
}


# proxy_volume NAME...: CMKs alias/NAME (kmip_keys), the proxy
# forwarding, and img (4 MiB) formatted through it with the first
proxy_volume() {
	local first=id_$1

	kmip_need PROXY_URI
	proxy_mode forward
	kmip_keys "$@"
	image img 4
	ctl_rc 0 format img --kms "$PROXY_URI" --key "${!first}" --yes
}

# proxy_mode MODE: the proxy in MODE from now on, its counters at zero
proxy_mode() {
	local token n=0

	token=$$.$RANDOM.$(date +%N)
	printf '%s\n%s\n' "$1" "$token" >"$PROXY_CTL.new"
	mv "$PROXY_CTL.new" "$PROXY_CTL"
	while [ $((n += 1)) -le 200 ]; do
		[ "$(sed -n 2p "$PROXY_STATS")" = "set $token" ] && return 0
		sleep 0.01
	done
	fail "the fault proxy did not take mode '$1': $(cat "$PROXY_STATS")"
}

# proxy_stat NAME: connections, requests, replies or cuts since proxy_mode
proxy_stat() {
	awk -v f="$1" 'NR == 1 { for (i = 1; i < NF; i++) if ($i == f) print $(i + 1) }' \
		"$PROXY_STATS"
}

# kmip_keys NAME...: AES_256 CMKs alias/NAME on pykmip-server (through
# the proxy); each id in id_NAME
kmip_keys() {
	local k

	for k in "$@"; do
		ctl_rc 0 kms create-key --spec AES_256 --kms "$PROXY_URI" \
			--alias "kf-$k-$$"
		eval "id_$k=\$(sed -n 's/^id: *//p' ctl.out)"
	done
}

# elapsed_ms CMD...: run CMD (its status in $rc), its run time in $ms
elapsed_ms() {
	local t0

	t0=$(date +%s%N)
	rc=0
	"$@" || rc=$?
	ms=$((($(date +%s%N) - t0) / 1000000))
}

# files: the files of $T but the command's output, logs and registry
files() {
	local f

	for f in "$T"/* "$T"/.[!.]*; do
		[ -e "$f" ] || continue
		case ${f##*/} in
		ctl.out | audit.log | registry* | dump.out | count* | ops | fail) ;;
		*) printf '%s ' "${f##*/}" ;;
		esac
	done
}

# snap: remember the image and the files of $T
snap() {
	img_sum=$(sha256sum <img)
	img_files=$(files)
	img_seq=$(seq_of)
}

# seq_of: the header's sequence number, after checking that both copies
# are ok (dump reads no KMS)
seq_of() {
	"$ENVCRYPTCTL" dump img >dump.out 2>&1 || fail "dump: $(cat dump.out)"
	grep -qx "header copy 0: ok" dump.out || fail "dump: $(cat dump.out)"
	grep -qx "header copy 1: ok" dump.out || fail "dump: $(cat dump.out)"
	sed -n 's/^sequence: *//p' dump.out
}

# same_image WHAT: the image is byte for byte as at snap, no file was left
same_image() {
	[ "$(sha256sum <img)" = "$img_sum" ] ||
		fail "$1: the image changed: $(cat ctl.out)"
	assert_eq "$img_files" "$(files)" "$1: files in \$T"
	assert_eq "$img_seq" "$(seq_of)" "$1: header sequence"
}

# no_device NAME: open left no loop device, dm device or keyring key
no_device() {
	local loops

	loops=$(losetup -j "$T/img") || fail "losetup -j $T/img failed"
	assert_eq "" "$loops" "loop devices on img"
	[ ! -e "/dev/mapper/$1" ] || fail "/dev/mapper/$1 exists"
	! grep -q " logon *envcrypt:" /proc/keys ||
		fail "a key is left in a keyring: $(grep envcrypt: /proc/keys)"
}

# no_secrets_logged: the audit log holds no PEM and no client key
no_secrets_logged() {
	! grep -q -e "BEGIN" -e "PRIVATE" "$ENVCRYPT_AUDIT_LOG" ||
		fail "the audit log holds PEM: $(cat "$ENVCRYPT_AUDIT_LOG")"
	! grep -qF "$(sed -n 2p "$KMIP_PKI/client.key")" "$ENVCRYPT_AUDIT_LOG" ||
		fail "the audit log holds the client key"
}

# audit_has PATTERN: a line of the audit log matches PATTERN (grep -E)
audit_has() {
	grep -qE "$1" "$ENVCRYPT_AUDIT_LOG" ||
		fail "no audit record like $1: $(cat "$ENVCRYPT_AUDIT_LOG")"
}

REFUSED="connection refused; is the KMS running and listening on 127.0.0.1 port"

# The KMS is stopped (port closed) when open starts: exit 4 after three
# tries (100 + 400 ms of backoff), no device, the image untouched; open
# works once it is back.
test_open_kms_down_then_back() {
	proxy_volume a
	snap
	proxy_mode down
	elapsed_ms ctl open img kf-down-$$
	assert_eq 4 "$rc" "open while the KMS is down: $(cat ctl.out)"
	assert_eq "envcryptctl: img: KMIP KMS 127.0.0.1:$PROXY_PORT: $REFUSED $PROXY_PORT? (tried 3 times); retry when the KMS is reachable" \
		"$(cat ctl.out)" "open while the KMS is down"
	if [ "$ms" -lt 500 ] || [ "$ms" -ge 3000 ]; then
		fail "exit 4 after $ms ms, expected 500 ms of backoff and little more"
	fi
	no_device "kf-down-$$"
	same_image "open while the KMS is down"
	ctl_rc 4 open --verify-only img
	proxy_mode forward
	ctl_rc 0 open --verify-only img
	out_has "img: data key unwrapped through wrap slot 0 (CMK $id_a in $PROXY_URI); key check value matches"
	assert_eq 1 "$(proxy_stat requests)" "KMIP requests of open"
	same_image "open after the KMS came back"
	audit_has "\"op\":\"unwrap\".*\"cmk\":\"$id_a\".*\"result\":\"error\",\"error\":\"ECONNREFUSED\""
	audit_has "\"op\":\"unwrap\".*\"cmk\":\"$id_a\".*\"result\":\"ok\""
	no_secrets_logged
}

# The KMS dies in the middle of open: during the TLS handshake, or after
# it got the Decrypt request and before it answered (open makes one
# request on one connection).  A connection closed before a whole answer
# is transient: open tries again, 100 and 400 ms later.  When the KMS
# stays down, that is exit 4 with the last refusal; nothing is written,
# and open works once the KMS is back.  When it is back at once, open
# succeeds on its own, on a second connection.
test_open_kms_dies_mid_request() {
	local mode

	proxy_volume a
	snap
	for mode in "cut-conn 1" "cut-reply 1"; do
		proxy_mode "$mode"
		rc=0
		ctl open img "kf-mid-$$" || rc=$?
		assert_eq "4 envcryptctl: img: KMIP KMS 127.0.0.1:$PROXY_PORT: $REFUSED $PROXY_PORT? (tried 3 times); retry when the KMS is reachable" \
			"$rc $(cat ctl.out)" "open, KMS cut at $mode"
		assert_eq 1 "$(proxy_stat cuts)" "cuts at $mode"
		no_device "kf-mid-$$"
		same_image "open, KMS cut at $mode"
		proxy_mode forward
		ctl_rc 0 open --verify-only img
		out_has "key check value matches"
	done
	audit_has "\"op\":\"unwrap\".*\"result\":\"error\",\"error\":\"ECONNREFUSED\""
	proxy_mode "cut-reply 1 forward"
	ctl_rc 0 open --verify-only img
	out_has "key check value matches"
	assert_eq "1 2 2" \
		"$(proxy_stat cuts) $(proxy_stat connections) $(proxy_stat requests)" \
		"cuts, connections and requests of an open whose first answer was lost"
	same_image "open, KMS back at once"
}

# The KMS comes back within the retry window: down for 300 ms when open
# starts, so the first try is refused and a later one, 100 or 500 ms on,
# gets through: open succeeds on its own (the connection refused is not
# seen by the proxy, so the time shows the wait).
test_open_kms_back_within_retry_window() {
	proxy_volume a
	proxy_mode "down-for 300"
	elapsed_ms ctl open --verify-only img
	assert_eq 0 "$rc" "open with the KMS back after 300 ms: $(cat ctl.out)"
	out_has "key check value matches"
	[ "$ms" -ge 100 ] || fail "open took $ms ms: it cannot have waited to try again"
	assert_eq "1 1" "$(proxy_stat connections) $(proxy_stat requests)" \
		"connections and requests that got through"
	# the KMS closes a reused connection after it got the Encrypt of
	# rewrap (its third request): the wrap is tried again on a new
	# connection, 100 ms later, and the rewrap succeeds
	proxy_mode forward
	kmip_keys b
	proxy_mode "cut-reply 3 forward"
	ctl_rc 0 rewrap img --key "$id_b"
	assert_eq "1 3 5" \
		"$(proxy_stat cuts) $(proxy_stat connections) $(proxy_stat requests)" \
		"cuts, connections and requests of the rewrap"
}

# sweep CMD: CMD against a KMS that dies at each KMIP request in turn
# (cut-reply K: the request reached the server, its answer is lost, the
# KMS stays down), then at each connection's TLS handshake (cut-conn K);
# each ends with the first K that cuts nothing (CMD succeeds).  A failed
# attempt must exit 4 (the connection closed: tried again, refused until
# the third try), and leave the image as it was; the retry, once the KMS is
# back, succeeds (done_check), and undo puts the volume back for the
# next cut.  The exit codes in order, "requests:N" (the requests of an
# uncut run) and "connections:N" go to $cuts.
sweep() {
	local cmd=$1 k mode

	cuts=
	for mode in cut-reply cut-conn; do
		for k in $(seq 1 12); do
			snap
			proxy_mode "$mode $k"
			rc=0
			# shellcheck disable=SC2086
			ctl $cmd || rc=$?
			if [ "$(proxy_stat cuts)" = 0 ]; then
				assert_eq 0 "$rc" "$cmd with nothing cut: $(cat ctl.out)"
				if [ "$mode" = cut-reply ]; then
					cuts="$cuts requests:$(proxy_stat requests)"
				else
					cuts="$cuts connections:$(proxy_stat connections)"
				fi
				proxy_mode forward
				done_check
				undo
				break
			fi
			cuts="$cuts $rc"
			case $rc in
			4) out_has "$REFUSED $PROXY_PORT? (tried 3 times)" ;;
			*) fail "$cmd, KMS cut at $mode $k: exit $rc: $(cat ctl.out)" ;;
			esac
			same_image "$cmd, KMS cut at $mode $k"
			proxy_mode forward
			# shellcheck disable=SC2086
			ctl_rc 0 $cmd
			done_check
			undo
		done
	done
	echo "sweep: $cmd:$cuts"
}

# rewrap --key to B and back to A, with the KMS cut at each request:
# the first connection (the slot's KMS) makes one request, Decrypt; the
# second (B's) three: Get Attributes of B, Encrypt, Decrypt of the new
# wrap.  A cut at any request or in either handshake is tried again on a
# new connection, refused, and exits 4.
test_rewrap_key_kms_cut_sweep() {
	proxy_volume a b
	done_check() {
		out_has "img: wrap slot 0 rewrapped: CMK $id_a (alias/kf-a-"
		ctl_rc 0 open --verify-only img
		out_has "(CMK $id_b in $PROXY_URI); key check value matches"
	}
	undo() {
		ctl_rc 0 rewrap img --key "$id_a"
	}
	sweep "rewrap img --key $id_b"
	assert_eq " 4 4 4 4 requests:4 4 4 connections:2" "$cuts" \
		"exit codes of rewrap --key cut at each request, then connection"
	ctl_rc 0 open --verify-only img
	out_has "(CMK $id_a in $PROXY_URI)"
	audit_has "\"op\":\"wrap\".*\"cmk\":\"$id_b\".*\"result\":\"error\""
	no_secrets_logged
}

# share to B (and unshare), with the KMS cut at each request, as rewrap.
test_share_kms_cut_sweep() {
	proxy_volume a b
	done_check() {
		out_has "img: shared in wrap slot 1: CMK $id_b (alias/kf-b-"
		ctl_rc 0 dump img
		out_has "  CMK:         $id_b"
	}
	undo() {
		ctl_rc 0 unshare img --slot 1
	}
	sweep "share img --key $id_b"
	assert_eq " 4 4 4 4 requests:4 4 4 connections:2" "$cuts" \
		"exit codes of share cut at each request, then connection"
	no_secrets_logged
}

# ---- exec: ----------------------------------------------------------

# flaky_keys: the example plugin's key directory with CMK db, behind the
# flaky plugin, whose state is in $T
flaky_keys() {
	/usr/bin/python3 -c 'import cryptography' 2>/dev/null ||
		skip "the example plugin needs /usr/bin/python3 with python3-cryptography"
	mkdir -p "$T/keys"
	head -c 32 /dev/urandom >"$T/keys/db.key"
	export ENVCRYPT_KEYFILE_DIR=$T/keys FLAKY_DIR=$T TOP
	PLUGIN=exec:$FLAKY
}

# flaky_fail FROM UNTIL HOW: the plugin's invocations FROM..UNTIL from
# now on (1 is the next one) fail with HOW
flaky_fail() {
	local n

	n=$(cat "$T/count" 2>/dev/null || echo 0)
	if [ "$2" = - ]; then
		echo "$((n + $1)) - $3" >"$T/fail"
	else
		echo "$((n + $1)) $((n + $2)) $3" >"$T/fail"
	fi
}

# flaky_ops: the ops of the invocations since flaky_mark
flaky_mark() {
	mark=$(cat "$T/count" 2>/dev/null || echo 0)
}
flaky_ops() {
	awk -v m="$mark" '$1 > m { printf "%s ", $2 }' "$T/ops"
}

# The plugin fails at each of the invocations of rewrap --rotate in turn
# (describe_key, unwrap, wrap, unwrap of the new wrap) and from then on,
# with exit status 3 and no reply (exit 2, not retried): the image is as
# before; once the plugin works, the retry wraps under the newest version
# (and has unwrapped that wrap again).  Unavailable: the next test.
test_exec_rewrap_rotate_sweep() {
	local k n=0 v=1

	flaky_keys
	image img 4
	ctl_rc 0 format img --kms "$PLUGIN" --key db --yes
	for k in 1 2 3 4 5; do
		ctl_rc 0 kms rotate-key db --kms "$PLUGIN"
		v=$((v + 1))
		snap
		flaky_mark
		flaky_fail "$k" - exit
		rc=0
		ctl rewrap img --rotate || rc=$?
		if [ "$k" = 5 ]; then
			assert_eq 0 "$rc" "rewrap --rotate uncut: $(cat ctl.out)"
			assert_eq "describe_key unwrap wrap unwrap " \
				"$(flaky_ops)" "plugin calls of rewrap --rotate"
		else
			n=$((n + 1))
			assert_eq 2 "$rc" "rewrap --rotate, plugin fails at $k: $(cat ctl.out)"
			out_has "it exited with status 3 and no reply; its stderr: \"flaky: invocation $((mark + k)) fails\""
			same_image "rewrap --rotate, plugin fails at $k"
			: >"$T/fail"
			ctl_rc 0 rewrap img --rotate
		fi
		out_has "-> CMK db version $v in $PLUGIN; data key unwrapped"
		: >"$T/fail"
	done
	assert_eq 4 "$n" "failed attempts"
	ctl_rc 0 open --verify-only img
	ctl_rc 0 dump img
	out_has "  CMK version: $v"
	audit_has "\"op\":\"wrap\".*\"cmk\":\"db\".*\"result\":\"error\""
	! grep -qF "$(base64 <"$T/keys/db.key" | head -c 24)" "$ENVCRYPT_AUDIT_LOG" ||
		fail "the audit log holds key material"
}

# Unavailable once: the next try (100 ms later) gets through and open
# succeeds on its own; Unavailable every time: exactly three tries.
test_exec_unavailable_retried() {
	flaky_keys
	image img 4
	ctl_rc 0 format img --kms "$PLUGIN" --key db --yes
	flaky_mark
	flaky_fail 1 1 unavailable
	ctl_rc 0 open --verify-only img
	assert_eq "unwrap unwrap " "$(flaky_ops)" "plugin calls"
	flaky_mark
	flaky_fail 1 - unavailable
	snap
	ctl_rc 4 open --verify-only img
	assert_eq "unwrap unwrap unwrap " "$(flaky_ops)" "plugin calls"
	out_has "(tried 3 times); retry when the KMS is reachable"
	same_image "open, plugin unavailable"
	: >"$T/fail"
	ctl_rc 0 open --verify-only img
}

# ---- local: ---------------------------------------------------------

# The local keystore directory is renamed away (its storage unmounted):
# open says the KMS cannot be reached (exit 4, not "CMK not found", exit
# 3), leaves no device, and works when the directory is back, also when
# it comes back while open still tries.  A CMK missing from a keystore
# that is there stays "not found".
test_local_keystore_gone() {
	local id

	export ENVCRYPT_KMS_DIR=$T/kms
	ctl_rc 0 kms create-key --spec AES_256 --alias db
	id=$(sed -n 's/^id: *//p' ctl.out)
	image img 4
	ctl_rc 0 format img --key alias/db --yes
	mv "$T/kms" "$T/kms.away"
	snap
	ctl_rc 4 open img "kf-local-$$"
	assert_eq "envcryptctl: img: local KMS $T/kms: the keystore directory $T/kms is missing (No such file or directory): mount its storage or put it back (tried 3 times); retry when the KMS is reachable" \
		"$(cat ctl.out)" "open without the keystore directory"
	no_device "kf-local-$$"
	same_image "open without the keystore directory"
	ctl_rc 4 kms describe-key alias/db
	ctl_rc 4 kms list-keys
	# back while open waits between its tries
	(sleep 0.2; mv "$T/kms.away" "$T/kms") &
	elapsed_ms ctl open --verify-only img
	wait
	assert_eq 0 "$rc" "open, the keystore back after 200 ms: $(cat ctl.out)"
	out_has "(CMK $id in local:$T/kms); key check value matches"
	[ "$ms" -ge 200 ] || fail "open took $ms ms: the keystore cannot have been away"
	# an empty keystore that is there does not know the CMK: final
	mv "$T/kms" "$T/kms.away"
	mkdir "$T/kms"
	ctl_rc 3 open --verify-only img
	out_has "CMK $id not found in local KMS $T/kms"
	rmdir "$T/kms"
	mv "$T/kms.away" "$T/kms"
	audit_has "\"op\":\"unwrap\".*\"cmk\":\"$id\".*\"result\":\"error\",\"error\":\"EHOSTUNREACH\""
	! grep -q "$(sed -n 's/^version 1 [0-9]* \(.\{16\}\).*/\1/p' "$T/kms/keystore")" \
		"$ENVCRYPT_AUDIT_LOG" || fail "the audit log holds key material"
}

# rewrap to another local keystore that is gone: exit 4, nothing written;
# once it is back the rewrap succeeds.
test_local_rewrap_target_gone() {
	export ENVCRYPT_KMS_DIR=$T/kms
	ctl_rc 0 kms create-key --spec AES_256 --alias db
	ctl_rc 0 kms create-key --spec AES_256 --alias far --kms "local:$T/kms2"
	image img 4
	ctl_rc 0 format img --key alias/db --yes
	mv "$T/kms2" "$T/kms2.away"
	snap
	ctl_rc 4 rewrap img --kms "local:$T/kms2" --key alias/far
	out_has "the keystore directory $T/kms2 is missing (No such file or directory): mount its storage or put it back (tried 3 times)"
	same_image "rewrap to a keystore that is gone"
	mv "$T/kms2.away" "$T/kms2"
	ctl_rc 0 rewrap img --kms "local:$T/kms2" --key alias/far
	ctl_rc 0 open --verify-only img
	out_has "in local:$T/kms2); key check value matches"
}
