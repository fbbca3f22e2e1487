# SPDX-License-Identifier: GPL-2.0
#
# The pkcs11: KMS provider against a real SoftHSM2 token, made for this
# file in $PEER_TMP: keys on the token, volumes wrapped and unwrapped by
# it with AES-GCM and AES-KWP, an edited header, a disabled or deleted
# key, a wrong PIN, and the PIN kept out of URIs, output and argv.

MODULE=/usr/lib/softhsm/libsofthsm2.so
HEADER_EDIT=$TOP/build/bin/envcrypt-header-edit
# a PIN that no id, UUID or path contains by chance
PIN=Pin-7f3q-Zr8w
SO_PIN=so-pin-5678

setup_file() {
	export P11=$PEER_TMP/softhsm
	export SOFTHSM2_CONF=$P11/softhsm2.conf
	export URI_BASE="pkcs11:token=envcrypt?module-path=$MODULE"
	export URI="$URI_BASE&pin-source=file:$P11/pin"
	unset ENVCRYPT_PKCS11_PIN
	# without SoftHSM2 every test skips
	[ -r "$MODULE" ] && command -v softhsm2-util >/dev/null || return 0
	[ -x "$HEADER_EDIT" ] || make -C "$TOP" build/bin/envcrypt-header-edit
	mkdir -p "$P11/tokens"
	printf 'directories.tokendir = %s\nobjectstore.backend = file\nlog.level = ERROR\n' \
		"$P11/tokens" >"$SOFTHSM2_CONF"
	softhsm2-util --init-token --free --label envcrypt --pin "$PIN" \
		--so-pin "$SO_PIN"
	(umask 077; echo "$PIN" >"$P11/pin")
}

need_softhsm() {
	[ -r "$MODULE" ] && command -v softhsm2-util >/dev/null ||
		skip "SoftHSM2 is not installed (apt install softhsm2)"
}

# new_key NAME [URI]: a new CMK alias/NAME; its id in $KEY_ID
new_key() {
	ctl_rc 0 kms create-key --kms "${2:-$URI}" --spec AES_256 --alias "$1"
	KEY_ID=$(sed -n 's/^id: *//p' ctl.out)
	[[ $KEY_ID =~ ^[0-9a-f]{32}$ ]] || fail "no key id in: $(cat ctl.out)"
}

# formatted NAME [URI]: img formatted with a new CMK alias/NAME
formatted() {
	need_softhsm
	new_key "$1" "${2:-$URI}"
	image img
	ctl_rc 0 format img --kms "${2:-$URI}" --key "alias/$1" --yes
}

# token_objects: the object files of the token, one a line
token_objects() {
	find "$P11/tokens" -name '*.object' ! -name token.object | sort
}

test_create_list_describe_key() {
	local id

	need_softhsm
	new_key c1
	id=$KEY_ID
	out_has "alias:         alias/c1"
	out_has "spec:          AES_256"
	out_has "state:         Enabled"
	out_has "versions:      1"
	out_has "KMS:           PKCS#11 token 'envcrypt'"
	ctl_rc 0 kms list-keys --kms "$URI"
	grep -qE "^$id +alias/c1 +AES_256 Enabled +1 +-$" ctl.out ||
		fail "list-keys lacks $id: $(cat ctl.out)"
	ctl_rc 0 kms describe-key --kms "$URI" alias/c1
	out_has "id:            $id"
	ctl_rc 0 kms describe-key --kms "$URI" "$id" --json
	out_has "\"id\":\"$id\",\"alias\":\"alias/c1\",\"spec\":\"AES_256\",\"state\":\"Enabled\""
	ctl_rc 3 kms describe-key --kms "$URI" alias/none
	out_has "CMK alias/none not found on PKCS#11 token 'envcrypt'"
	ctl_rc 6 kms create-key --kms "$URI" --spec AES_256 --alias c1
	out_has "alias/c1 is already taken on PKCS#11 token 'envcrypt'"
	ctl_rc 1 kms create-key --kms "$URI" --spec AES_256 --alias envcrypt/x
	out_has "alias alias/envcrypt/x is reserved"
	ctl_rc 2 kms create-key --kms "$URI" --spec SM4 --alias c2
	out_has "PKCS#11 token 'envcrypt': the token has no SM4"
	ctl_rc 2 kms rotate-key --kms "$URI" alias/c1
	out_has "cannot be rotated: a key on a PKCS#11 token has one version"
}

