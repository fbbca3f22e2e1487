# SPDX-License-Identifier: GPL-2.0
#
# Discards pass to the lower device only with allow_discards; flushes and
# FUA writes always pass.

. /tests/envcrypt-lib.sh

test_discard_passes_with_allow_discards() {
	local k loop

	need_envcrypt
	k=$(hexkey 64)
	dd if=/dev/urandom of=/tmp/d.img bs=1M count=8 2>/dev/null
	loop=$(loopdev /tmp/d.img)
	dm_create d "0 16384 envcrypt aes-xts-plain64 $k 0 $loop 0 1 allow_discards"
	blkdiscard -o 1048576 -l 1048576 /dev/mapper/d || fail "blkdiscard"
	sync
	# The discarded range of the backing file is a hole now: zeros.
	assert_eq "$(head -c 1048576 /dev/zero | sha256sum | cut -d' ' -f1)" \
		"$(dd if=/tmp/d.img bs=1M skip=1 count=1 2>/dev/null | sha256sum | cut -d' ' -f1)" \
		"discarded range on the backing file"
	dmsetup remove d
	losetup -d "$loop"
	rm -f /tmp/d.img
}

test_discard_refused_without_allow_discards() {
	local loop before

	need_envcrypt
	dd if=/dev/urandom of=/tmp/d.img bs=1M count=8 2>/dev/null
	loop=$(loopdev /tmp/d.img)
	dm_create d "0 16384 envcrypt aes-xts-plain64 $(hexkey 64) 0 $loop 0"
	before=$(sha256sum /tmp/d.img | cut -d' ' -f1)
	expect_fail blkdiscard -o 1048576 -l 1048576 /dev/mapper/d
	sync
	assert_eq "$before" "$(sha256sum /tmp/d.img | cut -d' ' -f1)" "backing file unchanged"
	dmsetup remove d
	losetup -d "$loop"
	rm -f /tmp/d.img
}

test_flush_and_fua_writes_complete() {
	need_envcrypt
	ramdisks 1 8192
	dm_create d "0 8192 envcrypt aes-xts-plain64 $(hexkey 64) 0 /dev/ram0 0"
	fio --name=fsync --filename=/dev/mapper/d --size=2M --bs=4k --rw=write \
		--fsync=1 --direct=0 --output=fsync.out >/dev/null 2>&1 ||
		fail "fio fsync: $(tail -3 fsync.out)"
	fio --name=fua --filename=/dev/mapper/d --size=2M --bs=4k --rw=randwrite \
		--direct=1 --sync=1 --verify=crc32c --output=fua.out >/dev/null 2>&1 ||
		fail "fio O_SYNC: $(tail -3 fua.out)"
}
