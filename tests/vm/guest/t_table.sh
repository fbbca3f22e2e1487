# SPDX-License-Identifier: GPL-2.0
#
# Malformed table lines: each is refused with its own message, nothing is
# created, nothing oopses.  A good line is tried last to show the device
# works after all the refusals.

. /tests/envcrypt-lib.sh

# refuse MESSAGE TABLE: creating a device from TABLE fails with MESSAGE
refuse() {
	expect_fail_dmesg "envcrypt: $1" dmsetup create bad --table "$2"
	[ -z "$(dmsetup ls | grep '^bad')" ] || fail "device 'bad' left behind"
}

test_malformed_tables_are_refused_with_specific_errors() {
	local k k32 d=/dev/ram0 ok=0

	need_envcrypt
	ramdisks 1 8192		# 16384 sectors
	k=$(hexkey 64)
	k32=$(hexkey 32)
	head -c 32 /dev/urandom | keyctl padd logon envcrypt:short @u >/dev/null

	refuse "Not enough arguments" "0 800 envcrypt"
	refuse "Not enough arguments" "0 800 envcrypt aes-xts-plain64 $k 0 $d"
	refuse "Unknown cipher" "0 800 envcrypt aes-cbc-essiv:sha256 $k 0 $d 0"
	refuse "Unknown cipher" "0 800 envcrypt AES-XTS-PLAIN64 $k 0 $d 0"
	refuse "Invalid hex key: odd number of digits" "0 800 envcrypt aes-xts-plain64 ${k}0 0 $d 0"
	refuse "Key size does not match cipher" "0 800 envcrypt aes-xts-plain64 $k32 0 $d 0"
	refuse "Invalid hex key: not a hex digit" "0 800 envcrypt aes-xts-plain64 $(echo "$k" | sed 's/^../zz/') 0 $d 0"
	refuse "Invalid keyring key reference" "0 800 envcrypt aes-xts-plain64 :64:logon 0 $d 0"
	refuse "Invalid keyring key reference" "0 800 envcrypt aes-xts-plain64 :sixtyfour:logon:envcrypt:x 0 $d 0"
	refuse "Keyring key type must be logon" "0 800 envcrypt aes-xts-plain64 :64:user:envcrypt:x 0 $d 0"
	refuse "Keyring key size does not match cipher" "0 800 envcrypt aes-xts-plain64 :32:logon:envcrypt:x 0 $d 0"
	refuse "Keyring key not found" "0 800 envcrypt aes-xts-plain64 :64:logon:envcrypt:absent 0 $d 0"
	refuse "Keyring key payload size does not match cipher" "0 800 envcrypt aes-xts-plain64 :64:logon:envcrypt:short 0 $d 0"
	refuse "Invalid iv_offset" "0 800 envcrypt aes-xts-plain64 $k zero $d 0"
	refuse "Device lookup failed" "0 800 envcrypt aes-xts-plain64 $k 0 /dev/nonexistent 0"
	refuse "Invalid device offset" "0 800 envcrypt aes-xts-plain64 $k 0 $d 1k"
	refuse "Device too small for offset plus target length" "0 800 envcrypt aes-xts-plain64 $k 0 $d 16000"
	refuse "Device too small for offset plus target length" "0 20000 envcrypt aes-xts-plain64 $k 0 $d 0"
	refuse "Invalid number of optional arguments" "0 800 envcrypt aes-xts-plain64 $k 0 $d 0 x allow_discards"
	refuse "Invalid number of optional arguments" "0 800 envcrypt aes-xts-plain64 $k 0 $d 0 6 a b c d e f"
	refuse "Fewer optional arguments than their count" "0 800 envcrypt aes-xts-plain64 $k 0 $d 0 2 allow_discards"
	refuse "Unknown optional argument" "0 800 envcrypt aes-xts-plain64 $k 0 $d 0 1 same_cpu_crypt"
	refuse "Optional argument given twice" "0 800 envcrypt aes-xts-plain64 $k 0 $d 0 2 allow_discards allow_discards"
	refuse "Optional argument given twice" "0 800 envcrypt aes-xts-plain64 $k 0 $d 0 2 sector_size:4096 sector_size:512"
	refuse "Optional argument given twice" "0 800 envcrypt aes-xts-plain64 $k 0 $d 0 2 crypto_api crypto_api"
	refuse "Invalid sector_size: use 512 or 4096" "0 800 envcrypt aes-xts-plain64 $k 0 $d 0 1 sector_size:1024"
	refuse "Invalid sector_size: use 512 or 4096" "0 800 envcrypt aes-xts-plain64 $k 0 $d 0 1 sector_size:4k"
	refuse "Invalid on_key_wipe: use queue or error" "0 800 envcrypt aes-xts-plain64 $k 0 $d 0 1 on_key_wipe:drop"
	refuse "iv_offset is not a multiple of sector_size" "0 800 envcrypt aes-xts-plain64 $k 3 $d 0 1 sector_size:4096"
	refuse "Device offset is not a multiple of sector_size" "0 800 envcrypt aes-xts-plain64 $k 0 $d 4 1 sector_size:4096"
	refuse "Target length is not a multiple of sector_size" "0 801 envcrypt aes-xts-plain64 $k 0 $d 0 1 sector_size:4096"
	refuse "Too many arguments" "0 800 envcrypt aes-xts-plain64 $k 0 $d 0 1 allow_discards extra"
	refuse "Key size does not match cipher" "0 800 envcrypt sm4-xts-plain64 $k 0 $d 0"
	refuse "Weak XTS key: its two halves are equal" "0 800 envcrypt aes-xts-plain64 $k32$k32 0 $d 0"
	head -c 32 /dev/urandom >half
	cat half half | keyctl padd logon envcrypt:weak @u >/dev/null
	refuse "Weak XTS key: its two halves are equal" "0 800 envcrypt aes-xts-plain64 :64:logon:envcrypt:weak 0 $d 0"

	# After all that, a good line works.
	dm_create good "0 800 envcrypt aes-xts-plain64 $k 0 $d 0"
	dd if=/dev/urandom of=/dev/mapper/good bs=4k count=10 oflag=direct 2>/dev/null ||
		fail "write to good device"
}

