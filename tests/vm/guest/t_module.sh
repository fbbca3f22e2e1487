# SPDX-License-Identifier: GPL-2.0
#
# The module loads and unloads again and again with devices created and
# removed in between, and leaves nothing behind: no module, no target, no
# worker threads.

. /tests/envcrypt-lib.sh

test_module_reload_leaves_nothing_behind() {
	local i k

	need_envcrypt
	ramdisks 2 8192
	k=$(hexkey 64)
	for i in 1 2 3 4 5 6 7 8; do
		modprobe dm-envcrypt || fail "load $i"
		dm_create m1 "0 4096 envcrypt aes-xts-plain64 $k 0 /dev/ram0 0"
		dm_create m2 "0 4096 envcrypt aes-xts-plain64 $k 0 /dev/ram1 0 1 sector_size:4096"
		dd if=/dev/urandom of=/dev/mapper/m1 bs=64k count=8 oflag=direct 2>/dev/null
		dd if=/dev/mapper/m2 of=/dev/null bs=64k count=8 iflag=direct 2>/dev/null
		grep -q kenvcryptd /proc/*/comm 2>/dev/null ||
			ps | grep -q '[k]envcryptd' || fail "no worker while devices exist"
		expect_fail rmmod dm_envcrypt
		dmsetup remove m1 && dmsetup remove m2 || fail "remove $i"
		rmmod dm_envcrypt || fail "unload $i"
		[ ! -d /sys/module/dm_envcrypt ] || fail "module still present after $i"
		dmsetup targets | grep -q '^envcrypt' && fail "target still registered"
		ps | grep -q '[k]envcryptd' && fail "worker left after $i"
	done
	true
}
