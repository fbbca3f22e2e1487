# SPDX-License-Identifier: GPL-2.0
#
# Self-test of the guest harness, with dm-crypt only: the helpers work, and
# dm-crypt (through cryptsetup and through a raw table) is a usable oracle.

# The dm-crypt oracle: plain mode reads the raw key from the key file,
# unhashed.  open_plain NAME DEV KEYFILE [cryptsetup options...]
open_plain() {
	local name=$1 dev=$2 keyfile=$3

	shift 3
	cryptsetup open --type plain --cipher aes-xts-plain64 --key-size 512 \
		--key-file "$keyfile" "$@" "$dev" "$name"
}

test_lib_helpers() {
	local key

	key=$(hexkey 64)
	assert_eq 128 "${#key}" "hexkey 64 length"
	hex2file "$key" key.bin
	assert_eq 64 "$(stat -c %s key.bin)" "hex2file size"
	assert_eq "$key" "$(file2hex key.bin)" "hex round trip"
	assert_ne "$key" "$(hexkey 64)" "second random key"

	ramdisks 2 1024
	assert_eq 2048 "$(sectors /dev/ram1)" "ram disk size"
	randfile data 64
	dd if=data of=/dev/ram1 bs=512 seek=100 oflag=direct 2>/dev/null
	assert_eq "$(sha256sum <data | cut -d' ' -f1)" \
		"$(sha256_range /dev/ram1 100 128)" "sha256_range"
	expect_fail false
}

test_plain_key_file_is_raw_key() {
	local key

	ramdisks 1 4096
	key=$(hexkey 64)
	hex2file "$key" key.bin
	open_plain hc /dev/ram0 key.bin
	dmsetup table --showkeys hc
	assert_eq "0 8192 crypt aes-xts-plain64 $key 0 1:0 0" \
		"$(dm_table hc)" "table made by cryptsetup"
	cryptsetup close hc
}

test_plain_round_trip() {
	ramdisks 1 4096
	hex2file "$(hexkey 64)" key.bin
	randfile data 1024
	open_plain hc /dev/ram0 key.bin
	dd if=data of=/dev/mapper/hc bs=64k oflag=direct 2>/dev/null
	plain=$(sha256sum <data | cut -d' ' -f1)
	assert_eq "$plain" "$(sha256_range /dev/mapper/hc 0 2048)" "read back"
	assert_ne "$plain" "$(sha256_range /dev/ram0 0 2048)" "ciphertext"
	cryptsetup close hc

	open_plain hc /dev/ram0 key.bin
	assert_eq "$plain" "$(sha256_range /dev/mapper/hc 0 2048)" "reopened"
	cryptsetup close hc
	hex2file "$(hexkey 64)" other.bin
	open_plain hc /dev/ram0 other.bin
	assert_ne "$plain" "$(sha256_range /dev/mapper/hc 0 2048)" "wrong key"
}

# A raw dm-crypt table and cryptsetup give the same ciphertext.
test_dmsetup_crypt_table() {
	local key n

	ramdisks 2 4096
	key=$(hexkey 64)
	hex2file "$key" key.bin
	n=$(sectors /dev/ram0)
	dm_create raw "0 $n crypt aes-xts-plain64 $key 0 /dev/ram0 0"
	open_plain hc /dev/ram1 key.bin
	randfile data 512
	dd if=data of=/dev/mapper/raw bs=4k oflag=direct 2>/dev/null
	dd if=data of=/dev/mapper/hc bs=4k oflag=direct 2>/dev/null
	assert_eq "$(sha256_range /dev/ram0 0 1024)" \
		"$(sha256_range /dev/ram1 0 1024)" "ciphertexts"
	assert_eq "$(sha256sum <data | cut -d' ' -f1)" \
		"$(sha256_range /dev/mapper/raw 0 1024)" "plaintext"
}

# The kernel-keyring form of the key, :<size>:logon:<description>, with the
# key in the session keyring and in the user keyring.
test_dmsetup_crypt_logon_key() {
	local key c

	ramdisks 3 1024
	key=$(hexkey 64)
	hex2file "$key" key.bin
	keyctl padd logon envcrypt:harness-s @s <key.bin
	keyctl padd logon envcrypt:harness-u @u <key.bin
	c="0 $(sectors /dev/ram0) crypt aes-xts-plain64"
	dm_create ks "$c :64:logon:envcrypt:harness-s 0 /dev/ram0 0"
	dm_create ku "$c :64:logon:envcrypt:harness-u 0 /dev/ram1 0"
	dm_create hx "$c $key 0 /dev/ram2 0"
	assert_eq "$c :64:logon:envcrypt:harness-s 0 1:0 0" \
		"$(dm_table ks)" "table with a keyring key"
	randfile data 256
	for dev in ks ku hx; do
		dd if=data of=/dev/mapper/$dev bs=4k oflag=direct 2>/dev/null
	done
	assert_eq "$(sha256_range /dev/ram2 0 512)" \
		"$(sha256_range /dev/ram0 0 512)" "ciphertext, key in @s"
	assert_eq "$(sha256_range /dev/ram2 0 512)" \
		"$(sha256_range /dev/ram1 0 512)" "ciphertext, key in @u"
}

test_expect_fail_dmesg() {
	ramdisks 1 1024
	expect_fail_dmesg "crypt: Error decoding and setting key" \
		dmsetup create bad --table "0 8 crypt aes-xts-plain64 zz 0 /dev/ram0 0"
	assert_eq "" "$(dmsetup ls | grep -w bad || true)" "no device left"
}

test_ext4_and_fio_on_dm_crypt() {
	ramdisks 1 32768
	hex2file "$(hexkey 64)" key.bin
	open_plain hc /dev/ram0 key.bin
	mkfs.ext4 -q /dev/mapper/hc
	mkdir -p /mnt/hc
	mount -t ext4 /dev/mapper/hc /mnt/hc
	randfile data 2048
	cp data /mnt/hc/f
	umount /mnt/hc
	e2fsck -fn /dev/mapper/hc
	mount -t ext4 -o ro /dev/mapper/hc /mnt/hc
	cmp data /mnt/hc/f
	umount /mnt/hc
	fio --name=verify --filename=/dev/mapper/hc --rw=randwrite --bs=4k \
		--size=4m --direct=1 --ioengine=psync --verify=crc32c \
		--output-format=terse >/dev/null
}
