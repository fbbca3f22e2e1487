# SPDX-License-Identifier: GPL-2.0
#
# convert, copy and snapshot against the real kernel target: what the
# userspace engine wrote, opened by dm-envcrypt, reads back as the
# source's plaintext, for both ciphers and both sector sizes; a copy, a
# re-encrypted copy and a snapshot of an open volume likewise.  Images
# are small (a few MiB) files on the guest's tmpfs, opened through loop.

. /tests/envcrypt-lib.sh

# no volume registry, no audit log
# shellcheck disable=SC2034 # read by ctl_env (envcrypt-lib.sh)
CTL_REGISTRY=off CTL_AUDIT_LOG=off

keys() {
	ctl_rc 0 kms create-key --spec AES_256 --alias a
	ctl_rc 0 kms create-key --spec SM4 --alias s
	ctl_rc 0 kms create-key --spec AES_256 --alias b
}

# opened_sha VOLUME KiB: open it, sha256 of its first KiB, close
opened_sha() {
	ctl_rc 0 open "$1" chk
	dev_sha /dev/mapper/chk "$2"
	ctl_rc 0 close chk
}

# convert_in_kernel CMK SECTOR_SIZE CIPHER
convert_in_kernel() {
	need_envcrypt
	keys
	randfile src 3072
	ctl_rc 0 convert src vol --key "$1" --sector-size "$2"
	out_has "$3, sector size $2"
	assert_eq "$(file_sha src)" "$(opened_sha vol 3072)" "plaintext through the kernel"
	# and the kernel's writes read back by the same data key: a volume the
	# kernel wrote is copied --reencrypt by the engine and still reads
	ctl_rc 0 open vol w
	randfile more 1024
	write_file_to /dev/mapper/w more
	ctl_rc 0 close w
	ctl_rc 0 copy vol re --key alias/b --reencrypt
	assert_eq "$(cat more <(tail -c +1048577 src) | sha256sum | cut -d' ' -f1)" \
		"$(opened_sha re 3072)" "re-encrypted copy of kernel-written data"
}

test_convert_aes_512() { convert_in_kernel alias/a 512 aes-xts-plain64; }
test_convert_aes_4096() { convert_in_kernel alias/a 4096 aes-xts-plain64; }
test_convert_sm4_512() { convert_in_kernel alias/s 512 sm4-xts-plain64; }
test_convert_sm4_4096() { convert_in_kernel alias/s 4096 sm4-xts-plain64; }

test_copy_both_ways() {
	need_envcrypt
	keys
	randfile src 2048
	ctl_rc 0 convert src vol --key alias/s --sector-size 4096
	ctl_rc 0 copy vol cp --key alias/b
	assert_eq "$(file_sha src)" "$(opened_sha cp 2048)" "copy"
	ctl_rc 0 copy vol re --key alias/a --reencrypt --cipher aes-xts-plain64
	out_has "aes-xts-plain64, sector size 4096"
	assert_eq "$(file_sha src)" "$(opened_sha re 2048)" "copy --reencrypt"
}

# a snapshot of an open, written volume: the data written before it, not
# after; the source stays open and usable
test_snapshot_while_open() {
	need_envcrypt
	keys
	truncate -s 5M vol
	ctl_rc 0 format vol --key alias/a --yes
	ctl_rc 0 open vol live
	randfile before 2048
	write_file_to /dev/mapper/live before
	# buffered writes still in the page cache: the suspend flushes them
	dd if=before of=/dev/mapper/live bs=64k conv=notrunc 2>/dev/null
	ctl_rc 0 snapshot vol snap
	out_has "'live' was suspended for"
	randfile after 2048
	write_file_to /dev/mapper/live after
	assert_eq "$(file_sha after)" "$(dev_sha /dev/mapper/live 2048)" "source after the snapshot"
	ctl_rc 0 close live
	assert_eq "$(file_sha before)" "$(opened_sha snap 2048)" "snapshot"
	assert_eq "$(file_sha after)" "$(opened_sha vol 2048)" "source"
}

# a source someone else suspended (here: a revoked volume, queue mode) is
# copied as it is and left suspended: the snapshot does not resume it
test_snapshot_of_a_suspended_volume_leaves_it_suspended() {
	need_envcrypt
	keys
	truncate -s 5M vol
	ctl_rc 0 format vol --key alias/a --yes
	ctl_rc 0 open vol live
	randfile data 1024
	write_file_to /dev/mapper/live data
	ctl_rc 0 revoke live
	ctl_rc 0 snapshot vol snap
	dmsetup info live | grep -q 'State: *SUSPENDED' ||
		fail "the snapshot resumed a revoked volume: $(dmsetup info live)"
	ctl_rc 0 open --refresh live
	assert_eq "$(file_sha data)" "$(dev_sha /dev/mapper/live 1024)" "source"
	ctl_rc 0 close live
	assert_eq "$(file_sha data)" "$(opened_sha snap 1024)" "snapshot"
}

# the other cipher and sector size of each: AES with 512-byte sectors
# copied, re-encrypted into SM4 with 512-byte sectors, and into AES with
# 4096-byte sectors
test_copy_512() {
	need_envcrypt
	keys
	randfile src 2048
	ctl_rc 0 convert src vol --key alias/a --sector-size 512
	ctl_rc 0 copy vol cp --key alias/b
	out_has "aes-xts-plain64, sector size 512"
	assert_eq "$(file_sha src)" "$(opened_sha cp 2048)" "copy"
	ctl_rc 0 copy vol sm --key alias/s --reencrypt --cipher sm4-xts-plain64
	out_has "sm4-xts-plain64, sector size 512"
	assert_eq "$(file_sha src)" "$(opened_sha sm 2048)" "copy --reencrypt into SM4"
	ctl_rc 0 copy vol big --key alias/b --reencrypt --sector-size 4096
	out_has "aes-xts-plain64, sector size 4096"
	assert_eq "$(file_sha src)" "$(opened_sha big 2048)" "copy --reencrypt into 4096-byte sectors"
}