test_format_then_verify_only() {
	formatted v1
	out_has "CMK $KEY_ID (alias/v1) in $URI"
	ctl_rc 0 open --verify-only img
	out_has "img: data key unwrapped through wrap slot 0 (CMK $KEY_ID in $URI); key check value matches"
	# the slot names the token, the module and the PIN file: no PIN
	ctl_rc 0 dump img
	out_has "KMS:         $URI"
	out_has "wrapped key: 94 bytes"
}

test_pin_from_environment() {
	need_softhsm
	ENVCRYPT_PKCS11_PIN=$PIN new_key e1 "$URI_BASE"
	image img
	ENVCRYPT_PKCS11_PIN=$PIN ctl_rc 0 format img --kms "$URI_BASE" \
		--key alias/e1 --yes
	ENVCRYPT_PKCS11_PIN=$PIN ctl_rc 0 open --verify-only img
	out_has "(CMK $KEY_ID in $URI_BASE); key check value matches"
	ctl_rc 2 open --verify-only img
	out_has "img: PKCS#11 token 'envcrypt': no PIN to log in with: set the environment variable ENVCRYPT_PKCS11_PIN, or add pin-source=file:/path"
	ENVCRYPT_PKCS11_PIN=wrong-pin ctl_rc 2 open --verify-only img
	out_has "PKCS#11 token 'envcrypt' refused the PIN from ENVCRYPT_PKCS11_PIN (CKR_PIN_INCORRECT)"
}

test_header_edited_refused() {
	formatted h1
	"$HEADER_EDIT" img sector_size 4096
	ctl_rc 5 open --verify-only img
	out_has "img: the data key wrapped by CMK $KEY_ID (alias/h1) on PKCS#11 token 'envcrypt' does not authenticate (CKR_GENERAL_ERROR): the header was changed, or the wrapped key belongs to another volume"
}

test_wrapped_key_tampered_refused() {
	formatted w1
	"$HEADER_EDIT" img export-slot 0 slot.bin
	# struct ec_wrapped: cmk_version, len, then data; flip a bit of the
	# last tag byte (data[93] of 94)
	/usr/bin/python3 -c 'import sys
b = bytearray(open(sys.argv[1], "rb").read())
b[8 + 93] ^= 1
open(sys.argv[1], "wb").write(b)' slot.bin
	"$HEADER_EDIT" img import-slot 0 slot.bin
	ctl_rc 5 open --verify-only img
	out_has "does not authenticate (CKR_GENERAL_ERROR)"
}

test_disabled_key_refused_then_enabled() {
	formatted d1
	ctl_rc 0 kms disable-key --kms "$URI" alias/d1 --force
	out_has "state:         Disabled"
	ctl_rc 3 open --verify-only img
	out_has "img: CMK $KEY_ID (alias/d1) is Disabled on PKCS#11 token 'envcrypt'; enable it to open this volume"
	ctl_rc 0 kms enable-key --kms "$URI" alias/d1
	out_has "state:         Enabled"
	ctl_rc 0 open --verify-only img
}

test_pending_deletion_refused_then_cancelled() {
	formatted p1
	ctl_rc 0 kms schedule-deletion --kms "$URI" alias/p1 --days 7 --force
	out_has "state:         PendingDeletion"
	out_has "deletion date: "
	ctl_rc 3 open --verify-only img
	out_has "img: CMK $KEY_ID (alias/p1) is PendingDeletion on PKCS#11 token 'envcrypt', deleted on "
	ctl_rc 3 kms enable-key --kms "$URI" alias/p1
	out_has "cancel the deletion before you enable it"
	ctl_rc 0 kms cancel-deletion --kms "$URI" alias/p1
	out_has "state:         Disabled"
	ctl_rc 0 kms enable-key --kms "$URI" alias/p1
	ctl_rc 0 open --verify-only img
}

