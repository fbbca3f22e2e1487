# SPDX-License-Identifier: GPL-2.0
#
# fio writes with crc32c verification, mixed random reads and writes at
# queue depth > 1, block sizes that make the block layer split and merge,
# then a separate verification pass over everything written.

. /tests/envcrypt-lib.sh

# fio_verify DEV SIZE BSRANGE IODEPTH
fio_verify() {
	fio --name=mix --filename="$1" --size="$2" --direct=1 \
		--ioengine=libaio --iodepth="$4" --rw=randrw --rwmixread=40 \
		--bsrange="$3" --verify=crc32c --verify_fatal=1 \
		--do_verify=1 --randrepeat=1 --norandommap=0 \
		--output=fio.out >/dev/null 2>&1 ||
		fail "fio write+verify on $1: $(tail -5 fio.out)"
	grep -q "err= 0" fio.out || fail "fio reported errors: $(grep err= fio.out)"
	fio --name=mix --filename="$1" --size="$2" --direct=1 \
		--ioengine=libaio --iodepth="$4" --rw=randrw --rwmixread=40 \
		--bsrange="$3" --verify=crc32c --verify_fatal=1 \
		--verify_only=1 --randrepeat=1 \
		--output=fio2.out >/dev/null 2>&1 ||
		fail "fio verify pass on $1: $(tail -5 fio2.out)"
}

test_fio_verify_ss512_mixed_sizes() {
	need_envcrypt
	ramdisks 1 65536
	dm_create f "0 131072 envcrypt aes-xts-plain64 $(hexkey 64) 0 /dev/ram0 0"
	fio_verify /dev/mapper/f 48M 512-256k 16
}

test_fio_verify_ss4096_large_ios() {
	need_envcrypt
	ramdisks 1 65536
	dm_create f "0 131064 envcrypt aes-xts-plain64 $(hexkey 64) 8 /dev/ram0 8 2 sector_size:4096 iv_large_sectors"
	fio_verify /dev/mapper/f 48M 4k-4M 8
}

# On a loop device over a file the lower device completes in another
# thread: decryption still happens, and data is intact.
test_fio_verify_on_loop_device() {
	need_envcrypt
	local loop

	dd if=/dev/zero of=/tmp/loop.img bs=1M count=40 2>/dev/null
	loop=$(loopdev /tmp/loop.img)
	dm_create f "0 81920 envcrypt aes-xts-plain64 $(hexkey 64) 0 $loop 0"
	fio_verify /dev/mapper/f 32M 4k-128k 16
	dmsetup remove f
	losetup -d "$loop"
	rm -f /tmp/loop.img
}

# A virtio disk completes reads in interrupt context: decryption moves to
# the device's workqueue, and data is still intact.
test_fio_verify_on_virtio_disk_interrupt_completion() {
	[ -b /dev/vda ] || fail "no virtio disk /dev/vda in the guest"
	need_envcrypt
	dm_create f "0 131072 envcrypt aes-xts-plain64 $(hexkey 64) 0 /dev/vda 0"
	fio_verify /dev/mapper/f 48M 4k-256k 16
	dm_create g "0 65536 envcrypt aes-xts-plain64 $(hexkey 64) 0 /dev/vda 0 1 sector_size:4096"
	dmsetup remove f
	fio_verify /dev/mapper/g 24M 4k-1M 4
}
