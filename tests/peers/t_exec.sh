# SPDX-License-Identifier: GPL-2.0
#
# The exec: KMS provider against the example plugin
# (examples/kms-plugin/envcrypt-kms-keyfile) and against misbehaving
# plugins (tests/peers/plugins/): every failure is one clean message with
# its exit code, within the timeout, and no plugin process outlives it.

KEYFILE=$TOP/examples/kms-plugin/envcrypt-kms-keyfile
PLUGINS=$PEERS/plugins
HEADER_EDIT=$TOP/build/bin/envcrypt-header-edit

setup_file() {
	[ -x "$HEADER_EDIT" ] || make -C "$TOP" build/bin/envcrypt-header-edit
}

# keys: a key directory for the example plugin in $T with one 32-byte
# CMK "db"; plugins write their pids to $T/pids
keys() {
	/usr/bin/python3 -c 'import cryptography' 2>/dev/null ||
		skip "the example plugin needs /usr/bin/python3 with python3-cryptography"
	mkdir -p "$T/keys"
	head -c 32 /dev/urandom >"$T/keys/db.key"
	export ENVCRYPT_KEYFILE_DIR=$T/keys PLUGIN_PIDS=$T/pids
	: >"$PLUGIN_PIDS"
}

# formatted: img formatted with CMK db through the example plugin, copied
# to $T/plugin so that a test can swap in another program afterwards
formatted() {
	keys
	cp "$KEYFILE" "$T/plugin"
	image img
	ctl_rc 0 format img --kms "exec:$T/plugin${1:-}" --key db --yes
}

# out_is TEXT: the last envcryptctl output is exactly TEXT
out_is() {
	assert_eq "$1" "$(cat ctl.out)" "envcryptctl output"
}

# no_plugin_left: every process a plugin recorded in $T/pids is gone (a
# zombie counts as gone: the init of some containers reaps no orphans)
no_plugin_left() {
	local pid st

	[ -s "$T/pids" ] || fail "no plugin ran (no pid in $T/pids)"
	for pid in $(cat "$T/pids"); do
		st=$(ps -o stat= -p "$pid" 2>/dev/null) || continue
		[[ $st == Z* ]] ||
			fail "plugin process $pid outlived envcryptctl ($st)"
	done
}

# now_ms: monotonic enough for a test, in milliseconds
now_ms() {
	echo $(($(date +%s%N) / 1000000))
}

test_format_then_verify_only() {
	keys
	image img
	ctl_rc 0 format img --kms "exec:$KEYFILE" --key db --yes
	out_has "CMK db in exec:$KEYFILE"
	ctl_rc 0 open --verify-only img
	out_is "img: data key unwrapped through wrap slot 0 (CMK db in exec:$KEYFILE); key check value matches"
	ctl_rc 0 dump img
	out_has "KMS:         exec:$KEYFILE"
	out_has "wrapped key: 94 bytes"
}

test_timeout_is_kept_in_the_canonical_uri() {
	formatted "?timeout=7"
	ctl_rc 0 dump img
	out_has "KMS:         exec:$T/plugin?timeout=7"
	ctl_rc 0 open --verify-only img
	# the default timeout is not written out
	image img2
	ctl_rc 0 format img2 --kms "exec:$T/plugin?timeout=5" --key db --yes
	ctl_rc 0 dump img2
	out_has "KMS:         exec:$T/plugin"$'\n'
}

test_wrong_aad_refused() {
	formatted
	"$HEADER_EDIT" img sector_size 4096 || fail "header edit failed"
	ctl_rc 5 open --verify-only img
	out_is "envcryptctl: img: KMS plugin $T/plugin: the data key wrapped by CMK db does not authenticate with this encryption context (InvalidCiphertext: \"the ciphertext does not authenticate with this key and context\"); the header was changed, or the wrapped key belongs to another volume"
}

test_key_disabled_is_final() {
	formatted
	ctl_rc 0 kms disable-key db --kms "exec:$T/plugin" --force
	out_has "state:         Disabled"
	ctl_rc 3 open --verify-only img
	out_is "envcryptctl: img: KMS plugin $T/plugin: CMK db is Disabled (KeyDisabled: \"key db is disabled\"); enable it to open this volume"
	ctl_rc 0 kms enable-key db --kms "exec:$T/plugin"
	ctl_rc 0 open --verify-only img
}

