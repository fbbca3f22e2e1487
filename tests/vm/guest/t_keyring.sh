# SPDX-License-Identifier: GPL-2.0
#
# Keys from the kernel keyring: a logon key activates the device and the
# table shows only its reference; a missing, revoked, short or non-logon
# key is refused.

. /tests/envcrypt-lib.sh

test_logon_key_activates_and_matches_hex_key() {
	local k

	need_envcrypt
	ramdisks 1 8192
	k=$(hexkey 64)
	hex2file "$k" keyfile
	keyctl padd logon envcrypt:vol1 @u <keyfile >/dev/null || fail "keyctl padd"
	randfile p 512

	dm_create kr "0 2048 envcrypt aes-xts-plain64 :64:logon:envcrypt:vol1 0 /dev/ram0 0"
	assert_eq "0 2048 envcrypt aes-xts-plain64 :64:logon:envcrypt:vol1 0 1:0 0" \
		"$(dmsetup table kr)" "table shows the keyring reference"
	write_file_to /dev/mapper/kr p
	dmsetup remove kr
	# The same key given in hex reads the same plaintext.
	dm_create hx "0 2048 envcrypt aes-xts-plain64 $k 0 /dev/ram0 0"
	assert_eq "$(file_sha p)" "$(dev_sha /dev/mapper/hx 512)" "data via hex key"
	assert_eq "key:loaded kcv:$(kcv_of keyfile)" \
		"$(dmsetup status hx | grep -o 'key:.*')" "kcv"
}

test_missing_keyring_key_is_refused() {
	need_envcrypt
	ramdisks 1 8192
	expect_fail_dmesg "envcrypt: Keyring key not found" \
		dmsetup create kr --table "0 2048 envcrypt aes-xts-plain64 :64:logon:envcrypt:none 0 /dev/ram0 0"
}

test_keyring_key_of_wrong_length_is_refused() {
	need_envcrypt
	ramdisks 1 8192
	head -c 63 /dev/urandom | keyctl padd logon envcrypt:short @u >/dev/null
	expect_fail_dmesg "envcrypt: Keyring key payload size does not match cipher" \
		dmsetup create kr --table "0 2048 envcrypt aes-xts-plain64 :64:logon:envcrypt:short 0 /dev/ram0 0"
}

test_user_type_key_is_refused() {
	need_envcrypt
	ramdisks 1 8192
	head -c 64 /dev/urandom | keyctl padd user envcrypt:user @u >/dev/null
	# asked for as a user key: the type is refused outright
	expect_fail_dmesg "envcrypt: Keyring key type must be logon" \
		dmsetup create kr --table "0 2048 envcrypt aes-xts-plain64 :64:user:envcrypt:user 0 /dev/ram0 0"
	# asked for as a logon key: a user key of that name does not count
	expect_fail_dmesg "envcrypt: Keyring key not found" \
		dmsetup create kr --table "0 2048 envcrypt aes-xts-plain64 :64:logon:envcrypt:user 0 /dev/ram0 0"
}

test_revoked_keyring_key_is_refused() {
	local id

	need_envcrypt
	ramdisks 1 8192
	id=$(head -c 64 /dev/urandom | keyctl padd logon envcrypt:rev @u)
	keyctl revoke "$id"
	expect_fail_dmesg "envcrypt: Keyring key is revoked or expired" \
		dmsetup create kr --table "0 2048 envcrypt aes-xts-plain64 :64:logon:envcrypt:rev 0 /dev/ram0 0"
}
