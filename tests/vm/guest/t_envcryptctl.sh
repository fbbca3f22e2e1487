# SPDX-License-Identifier: GPL-2.0
#
# envcryptctl end to end in the kernel: format, open, close on a virtio
# disk and on an image file (loop), both ciphers; what open refuses (a
# disabled CMK, an edited header, a wrapped key from another volume); and
# that the data key shows up nowhere.  The local KMS lives in $T/kms.

. /tests/envcrypt-lib.sh

# lifecycle DEVICE CIPHER_SPEC SECTOR_SIZE: format, write, close, reopen,
# read back; the raw device holds no plaintext
lifecycle() {
	local dev=$1 spec=$2 ss=$3 sum cipher

	ctl kms create-key --spec "$spec" --alias "vol-$spec" ||
		fail "create-key: $(cat ctl.out)"
	ctl format "$dev" --key "alias/vol-$spec" --sector-size "$ss" --yes ||
		fail "format: $(cat ctl.out)"
	case $spec in
	SM4) cipher=sm4-xts-plain64 ;;
	*) cipher=aes-xts-plain64 ;;
	esac
	out_has "$cipher, sector size $ss"
	ctl open "$dev" vol || fail "open: $(cat ctl.out)"
	[ -b /dev/mapper/vol ] || fail "no /dev/mapper/vol"
	# 64 MiB disk - 1 MiB header
	assert_eq $((63 * 2048)) "$(sectors /dev/mapper/vol)" "volume size"
	sum=$(fill_and_sum /dev/mapper/vol 2048)
	ctl status vol || fail "status: $(cat ctl.out)"
	out_has "cipher:       $cipher"
	out_has "sector size:  $ss"
	out_has "matches the header"
	ctl close vol || fail "close: $(cat ctl.out)"
	[ -z "$(dm_names)" ] || fail "devices left after close: $(dm_names)"

	# the plaintext is not on the raw device
	dd if="$dev" bs=1M skip=1 count=2 2>/dev/null | cmp -s - data &&
		fail "plaintext on the raw device"

	ctl open "$dev" vol2 || fail "reopen: $(cat ctl.out)"
	assert_eq "$sum" "$(dev_sha /dev/mapper/vol2 2048)" "data after reopen"
	ctl close vol2 || fail "close: $(cat ctl.out)"
}

test_virtio_aes_512() { need_envcrypt; lifecycle "$(scratch_disk)" AES_256 512; }
test_virtio_sm4_4096() { need_envcrypt; lifecycle "$(scratch_disk)" SM4 4096; }

test_image_file_aes_4096() {
	need_envcrypt
	truncate -s 64M disk.img
	lifecycle "$PWD/disk.img" AES_256 4096
	# close detached the loop device it made
	assert_eq "" "$(ls /sys/block/loop*/loop/backing_file 2>/dev/null)" "loop devices"
}

test_image_file_sm4_512() {
	need_envcrypt
	truncate -s 64M disk.img
	lifecycle "$PWD/disk.img" SM4 512
}

test_open_loads_module_through_kmod() {
	need_envcrypt
	rmmod dm_envcrypt || fail "rmmod"
	truncate -s 8M disk.img
	ctl format disk.img --yes || fail "format: $(cat ctl.out)"
	ctl open disk.img v || fail "open: $(cat ctl.out)"
	grep -q '^dm_envcrypt ' /proc/modules || fail "module not loaded"
	ctl close v
}

test_open_fails_without_module() {
	local rc=0

	need_envcrypt
	rmmod dm_envcrypt || fail "rmmod"
	truncate -s 8M disk.img
	ctl format disk.img --yes || fail "format: $(cat ctl.out)"
	mv "$ENVCRYPT_KO" "$T/ko"
	depmod
	ctl open disk.img v || rc=$?
	mv "$T/ko" "$ENVCRYPT_KO"
	depmod
	assert_eq 7 "$rc" "exit code without the module ($(cat ctl.out))"
	out_has "module dm-envcrypt is not installed"
}

test_open_fails_when_cmk_disabled() {
	local id

	need_envcrypt
	truncate -s 8M disk.img
	ctl kms create-key --spec AES_256 --alias db || fail "$(cat ctl.out)"
	id=$(sed -n 's/^id: *//p' ctl.out)
	ctl format disk.img --key alias/db --yes || fail "$(cat ctl.out)"
	ctl kms disable-key alias/db --force || fail "$(cat ctl.out)"
	ctl_rc 3 open disk.img v
	out_has "disk.img: CMK $id (alias/db) is Disabled in local KMS $T/kms"
	out_has "enable it to open this volume"
	[ -z "$(dm_names)" ] || fail "a device was created"
	ctl_rc 3 open disk.img --verify-only
	ctl kms enable-key alias/db
	ctl open disk.img --verify-only || fail "verify after enable: $(cat ctl.out)"
	out_has "key check value matches"
}

test_open_fails_when_cmk_pending_deletion() {
	need_envcrypt
	truncate -s 8M disk.img
	ctl kms create-key --spec SM4 --alias gone || fail "$(cat ctl.out)"
	ctl format disk.img --key alias/gone --yes || fail "$(cat ctl.out)"
	ctl kms schedule-deletion alias/gone --days 7 --force || fail "$(cat ctl.out)"
	ctl_rc 3 open disk.img v
	out_has "PendingDeletion"
}

test_service_key_cannot_be_disabled() {
	need_envcrypt
	truncate -s 8M disk.img
	ctl format disk.img --yes || fail "$(cat ctl.out)"
	out_has "(alias/envcrypt/service)"
	ctl_rc 2 kms disable-key alias/envcrypt/service
	out_has "alias/envcrypt/service"
	ctl open disk.img --verify-only || fail "$(cat ctl.out)"
}