test_key_pending_deletion_is_final() {
	formatted
	ctl_rc 0 kms schedule-deletion db --days 7 --kms "exec:$T/plugin" --force
	out_has "state:         PendingDeletion"
	ctl_rc 3 open --verify-only img
	out_is "envcryptctl: img: KMS plugin $T/plugin: CMK db is PendingDeletion (KeyPendingDeletion: \"key db is pending deletion\"); cancel its deletion and enable it first"
	ctl_rc 0 kms cancel-deletion db --kms "exec:$T/plugin"
	out_has "state:         Disabled"
}

test_access_denied_is_final() {
	formatted
	touch "$T/keys/db.deny"
	ctl_rc 3 open --verify-only img
	out_is "envcryptctl: img: KMS plugin $T/plugin: access to CMK db denied (AccessDenied: \"this host may not use key db\"); ask the CMK's owner to grant this host access"
}

test_key_not_found_is_final() {
	formatted
	rm "$T/keys/db.key"
	ctl_rc 3 open --verify-only img
	out_is "envcryptctl: img: KMS plugin $T/plugin: CMK db not found (KeyNotFound: \"no key db in $T/keys\"); check the key id or alias, and that this host uses the KMS that holds it"
}

test_backend_unavailable_is_retryable() {
	formatted
	mv "$T/keys" "$T/keys.away"
	ctl_rc 4 open --verify-only img
	out_has "envcryptctl: img: KMS plugin $T/plugin: the KMS is unavailable for unwrap of CMK db (Unavailable: \"key directory $T/keys is not available\")"
	out_has "; retry when the KMS is reachable"
	mv "$T/keys.away" "$T/keys"
	ctl_rc 0 open --verify-only img
}

test_admin_operations() {
	local id

	keys
	ctl_rc 0 kms create-key --spec AES_256 --alias web --kms "exec:$KEYFILE"
	out_has "alias:         alias/web"
	id=$(sed -n 's/^id: *//p' ctl.out)
	[ -f "$T/keys/$id.key" ] || fail "no key file for $id"
	ctl_rc 0 kms describe-key alias/web --kms "exec:$KEYFILE"
	out_has "id:            $id"
	ctl_rc 0 kms rotate-key alias/web --kms "exec:$KEYFILE"
	out_has "versions:      2"
	ctl_rc 0 kms list-keys --kms "exec:$KEYFILE"
	out_has "$id alias/web"
	out_has "db "
	ctl_rc 6 kms create-key --spec AES_256 --alias web --kms "exec:$KEYFILE"
	out_is "envcryptctl: KMS plugin $KEYFILE refused create_key: already exists (AlreadyExists: \"alias/web is already taken by key $id\")"
	ctl_rc 2 kms create-key --spec SM4 --kms "exec:$KEYFILE"
	out_is "envcryptctl: KMS plugin $KEYFILE does not support create_key (Unsupported: \"this example makes AES_256 keys only, not SM4\")"
	ctl_rc 1 kms schedule-deletion db --days 3 --kms "exec:$KEYFILE"
	out_is "envcryptctl: KMS plugin $KEYFILE refused schedule_deletion of CMK db as invalid (InvalidRequest: \"the waiting period must be 7 to 30 days, not 3\")"
}

test_format_with_a_rotated_key_unwraps_the_old_version() {
	formatted
	ctl_rc 0 kms rotate-key db --kms "exec:$T/plugin"
	ctl_rc 0 open --verify-only img
	image img2
	ctl_rc 0 format img2 --kms "exec:$T/plugin" --key db --yes
	ctl_rc 0 dump img2
	out_has "CMK version: 2"
}

test_optional_operation_not_offered() {
	keys
	ctl_rc 2 kms create-key --spec AES_256 --kms "exec:$PLUGINS/minimal"
	out_is "envcryptctl: KMS plugin $PLUGINS/minimal does not offer create_key (it offers: hello, describe_key, wrap, unwrap)"
	ctl_rc 2 kms disable-key db --kms "exec:$PLUGINS/minimal"
	out_is "envcryptctl: KMS plugin $PLUGINS/minimal does not offer disable_key (it offers: hello, describe_key, wrap, unwrap)"
}

