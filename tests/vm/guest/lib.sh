# SPDX-License-Identifier: GPL-2.0
#
# Helpers for the guest's test files (busybox sh).  suite-check.sh sources
# this, then a t_*.sh file, and runs each test_* function in a subshell with
# "set -e" and a fresh scratch directory $T as the working directory.
#
# A test passes when its function returns 0 and it never called fail.
# fail and skip end the test; called inside $(...) or a pipeline they end
# only that subshell, but the verdict still counts.

# fail MESSAGE: the current test failed, because MESSAGE
fail() {
	echo "fail: $*" >>"$ENVCRYPT_VERDICT"
	echo "FAIL: $*" >&2
	exit 1
}

# skip MESSAGE: the current test cannot run here, because MESSAGE
skip() {
	echo "skip: $*" >>"$ENVCRYPT_VERDICT"
	exit 0
}

# assert_eq EXPECTED ACTUAL WHAT
assert_eq() {
	[ "$1" = "$2" ] || fail "$3: expected '$1', got '$2'"
}

# assert_ne UNEXPECTED ACTUAL WHAT
assert_ne() {
	[ "$1" != "$2" ] || fail "$3: should not be '$1'"
}

# expect_fail CMD...: CMD must fail
expect_fail() {
	if "$@"; then
		fail "succeeded but should have failed: $*"
	fi
}

# dmesg_drain: clear the kernel log, keeping it for the runner's checks
dmesg_drain() {
	dmesg -c >>"$ENVCRYPT_DMESG"
}

# expect_fail_dmesg "MESSAGE" CMD...: CMD must fail and the kernel must log
# MESSAGE (a fixed string) while it runs, e.g.
#   expect_fail_dmesg "envcrypt: Invalid key" dmsetup create x --table "..."
expect_fail_dmesg() {
	local msg=$1 log

	shift
	dmesg_drain
	if "$@"; then
		fail "succeeded but should have failed: $*"
	fi
	log=$(dmesg)
	dmesg_drain
	case $log in
	*"$msg"*) ;;
	*) fail "kernel did not log '$msg' for: $*" ;;
	esac
}

# hexkey BYTES: that many random bytes, in hex (hexkey 64 -> 128 digits)
hexkey() {
	head -c "$1" /dev/urandom | od -An -v -tx1 | tr -d ' \n'
}

# hex2file HEX FILE: write the bytes HEX stands for to FILE
hex2file() {
	printf '%s' "$1" | xxd -r -p >"$2"
}

# file2hex FILE: FILE's bytes in hex
file2hex() {
	od -An -v -tx1 "$1" | tr -d ' \n'
}

# randfile FILE KiB: FILE with that much random data
randfile() {
	head -c "$(($2 * 1024))" /dev/urandom >"$1"
}

# sectors DEV: size of DEV in 512-byte sectors
sectors() {
	blockdev --getsz "$1"
}

# sha256_range DEV [START [COUNT]]: sha256 of COUNT sectors of DEV from
# sector START (default: all of it), read past any page cache
sha256_range() {
	local start=${2:-0} count=${3:-$(($(sectors "$1") - ${2:-0}))}

	blockdev --flushbufs "$1"
	dd if="$1" bs=512 skip="$start" count="$count" iflag=direct 2>/dev/null |
		sha256sum | cut -d' ' -f1
}

# ramdisks N KiB: (re)load brd with N ram disks /dev/ram0.. of KiB each
ramdisks() {
	rmmod brd 2>/dev/null || true
	modprobe brd rd_nr="$1" rd_size="$2" || fail "modprobe brd"
	[ "$(sectors /dev/ram0)" = "$(($2 * 2))" ] ||
		fail "brd was busy: /dev/ram0 is not $2 KiB"
}

# dm_create NAME TABLE: create a device-mapper device, node /dev/mapper/NAME
dm_create() {
	dmsetup create "$1" --table "$2" || fail "dmsetup create $1 failed"
	dmsetup mknodes "$1"
	[ -b "/dev/mapper/$1" ] || fail "no /dev/mapper/$1"
}

# dm_table NAME: the device's table, keys included
dm_table() {
	dmsetup table --showkeys "$1"
}

# need_envcrypt: load dm-envcrypt, or skip the test if the image has none
need_envcrypt() {
	[ -f "$ENVCRYPT_KO" ] || skip "dm-envcrypt.ko not in the image"
	# a test that loaded it with portable=1 leaves it so: reload
	if [ "$(cat /sys/module/dm_envcrypt/parameters/portable 2>/dev/null)" = Y ]; then
		rmmod dm_envcrypt || fail "cannot unload the portable dm-envcrypt"
	fi
	modprobe dm-envcrypt || fail "modprobe dm-envcrypt failed"
}

# dm_names: the names of all device-mapper devices
dm_names() {
	dmsetup ls | awk '$0 != "No devices found" { print $1 }'
}

# tidy: remove what tests leave behind: mounts, dm devices, loop devices,
# ram disks, keys.  The runner calls it after every test.
tidy() {
	local mnt i

	for mnt in $(awk '$2 ~ "^/(mnt|tmp)/" { print $2 }' /proc/mounts |
		     sort -r); do
		umount "$mnt" 2>/dev/null || umount -l "$mnt"
	done
	# --force swaps in an error table first: queued I/O fails, holders go
	for i in 1 2 3 4 5; do
		[ -z "$(dm_names)" ] && break
		dmsetup remove_all --force >/dev/null 2>&1
		[ -z "$(dm_names)" ] && break
		sleep 1
	done
	for i in /sys/block/loop*/loop/backing_file; do
		[ -e "$i" ] || continue
		i=${i#/sys/block/}
		losetup -d "/dev/${i%%/*}"
	done
	rmmod brd 2>/dev/null
	keyctl clear @u >/dev/null 2>&1
	keyctl clear @s >/dev/null 2>&1
	keyctl link @u @s >/dev/null 2>&1
	if [ -n "$(dm_names)" ]; then
		echo "tidy: dm devices left: $(dm_names | tr '\n' ' ')"
		return 1
	fi
	return 0
}

# selected A B: whether ENVCRYPT_TESTS (comma-separated globs, empty for
# all) picks the run named "A:B" (file:test, job:device): a glob may match
# A:B, A, B, or A without ".sh"
# shellcheck disable=SC2254 # $glob is a pattern
selected() {
	local glob ifs=$IFS ret=1

	[ -z "$ENVCRYPT_TESTS" ] && return 0
	IFS=,
	for glob in $ENVCRYPT_TESTS; do
		case "$1:$2" in $glob) ret=0 ;; esac
		case "$1" in $glob) ret=0 ;; esac
		case "$2" in $glob) ret=0 ;; esac
		case "${1%.sh}" in $glob) ret=0 ;; esac
	done
	IFS=$ifs
	return $ret
}