# time_shift DAYS: $T/shift.so, which makes time() that many days later
# for a process that LD_PRELOADs it
time_shift() {
	printf '%s\n' '#include <dlfcn.h>' '#include <time.h>' \
		'time_t time(time_t *t)' '{' \
		'	time_t (*real)(time_t *) = (time_t (*)(time_t *))dlsym(RTLD_NEXT, "time");' \
		"	time_t now = real(NULL) + $1 * 86400L;" \
		'	if (t)' '		*t = now;' '	return now;' '}' >shift.c
	gcc -shared -fPIC -o shift.so shift.c ||
		skip "no C compiler for the time shift"
}

test_deletion_date_passed_destroys_key() {
	local before

	need_softhsm
	before=$(token_objects)
	formatted g1
	ctl_rc 0 kms schedule-deletion --kms "$URI" alias/g1 --days 7 --force
	time_shift 6
	LD_PRELOAD=$T/shift.so ctl_rc 3 open --verify-only img
	out_has "is PendingDeletion on PKCS#11 token 'envcrypt'"
	time_shift 8
	LD_PRELOAD=$T/shift.so ctl_rc 3 open --verify-only img
	out_has "img: CMK $KEY_ID was deleted from PKCS#11 token 'envcrypt': its deletion date "
	out_has " has passed"
	# the key and its data object are gone from the token
	assert_eq "$before" "$(token_objects)" "object files after deletion"
	ctl_rc 3 kms describe-key --kms "$URI" alias/g1
	out_has "CMK alias/g1 not found on PKCS#11 token 'envcrypt'"
}

test_key_deleted_from_token_refused() {
	local before

	need_softhsm
	before=$(token_objects)
	formatted x1
	# the key and its data object, removed behind envcryptctl's back
	comm -13 <(echo "$before") <(token_objects) >new.list
	assert_eq 2 "$(wc -l <new.list)" "object files made by create-key"
	while read -r f; do rm -f "$f" "${f%.object}.lock"; done <new.list
	ctl_rc 3 open --verify-only img
	out_has "img: CMK $KEY_ID not found on PKCS#11 token 'envcrypt'; check the key id or alias"
	ctl_rc 3 kms describe-key --kms "$URI" alias/x1
}

test_service_key_default_and_never_disabled() {
	need_softhsm
	image img
	ctl_rc 0 format img --kms "$URI" --yes
	out_has "(alias/envcrypt/service) in $URI"
	ctl_rc 0 open --verify-only img
	ctl_rc 2 kms disable-key --kms "$URI" alias/envcrypt/service
	out_has "is the service key of PKCS#11 token 'envcrypt': it can never be disabled or deleted"
	ctl_rc 2 kms schedule-deletion --kms "$URI" alias/envcrypt/service \
		--days 7
	# one service key, however often it is asked for
	ctl_rc 0 kms list-keys --kms "$URI"
	assert_eq 1 "$(grep -c 'alias/envcrypt/service' ctl.out)" \
		"service keys listed"
}

test_kwp_round_trip() {
	local kwp="$URI&mechanism=aes-key-wrap-pad"

	formatted k1 "$kwp"
	ctl_rc 0 dump img
	out_has "KMS:         $kwp"
	out_has "wrapped key: 90 bytes"
	ctl_rc 0 open --verify-only img
	out_has "key check value matches"
	"$HEADER_EDIT" img sector_size 4096
	ctl_rc 5 open --verify-only img
	out_has "(alias/k1) on PKCS#11 token 'envcrypt' does not authenticate: the header was changed"
	# the wrapped key says how it was wrapped, not the URI
	"$HEADER_EDIT" img sector_size 512
	ctl_rc 0 open --verify-only img
}

test_wrong_pin_refused() {
	need_softhsm
	(umask 077; echo wrong-pin >pin)
	ctl_rc 2 kms list-keys --kms "$URI_BASE&pin-source=file:$T/pin"
	out_has "PKCS#11 token 'envcrypt' refused the PIN from PIN file $T/pin (CKR_PIN_INCORRECT): check the PIN"
	# a pin-source wins over the environment
	ENVCRYPT_PKCS11_PIN=$PIN ctl_rc 2 kms list-keys \
		--kms "$URI_BASE&pin-source=file:$T/pin"
	out_has "(CKR_PIN_INCORRECT)"
}

