# SPDX-License-Identifier: GPL-2.0
#
# "key wipe" and "key set": only while suspended.  With on_key_wipe:queue a
# keyless device will not resume, so I/O waits, then completes with the
# right data once a key is set; with on_key_wipe:error it resumes and every
# I/O fails with EIO until a key is set again.

. /tests/envcrypt-lib.sh

# setup_wiped NAME EXTRA_OPTS: device NAME on /dev/ram0 holding p; key in k
setup_device() {
	need_envcrypt
	ramdisks 1 8192
	k=$(hexkey 64)
	hex2file "$k" keyfile
	randfile p 256
	dm_create "$1" "0 4096 envcrypt aes-xts-plain64 $k 0 /dev/ram0 0 $2"
	write_file_to "/dev/mapper/$1" p
}

test_key_messages_refused_while_active() {
	setup_device w ""
	expect_fail_dmesg "envcrypt: w: \"key wipe\" refused: the device is not suspended" \
		dmsetup message w 0 key wipe
	expect_fail_dmesg "envcrypt: w: \"key set\" refused: the device is not suspended" \
		dmsetup message w 0 key set "$k"
	assert_eq "$(file_sha p)" "$(dev_sha /dev/mapper/w 256)" "data after refused messages"
	assert_eq "key:loaded kcv:$(kcv_of keyfile)" "$(dmsetup status w | grep -o 'key:.*')" \
		"key still loaded"
}

test_unknown_messages_refused() {
	setup_device w ""
	dmsetup suspend w
	expect_fail_dmesg "unknown message" dmsetup message w 0 key
	expect_fail_dmesg "unknown message" dmsetup message w 0 key forget
	expect_fail_dmesg "unknown message" dmsetup message w 0 hello world
	expect_fail_dmesg "key set refused: Key size does not match cipher" \
		dmsetup message w 0 key set 0011
	# "set" forgotten: the key must not be echoed to the log
	expect_fail_dmesg "unknown message" dmsetup message w 0 key "$k"
	dmesg | grep -q "$(echo "$k" | cut -c1-32)" && fail "key bytes in dmesg"
	# a key the cipher refuses leaves no key (status says so), not the old one
	expect_fail_dmesg "key set refused: Weak XTS key: its two halves are equal" \
		dmsetup message w 0 key set "$(echo "$k" | cut -c1-64)$(echo "$k" | cut -c1-64)"
	assert_eq "key:loaded kcv:$(kcv_of keyfile)" "$(dmsetup status w | grep -o 'key:.*')" \
		"a key refused before loading keeps the old one"
	dmsetup resume w || fail "resume after refused messages"
	assert_eq "$(file_sha p)" "$(dev_sha /dev/mapper/w 256)" "data"
}

test_queue_mode_io_waits_until_key_set() {
	local reader writer

	setup_device w ""
	randfile p2 64
	dmsetup suspend w
	dmsetup message w 0 key wipe || fail "key wipe"
	assert_eq "key:none kcv:-" "$(dmsetup status w | grep -o 'key:.*')" "status after wipe"
	expect_fail_dmesg "envcrypt: w: no key loaded" dmsetup resume w
	dmsetup info w | grep -q SUSPENDED || fail "device not left suspended"

	# I/O issued now waits; nothing fails.
	dd if=/dev/mapper/w of=read.out bs=4k count=64 iflag=direct 2>/dev/null &
	reader=$!
	dd if=p2 of=/dev/mapper/w bs=4k seek=128 oflag=direct 2>/dev/null &
	writer=$!
	sleep 3
	kill -0 $reader 2>/dev/null || fail "read did not wait for the key"
	kill -0 $writer 2>/dev/null || fail "write did not wait for the key"

	dmsetup message w 0 key set "$k" || fail "key set"
	dmsetup resume w || fail "resume after key set"
	wait $reader || fail "read failed after key set"
	wait $writer || fail "write failed after key set"
	assert_eq "$(file_sha p)" "$(file_sha read.out)" "data read across the wipe"
	assert_eq "$(file_sha p2)" \
		"$(dd if=/dev/mapper/w bs=4k skip=128 count=16 iflag=direct 2>/dev/null | sha256sum | cut -d' ' -f1)" \
		"data written across the wipe"
	assert_eq "key:loaded kcv:$(kcv_of keyfile)" "$(dmsetup status w | grep -o 'key:.*')" \
		"status after key set"
}

test_error_mode_fails_io_until_key_set() {
	setup_device e "1 on_key_wipe:error"
	dmsetup suspend e
	dmsetup message e 0 key wipe || fail "key wipe"
	dmsetup resume e || fail "resume without key in error mode"

	dd if=/dev/mapper/e of=/dev/null bs=4k count=1 iflag=direct 2>err && \
		fail "read without key succeeded"
	grep -q "Input/output error" err || fail "read error was not EIO: $(cat err)"
	dd if=/dev/zero of=/dev/mapper/e bs=4k count=1 oflag=direct 2>err && \
		fail "write without key succeeded"
	grep -q "Input/output error" err || fail "write error was not EIO: $(cat err)"

	dmsetup suspend e
	dmsetup message e 0 key set "$k" || fail "key set"
	dmsetup resume e || fail "resume with key"
	assert_eq "$(file_sha p)" "$(dev_sha /dev/mapper/e 256)" "data after key set"
}

test_keyring_key_set_after_wipe() {
	setup_device w ""
	keyctl padd logon envcrypt:w @u <keyfile >/dev/null
	dmsetup suspend w
	dmsetup message w 0 key wipe || fail "key wipe"
	dmsetup message w 0 key set :64:logon:envcrypt:w || fail "key set from keyring"
	dmsetup resume w || fail "resume"
	assert_eq "$(file_sha p)" "$(dev_sha /dev/mapper/w 256)" "data"
	assert_eq "0 4096 envcrypt aes-xts-plain64 :64:logon:envcrypt:w 0 1:0 0" \
		"$(dmsetup table w)" "table after keyring key set"
}

test_wrong_key_changes_kcv() {
	local k2

	setup_device w ""
	k2=$(hexkey 64)
	hex2file "$k2" keyfile2
	dmsetup suspend w
	dmsetup message w 0 key set "$k2" || fail "key set"
	assert_eq "key:loaded kcv:$(kcv_of keyfile2)" "$(dmsetup status w | grep -o 'key:.*')" \
		"kcv of the new key"
	assert_ne "$(kcv_of keyfile)" "$(kcv_of keyfile2)" "kcv differs between keys"
	dmsetup resume w
	assert_ne "$(file_sha p)" "$(dev_sha /dev/mapper/w 256)" "data under a wrong key"
}