# The table line a user gave is never echoed back with key bytes, and a
# line made from "dmsetup table" describes the same mapping.
test_table_status_never_shows_key() {
	local k K

	need_envcrypt
	ramdisks 1 8192
	k=$(hexkey 64)
	K=$(echo "$k" | tr a-f A-F)
	dm_create env "0 800 envcrypt aes-xts-plain64 $k 7 /dev/ram0 8 2 allow_discards on_key_wipe:error"
	dd if=/dev/urandom of=/dev/mapper/env bs=4k count=4 oflag=direct 2>/dev/null
	assert_eq "0 800 envcrypt aes-xts-plain64 - 7 1:0 8 2 allow_discards on_key_wipe:error" \
		"$(dmsetup table env)" "table"
	assert_eq "0 800 envcrypt aes-xts-plain64 - 7 1:0 8 2 allow_discards on_key_wipe:error" \
		"$(dmsetup table --showkeys env)" "table --showkeys"
	for out in "$(dmsetup table env)" "$(dmsetup table --showkeys env)" \
		   "$(dmsetup status env)" "$(dmesg)"; do
		for part in "$k" "$K" "$(echo "$k" | cut -c1-32)" \
			    "$(echo "$k" | cut -c65-96)"; do
			case $out in
			*"$part"*) fail "key bytes in: $out" ;;
			esac
		done
	done
}

test_status_info_names_cipher_driver_key_and_kcv() {
	local k

	need_envcrypt
	ramdisks 1 8192
	k=$(hexkey 64)
	hex2file "$k" keyfile
	# the built-in implementation the module's probe chose at load
	rmmod dm_envcrypt || fail "rmmod"
	need_envcrypt
	dm_create env "0 800 envcrypt aes-xts-plain64 $k 0 /dev/ram0 0 1 sector_size:4096"
	impl=$(dmesg | grep -o 'built-in AES-XTS: [a-z0-9-]*' | tail -n 1 | cut -d' ' -f3)
	case $impl in
	aesni-avx2|vaes-avx2) ;;
	*) fail "module did not log a usable built-in AES-XTS: '$impl'" ;;
	esac
	assert_eq "0 800 envcrypt cipher:aes-xts-plain64 sector_size:4096 driver:envcrypt-xts-aes-$impl key:loaded kcv:$(kcv_of keyfile)" \
		"$(dmsetup status env)" "status"
	dmsetup remove env
	dm_create env "0 800 envcrypt aes-xts-plain64 $k 0 /dev/ram0 0 2 crypto_api sector_size:4096"
	assert_eq "0 800 envcrypt cipher:aes-xts-plain64 sector_size:4096 driver:xts-aes-aesni key:loaded kcv:$(kcv_of keyfile)" \
		"$(dmsetup status env)" "status with crypto_api"
	assert_eq "0 800 envcrypt aes-xts-plain64 - 0 1:0 0 2 sector_size:4096 crypto_api" \
		"$(dmsetup table env)" "table with crypto_api"
}

test_odd_sized_devices_use_every_sector() {
	local k

	need_envcrypt
	ramdisks 1 8192
	k=$(hexkey 64)
	# 1001 sectors of 512 bytes; 123 sectors of 4096 bytes
	dm_create a "0 1001 envcrypt aes-xts-plain64 $k 0 /dev/ram0 0"
	dm_create b "0 984 envcrypt aes-xts-plain64 $k 0 /dev/ram0 2048 1 sector_size:4096"
	assert_eq 1001 "$(sectors /dev/mapper/a)" "size of a"
	head -c 512 /dev/urandom >last512
	head -c 4096 /dev/urandom >last4k
	dd if=last512 of=/dev/mapper/a bs=512 seek=1000 oflag=direct 2>/dev/null ||
		fail "write last 512-byte sector"
	dd if=last4k of=/dev/mapper/b bs=4096 seek=122 oflag=direct 2>/dev/null ||
		fail "write last 4096-byte sector"
	assert_eq "$(file_sha last512)" "$(dd if=/dev/mapper/a bs=512 skip=1000 count=1 iflag=direct 2>/dev/null | sha256sum | cut -d' ' -f1)" \
		"last 512-byte sector"
	assert_eq "$(file_sha last4k)" "$(dd if=/dev/mapper/b bs=4096 skip=122 count=1 iflag=direct 2>/dev/null | sha256sum | cut -d' ' -f1)" \
		"last 4096-byte sector"
	expect_fail dd if=last4k of=/dev/mapper/b bs=4096 seek=123 oflag=direct
	assert_eq 4096 "$(blockdev --getss /dev/mapper/b)" "logical block size of b"
	assert_eq 512 "$(blockdev --getss /dev/mapper/a)" "logical block size of a"
}