test_pin_value_in_uri_refused() {
	need_softhsm
	ctl_rc 1 kms list-keys --kms "$URI_BASE&pin-value=$PIN"
	out_has "the PKCS#11 KMS URI has a pin-value= attribute: refused"
	out_has "pin-source=file:/path, or in the environment variable ENVCRYPT_PKCS11_PIN"
	out_lacks "$PIN"
	image img
	ctl_rc 1 format img --kms "$URI_BASE&pin-value=$PIN" --yes
	out_lacks "$PIN"
}

test_pin_file_readable_by_others_refused() {
	need_softhsm
	echo "$PIN" >pin
	chmod 644 pin
	ctl_rc 2 kms list-keys --kms "$URI_BASE&pin-source=file:$T/pin"
	out_has "PIN file $T/pin may be read or written by others (mode 0644): refused; run chmod 600 $T/pin"
	chmod 620 pin
	ctl_rc 2 kms list-keys --kms "$URI_BASE&pin-source=file:$T/pin"
	out_has "(mode 0620)"
	chmod 600 pin
	ctl_rc 0 kms list-keys --kms "$URI_BASE&pin-source=file:$T/pin"
	ctl_rc 2 kms list-keys --kms "$URI_BASE&pin-source=file:$T/none"
	out_has "cannot open PIN file $T/none (pin-source= of the KMS URI): No such file or directory"
}

test_module_missing_or_wrong() {
	need_softhsm
	ctl_rc 1 kms list-keys --kms "pkcs11:token=envcrypt"
	out_has "KMS URI 'pkcs11:token=envcrypt' has no module-path=: name the PKCS#11 module to load"
	ctl_rc 7 kms list-keys \
		--kms "pkcs11:token=envcrypt?module-path=$T/libnone.so"
	out_has "PKCS#11 module $T/libnone.so: No such file or directory; install the module"
	ctl_rc 1 kms list-keys \
		--kms "pkcs11:token=envcrypt?module-path=libsofthsm2.so"
	out_has "module-path 'libsofthsm2.so' is not an absolute path"
	echo "not a library" >bad.so
	ctl_rc 2 kms list-keys --kms "pkcs11:token=envcrypt?module-path=$T/bad.so"
	out_has "cannot load PKCS#11 module $T/bad.so"
}

test_token_not_found() {
	need_softhsm
	ctl_rc 7 kms list-keys \
		--kms "pkcs11:token=nosuch?module-path=$MODULE&pin-source=file:$P11/pin"
	out_has "PKCS#11 token 'nosuch': module $MODULE has no initialized token that matches the KMS URI; tokens present: 'envcrypt' (serial "
}

# The PIN is in no output and no header; a PIN "file" that is a FIFO
# is refused at once (open() must not wait for a writer).
test_pin_never_in_output_or_cmdline() {
	local rc=0

	formatted s1
	cat ctl.out >all.out
	for args in "kms list-keys --kms $URI" \
		    "kms describe-key --kms $URI alias/s1" \
		    "open --verify-only img" "dump img" "dump img --json"; do
		# shellcheck disable=SC2086
		ctl $args || true
		cat ctl.out >>all.out
	done
	ENVCRYPT_PKCS11_PIN=$PIN ctl kms list-keys --kms "$URI_BASE" || true
	cat ctl.out >>all.out
	! grep -qF "$PIN" all.out || fail "the PIN shows in output"
	! grep -qaF "$PIN" img || fail "the PIN is in the volume header"

	mkfifo -m 600 pin.fifo
	ENVCRYPT_PKCS11_PIN=$PIN timeout 10 "$ENVCRYPTCTL" kms list-keys \
		--kms "$URI_BASE&pin-source=file:$T/pin.fifo" >fifo.out 2>&1 ||
		rc=$?
	assert_eq 2 "$rc" "exit code of envcryptctl with a FIFO as PIN file"
	grep -qF "PIN file $T/pin.fifo is not a regular file" fifo.out ||
		fail "FIFO not refused: $(cat fifo.out)"
	! grep -qF "$PIN" fifo.out || fail "the PIN shows in output"
}