test_nothing_secret_in_argv_or_environment() {
	keys
	export SPY_DIR=$T/spy
	mkdir "$SPY_DIR"
	image img
	ENVCRYPT_PKCS11_PIN=Pin-4hq9-secret ctl_rc 0 format img \
		--kms "exec:$PLUGINS/spy" --key db --yes
	assert_eq "$PLUGINS/spy" "$(cat "$SPY_DIR/argv")" "the plugin's argv"
	! grep -q 'Pin-4hq9-secret' "$SPY_DIR/env" ||
		fail "a PKCS#11 PIN reached the plugin"
	# the environment is envcryptctl's own less that PIN: nothing added
	env | sort >env.ours
	grep -vE '^(_|SHLVL|PWD|OLDPWD)=' "$SPY_DIR/env" | sort >env.plugin
	grep -vE '^(_|SHLVL|PWD|OLDPWD)=' env.ours >env.ours2
	diff env.ours2 env.plugin >env.diff || fail "the plugin's environment differs: $(cat env.diff)"
	# the wrap request: the 64-byte data key in base64, the context
	/usr/bin/python3 - "$SPY_DIR/request" <<'EOF' || fail "bad wrap request"
import base64, json, sys
req = json.load(open(sys.argv[1]))
assert set(req) == {"protocol", "op", "key", "plaintext", "context"}, req
assert req["protocol"] == 1 and req["op"] == "wrap" and req["key"] == "db"
assert len(base64.b64decode(req["plaintext"], validate=True)) == 64
assert req["context"].startswith("envcrypt-context-v1 volume="), req
assert req["context"].endswith(" cmk=db"), req
EOF
}

test_bad_uris_refused() {
	keys
	ctl_rc 1 kms describe-key db --kms "exec:plugin"
	out_is "envcryptctl: KMS URI 'exec:plugin': the plugin program 'plugin' is not an absolute path"
	ctl_rc 1 kms describe-key db --kms "exec:"
	out_is "envcryptctl: KMS URI 'exec:' names no plugin program: use exec:/path/to/program"
	ctl_rc 1 kms describe-key db --kms "exec:$T/none"
	out_is "envcryptctl: KMS plugin $T/none: No such file or directory; install it, or fix the path in the KMS URI"
	cp "$KEYFILE" plugin
	chmod -x plugin
	ctl_rc 1 kms describe-key db --kms "exec:$T/plugin"
	out_is "envcryptctl: KMS plugin $T/plugin is not executable: Permission denied; make it executable (chmod +x)"
	ctl_rc 1 kms describe-key db --kms "exec:$T"
	out_is "envcryptctl: KMS plugin $T is not a regular file; the KMS URI must name the plugin program"
	ctl_rc 1 kms describe-key db --kms "exec:$KEYFILE?timeout=301"
	out_is "envcryptctl: KMS URI 'exec:$KEYFILE?timeout=301': timeout '301' is not a number of seconds from 1 to 300"
	ctl_rc 1 kms describe-key db --kms "exec:$KEYFILE?tmeout=3"
	out_is "envcryptctl: KMS URI 'exec:$KEYFILE?tmeout=3': unknown parameter 'tmeout'; known: timeout"
}

test_plugin_crash() {
	keys
	ctl_rc 2 kms describe-key db --kms "exec:$PLUGINS/crash"
	out_is "envcryptctl: KMS plugin $PLUGINS/crash failed describe_key of CMK db: it was killed by signal 11 (Segmentation fault); its stderr: \"about to crash\""
	no_plugin_left
}

test_plugin_crash_on_unwrap() {
	formatted
	cp "$PLUGINS/crash" "$T/plugin"
	ctl_rc 2 open --verify-only img
	out_is "envcryptctl: img: KMS plugin $T/plugin failed unwrap of CMK db: it was killed by signal 11 (Segmentation fault); its stderr: \"about to crash\""
	no_plugin_left
}