test_wrapped_key_from_another_volume_is_refused() {
	need_envcrypt
	truncate -s 8M a.img
	truncate -s 8M b.img
	ctl kms create-key --spec AES_256 --alias shared || fail "$(cat ctl.out)"
	ctl format a.img --key alias/shared --yes || fail "$(cat ctl.out)"
	ctl format b.img --key alias/shared --yes || fail "$(cat ctl.out)"
	envcrypt-header-edit b.img export-slot 0 b.wrapped
	envcrypt-header-edit a.img import-slot 0 b.wrapped
	ctl_rc 5 open a.img v
	out_has "a.img: "
	out_has "the header was changed, or the wrapped key belongs to another volume"
	[ -z "$(dm_names)" ] || fail "a device was created"
}

# edit_refused FIELD VALUE: the edited header is refused at open
edit_refused() {
	truncate -s 8M disk.img
	ctl format disk.img --yes || fail "$(cat ctl.out)"
	envcrypt-header-edit disk.img "$1" "$2" || fail "edit $1"
	ctl_rc 5 open disk.img v
	out_has "disk.img: "
	[ -z "$(dm_names)" ] || fail "a device was created"
}

test_edited_cipher_is_refused() { need_envcrypt; edit_refused cipher sm4-xts-plain64; }
test_edited_sector_size_is_refused() { need_envcrypt; edit_refused sector_size 4096; }

test_edited_kcv_is_refused() {
	need_envcrypt
	edit_refused kcv 00112233445566778899aabbccddeeff
	out_has "does not match the header's key check value"
}

test_damaged_header_copy_is_repaired_on_open() {
	need_envcrypt
	truncate -s 8M disk.img
	ctl format disk.img --yes || fail "$(cat ctl.out)"
	# scribble over copy 0
	dd if=/dev/urandom of=disk.img bs=512 seek=3 count=1 conv=notrunc 2>/dev/null
	ctl dump disk.img || fail "dump: $(cat ctl.out)"
	out_has "header copy 0: damaged"
	ctl open disk.img v || fail "open: $(cat ctl.out)"
	out_has "header copy was repaired"
	ctl close v
	ctl dump disk.img
	out_has "header copy 0: ok"
	out_has "header copy 1: ok"
}

test_garbage_is_not_a_volume() {
	need_envcrypt
	head -c 4194304 /dev/urandom >junk.img
	ctl_rc 5 open junk.img v
	out_has "junk.img: "
	dd if=/dev/zero of=zero.img bs=1M count=4 2>/dev/null
	ctl_rc 5 dump zero.img
	out_has "not an envcrypt volume"
}

test_key_appears_nowhere() {
	local kcv

	need_envcrypt
	truncate -s 16M disk.img
	ctl format disk.img --yes || fail "$(cat ctl.out)"
	ctl open disk.img v || fail "$(cat ctl.out)"
	# the table names a keyring key, never hex key bytes
	dmsetup table --showkeys v >table
	grep -q ':64:logon:envcrypt:' table || fail "table: $(cat table)"
	grep -qE '[0-9a-f]{64}' table && fail "hex key in the table: $(cat table)"
	# the keyring key was dropped after the table read it
	keyctl show @s >keys 2>&1; keyctl show @u >>keys 2>&1
	grep -q 'envcrypt:' keys && fail "key left in a keyring: $(cat keys)"
	grep -q 'envcrypt:' /proc/keys && fail "key left: $(cat /proc/keys)"
	# the kernel holds the key: its check value matches the header's
	kcv=$(dmsetup status v | sed -n 's/.*kcv:\([0-9a-f]*\).*/\1/p')
	ctl dump disk.img
	grep -q "^kcv: *$kcv" ctl.out || fail "kcv $kcv not in the dump: $(cat ctl.out)"
	ctl status v --json
	out_has '"key_loaded":true'
	out_has '"kcv_matches_header":true'
	# nothing the tool prints holds key-sized hex (the KCV is 32 digits)
	for cmd in "status v" "status v --json" "dump disk.img" \
		   "dump disk.img --json" "list" "list --json" \
		   "open disk.img --verify-only"; do
		# shellcheck disable=SC2086
		ctl $cmd || fail "$cmd: $(cat ctl.out)"
		grep -qE '[0-9a-fA-F]{33}' ctl.out &&
			fail "key-sized hex in '$cmd': $(cat ctl.out)"
	done
	ctl close v
}

test_busy_and_usage_exit_codes() {
	need_envcrypt
	truncate -s 8M disk.img
	ctl format disk.img --yes || fail "$(cat ctl.out)"
	ctl open disk.img v || fail "$(cat ctl.out)"
	truncate -s 8M other.img
	ctl format other.img --yes
	ctl_rc 6 open other.img v
	out_has "a device named 'v' already exists"
	ctl_rc 6 open disk.img w
	out_has "already open"
	# an open volume's header is not overwritten, file or block device
	ctl_rc 6 format disk.img --yes
	out_has "is open as 'v'; close it before formatting"
	mkdir -p /mnt/v && mkfs.ext4 -q /dev/mapper/v && mount /dev/mapper/v /mnt/v
	ctl_rc 6 close v
	umount /mnt/v
	ctl close v
	ctl_rc 7 close v
	ctl_rc 1 format disk.img
	out_has "refusing to format it as an encrypted volume without confirmation: give --yes"
	ctl_rc 1 open
	ctl_rc 1 format disk.img --cipher rot13 --yes
	out_has "unknown cipher 'rot13'"
}
