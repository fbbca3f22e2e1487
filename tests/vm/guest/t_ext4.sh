# SPDX-License-Identifier: GPL-2.0
#
# A filesystem on top: files written through ext4 survive unmounting and
# recreating the device, and e2fsck finds the filesystem clean.

. /tests/envcrypt-lib.sh

ext4_case() {
	local ss=$1 k table i sums

	need_envcrypt
	ramdisks 1 65536
	k=$(hexkey 64)
	table="0 126976 envcrypt aes-xts-plain64 $k 0 /dev/ram0 4096 $(opts_for "$ss" 0)"
	dm_create fs "$table"
	mkfs.ext4 -q -F /dev/mapper/fs || fail "mkfs.ext4"
	mkdir -p /mnt/fs
	mount -t ext4 /dev/mapper/fs /mnt/fs || fail "mount"
	head -c 3000000 /dev/urandom >/mnt/fs/big
	for i in $(seq 1 200); do
		head -c $((i * 37)) /dev/urandom >/mnt/fs/small.$i
	done
	mkdir /mnt/fs/dir && cp /mnt/fs/small.1* /mnt/fs/dir/
	sums=$PWD/sums
	(cd /mnt/fs && find . -type f | sort | xargs sha256sum) >"$sums"
	# big, small.1..200, and the 111 small.1* copies in dir/
	[ "$(wc -l <"$sums")" = 312 ] || fail "expected 312 files, got $(wc -l <"$sums")"
	umount /mnt/fs || fail "umount"
	dmsetup remove fs || fail "remove"

	dm_create fs "$table"
	e2fsck -f -n /dev/mapper/fs >fsck.out 2>&1 || fail "e2fsck: $(cat fsck.out)"
	mount -t ext4 -o ro /dev/mapper/fs /mnt/fs || fail "mount again"
	(cd /mnt/fs && sha256sum -c "$sums") >check.out 2>&1 ||
		fail "checksums differ: $(grep -v OK check.out | head -5)"
	umount /mnt/fs
}

test_ext4_files_survive_recreate_ss512() { ext4_case 512; }
test_ext4_files_survive_recreate_ss4096() { ext4_case 4096; }