test_plugin_hang_times_out() {
	local t0 ms

	keys
	t0=$(now_ms)
	ctl_rc 4 kms describe-key db --kms "exec:$PLUGINS/hang?timeout=1"
	ms=$(($(now_ms) - t0))
	out_is "envcryptctl: KMS plugin $PLUGINS/hang did not finish describe_key of CMK db within the timeout of 1 s (killed it); if the KMS is only slow, raise timeout= in the KMS URI"
	[ "$ms" -ge 1000 ] && [ "$ms" -lt 2500 ] ||
		fail "the timeout of 1 s took $ms ms"
	assert_eq 2 "$(wc -l <"$T/pids")" "processes of the hanging plugin"
	no_plugin_left
}

test_plugin_hang_on_unwrap_times_out() {
	local t0 ms

	formatted "?timeout=1"
	cp "$PLUGINS/hang" "$T/plugin"
	: >"$T/pids"
	t0=$(now_ms)
	ctl_rc 4 open --verify-only img
	ms=$(($(now_ms) - t0))
	out_is "envcryptctl: img: KMS plugin $T/plugin did not finish unwrap of CMK db within the timeout of 1 s (killed it); if the KMS is only slow, raise timeout= in the KMS URI; retry when the KMS is reachable"
	[ "$ms" -ge 1000 ] && [ "$ms" -lt 2500 ] ||
		fail "the timeout of 1 s took $ms ms"
	no_plugin_left
}

test_plugin_garbage() {
	keys
	ctl_rc 2 kms describe-key db --kms "exec:$PLUGINS/garbage"
	out_is "envcryptctl: KMS plugin $PLUGINS/garbage failed describe_key of CMK db: its reply is not JSON (JSON byte 0: 'H' where the top-level object must start)"
	no_plugin_left
}

test_plugin_huge_reply() {
	keys
	ctl_rc 2 kms describe-key db --kms "exec:$PLUGINS/huge"
	out_is "envcryptctl: KMS plugin $PLUGINS/huge failed describe_key of CMK db: it sent more than 65536 bytes (the most a reply may have)"
	no_plugin_left
}

test_plugin_truncated_reply() {
	keys
	ctl_rc 2 kms describe-key db --kms "exec:$PLUGINS/truncated"
	out_is "envcryptctl: KMS plugin $PLUGINS/truncated failed describe_key of CMK db: its reply is not JSON (JSON byte 50: the text ends inside a string (truncated))"
	no_plugin_left
}

test_plugin_exits_0_without_reply() {
	keys
	ctl_rc 2 kms describe-key db --kms "exec:$PLUGINS/empty"
	out_is "envcryptctl: KMS plugin $PLUGINS/empty failed describe_key of CMK db: it exited with status 0 and no reply"
	no_plugin_left
}

test_plugin_exits_nonzero_with_stderr() {
	keys
	ctl_rc 2 kms describe-key db --kms "exec:$PLUGINS/failing"
	out_is "envcryptctl: KMS plugin $PLUGINS/failing failed describe_key of CMK db: it exited with status 3 and no reply; its stderr: \"Unable to locate credentials. You can configure credentials by running \"aws configure\".\""
	no_plugin_left
}

test_plugin_other_protocol_version() {
	keys
	ctl_rc 2 kms describe-key db --kms "exec:$PLUGINS/version2"
	out_is "envcryptctl: KMS plugin $PLUGINS/version2 sent a bad reply to describe_key of CMK db: it is in protocol version 2, the request in version 1"
	ctl_rc 2 kms describe-key db --kms "exec:$PLUGINS/oldplugin"
	out_is "envcryptctl: KMS plugin $PLUGINS/oldplugin does not speak version 1 of the KMS plugin protocol (UnsupportedProtocol: \"this plugin speaks version 7\"); update the plugin"
}

test_unknown_error_code_is_a_protocol_error() {
	keys
	ENVCRYPT_KEYFILE_DIR= ctl_rc 2 kms describe-key db --kms "exec:$KEYFILE"
	out_is "envcryptctl: KMS plugin $KEYFILE failed describe_key of CMK db with error InvalidConfiguration: \"ENVCRYPT_KEYFILE_DIR is not set\""
}

test_plugin_bad_result() {
	keys
	ctl_rc 2 kms describe-key db --kms "exec:$PLUGINS/badresult"
	out_is "envcryptctl: KMS plugin $PLUGINS/badresult sent a bad reply to describe_key of CMK db: result.key_id is a number, not a string"
}
