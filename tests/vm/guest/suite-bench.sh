#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# The bench suite: dm-envcrypt against dm-crypt, same fio job, same backing
# device, in a guest booted with -icount shift=0 -smp 1 (guest time counts
# instructions, so fio's numbers are exact and repeatable).
#
# One brd RAM disk, written in full first so that every read hits an
# allocated page, carries all the devices under test at once:
#
#   brd         /dev/ram0 itself (reference: no encryption)
#   crypt       dm-crypt aes-xts-plain64, default options
#   crypt-nowq  dm-crypt with no_read_workqueue no_write_workqueue
#   envcrypt    dm-envcrypt aes-xts-plain64, default options
#   envcrypt-sm4           dm-envcrypt sm4-xts-plain64, default options
#                          (the module's built-in, accelerated SM4-XTS)
#   envcrypt-sm4-portable  the same, measured last, with the module
#                          reloaded as "modprobe dm-envcrypt portable=1":
#                          the built-in portable C SM4-XTS, same data path
#
# the AES devices with one random 512-bit key, the SM4 devices with one
# random 256-bit key; all iv_offset 0, offset 0, 512-byte sectors.
# Sharing one RAM disk (rather than one per device) keeps the backing store
# identical down to its page tree; the devices are used one at a time.
#
# For each job, each device in the order above: fio with --output-format=json,
# printed on the console as one line
#   envcrypt-bench-json: <job> <device> {...}
# between "envcrypt-bench-begin" and "envcrypt-bench-end"; bench/report on
# the host turns the log into a table.  Jobs are sized by bytes moved, not by
# time, so a run is deterministic.
#
# ENVCRYPT_TESTS=GLOB[,GLOB...] (envcrypt.tests= on the kernel command line)
# picks runs: a glob matches "<job>:<device>", the job or the device, e.g.
# "randread-4k-qd1", "*:envcrypt", "write-1m-qd1:crypt*".
# envcrypt.bench_scale=PERCENT on the kernel command line scales every
# job's I/O amount (default 100), for quick runs while developing.  On top
# of it, a device may move less per run than the others (dev_scale below;
# the suite prints it): the portable SM4 is slow enough that full-size runs
# would add minutes of real time without adding resolution.
#
# Exit status: 0 when every selected run completed (whatever the numbers),
# non-zero when something broke (a device could not be made, fio failed).

. /tests/lib.sh

# lib.sh's fail() reports to the check suite's verdict file; here a
# failure ends the suite.
fail() {
	echo "envcrypt-bench-error: $*"
	exit 1
}

# without the module there is nothing to compare: that is an error here
need_envcrypt() {
	[ -f "$ENVCRYPT_KO" ] || fail "dm-envcrypt.ko not in the image"
	modprobe dm-envcrypt || fail "modprobe dm-envcrypt failed"
}

DISK_MIB=256		# the RAM disk, and the region every job works in
SECTORS=$((DISK_MIB * 2048))
DEVICES="brd crypt crypt-nowq envcrypt envcrypt-sm4 envcrypt-sm4-portable"

# Bytes moved per run (MiB) at scale 100.  Chosen so that each encrypted
# run lasts more than a second of guest time (fio's bandwidth has
# millisecond resolution) and the whole suite a few minutes of real time.
# The 4k jobs touch every block of the disk once (fio's random map).
IO_4K_QD1=256
IO_4K_QD32=256
IO_1M=512

# job table: name rw bs ioengine iodepth MiB
JOBS="
randread-4k-qd1   randread  4k psync  1  $IO_4K_QD1
randread-4k-qd32  randread  4k libaio 32 $IO_4K_QD32
randwrite-4k-qd1  randwrite 4k psync  1  $IO_4K_QD1
randwrite-4k-qd32 randwrite 4k libaio 32 $IO_4K_QD32
read-1m-qd1       read      1M psync  1  $IO_1M
write-1m-qd1      write     1M psync  1  $IO_1M
"

# dev_scale DEVICE: the percentage of each job's I/O that DEVICE moves
# (before envcrypt.bench_scale).  Sized so that each of its runs still lasts
# at least 1.5 s of guest time: the portable SM4 does about 12 MB/s here,
# so 10% is about 2.3 s per 4k run and 4.5 s per 1M run (at 100% its six runs
# would take three more minutes of guest time, on the order of ten more
# minutes of real time).
dev_scale() {
	case $1 in
	envcrypt-sm4-portable) echo 10 ;;
	*) echo 100 ;;
	esac
}

scale=100
for arg in $(cat /proc/cmdline); do
	case $arg in
	envcrypt.bench_scale=*) scale=${arg#*=} ;;
	esac
done
case $scale in
'' | *[!0-9]*) fail "envcrypt.bench_scale=$scale is not a number" ;;
esac

# path_of DEVICE: its block device node
path_of() {
	case $1 in
	brd) echo /dev/ram0 ;;
	*) echo "/dev/mapper/$1" ;;
	esac
}

# run_fio JOB DEVICE RW BS ENGINE IODEPTH MIB: one run, its JSON on the console
run_fio() {
	local job=$1 dev=$2 rw=$3 bs=$4 engine=$5 depth=$6 mib=$7 out err

	out=/tmp/bench-$job-$dev.json
	err=/tmp/bench-$job-$dev.err
	mib=$((mib * scale * $(dev_scale "$dev") / 10000))
	[ "$mib" -ge 1 ] || mib=1
	if ! fio --name="$job" --filename="$(path_of "$dev")" \
		--rw="$rw" --bs="$bs" --ioengine="$engine" --iodepth="$depth" \
		--direct=1 --size="${DISK_MIB}M" --io_size="${mib}M" \
		--randrepeat=1 --invalidate=0 --disk_util=0 \
		--clat_percentiles=0 --lat_percentiles=1 \
		--percentile_list=50:99 \
		--output-format=json --output="$out" 2>"$err" >/dev/null; then
		echo "envcrypt-bench-error: $job $dev: fio failed:" \
		     "$(tr '\n' ' ' <"$err") $(tr '\n' ' ' <"$out")"
		return 1
	fi
	if ! grep -q '"error" : 0,' "$out"; then
		echo "envcrypt-bench-error: $job $dev: fio reported an I/O error"
		return 1
	fi
	# the JSON on one line; a console line the host can pick out
	echo "envcrypt-bench-json: $job $dev $(tr -d '\n\t' <"$out")"
	rm -f "$out" "$err"
}

# open_times N CMD...: run CMD (an open) then remove "bo", N times;
# prints the times of the opens in microseconds, sorted
open_times() {
	local n=$1 i

	shift
	for i in $(seq 1 "$n"); do
		elapsed-us "$@" 2>/tmp/took >/dev/null ||
			fail "$* failed: $(cat /tmp/took)"
		dmsetup remove bo || fail "remove after $*"
		sed -n 's/^elapsed-us: //p' /tmp/took
	done | sort -n
}

# summary WHAT TIMES...: median and slowest, in ms
open_summary() {
	local what=$1 n med max

	shift
	n=$#
	med=$(echo "$@" | tr ' ' '\n' | sed -n "$(((n + 1) / 2))p")
	max=$(echo "$@" | tr ' ' '\n' | tail -n 1)
	echo "envcrypt-bench-info: open $what: median $((med / 1000)).$(((med % 1000) / 100)) ms, slowest $((max / 1000)).$(((max % 1000) / 100)) ms over $n opens"
}

# Time from command start to device ready: "envcryptctl open" of a volume
# in the local KMS (header read, unwrap, keyring, dm create), beside
# "cryptsetup open --type plain" of the same disk with a key file (dm
# create only, no header and no KMS).  Target: envcryptctl under 50 ms.
bench_open() {
	local t

	selected open envcryptctl || return 0
	export ENVCRYPT_KMS_DIR=/tmp/bench-kms
	ramdisks 1 16384
	envcryptctl format /dev/ram0 --yes >/dev/null || fail "format /dev/ram0"
	envcryptctl open /dev/ram0 bo || fail "first open"	# loads nothing new later
	dmsetup remove bo
	t=$(open_times 20 envcryptctl open /dev/ram0 bo)
	open_summary "envcryptctl (local KMS)" $t
	head -c 64 /dev/urandom >/tmp/bench-key
	t=$(open_times 20 cryptsetup open --type plain --cipher aes-xts-plain64 \
		--key-size 512 --key-file /tmp/bench-key /dev/ram0 bo)
	open_summary "cryptsetup --type plain" $t
	rm -f /tmp/bench-key
	rmmod brd
}

rc=0
echo "envcrypt-bench-begin"
echo "envcrypt-bench-info: kernel $(uname -r)"
echo "envcrypt-bench-info: cpus $(nproc)"
echo "envcrypt-bench-info: fio $(fio --version)"
echo "envcrypt-bench-info: ramdisk ${DISK_MIB} MiB, scale ${scale}%"

need_envcrypt
echo "envcrypt-bench-info: dm-envcrypt.ko sha256 $(sha256sum "$ENVCRYPT_KO" | cut -c1-16)"

bench_open
ramdisks 1 $((DISK_MIB * 1024))
# every page of the RAM disk allocated before anything is measured
dd if=/dev/zero of=/dev/ram0 bs=1M count="$DISK_MIB" oflag=direct \
	2>/dev/null || fail "prefill of /dev/ram0"

key=$(hexkey 64)
dm_create crypt "0 $SECTORS crypt aes-xts-plain64 $key 0 /dev/ram0 0"
dm_create crypt-nowq "0 $SECTORS crypt aes-xts-plain64 $key 0 /dev/ram0 0 2 no_read_workqueue no_write_workqueue"
dm_create envcrypt "0 $SECTORS envcrypt aes-xts-plain64 $key 0 /dev/ram0 0"
key=$(hexkey 32)
dm_create envcrypt-sm4 "0 $SECTORS envcrypt sm4-xts-plain64 $key 0 /dev/ram0 0"
sm4_key=$key
key=
# which xts(aes) the kernel picked: the same for dm-crypt and dm-envcrypt
echo "envcrypt-bench-info: xts(aes) driver $(awk '
	$1 == "name" { name = $3 }
	$1 == "driver" && name == "xts(aes)" { d = $3 }
	$1 == "priority" && name == "xts(aes)" && $3 > p { p = $3; best = d }
	END { print best }' /proc/crypto)"
# what each dm-envcrypt device runs, from its status line (without the key
# check value): "envcrypt-bench-info: status <device> cipher:... driver:..."
log_status() {
	echo "envcrypt-bench-info: status $1 $(dmsetup status "$1" |
		tr ' ' '\n' | grep -E '^(cipher|sector_size|driver):' |
		tr '\n' ' ' | sed 's/ $//')"
}
for dev in envcrypt envcrypt-sm4; do
	log_status "$dev"
done
for dev in $DEVICES; do
	[ "$(dev_scale "$dev")" = 100 ] ||
		echo "envcrypt-bench-info: scale $dev moves $(dev_scale "$dev")% of each job's I/O"
done

# run_jobs DEVICE...: every selected job on each device
run_jobs() {
	echo "$JOBS" | while read -r job rw bs engine depth mib; do
		[ -n "$job" ] || continue
		for dev in "$@"; do
			selected "$job" "$dev" || continue
			t0=$(date +%s)
			run_fio "$job" "$dev" "$rw" "$bs" "$engine" "$depth" "$mib" ||
				echo failed >/tmp/bench-failed
			echo "envcrypt-bench-info: $job $dev took $(($(date +%s) - t0)) s guest time"
		done
	done
}

start=$(date +%s)
run_jobs brd crypt crypt-nowq envcrypt envcrypt-sm4
for dev in crypt crypt-nowq envcrypt envcrypt-sm4; do
	dmsetup remove "$dev" || rc=1
done

# The portable SM4-XTS: the same target with the module's portable code.
rmmod dm_envcrypt || rc=1
modprobe dm-envcrypt portable=1 || rc=1
dm_create envcrypt-sm4-portable "0 $SECTORS envcrypt sm4-xts-plain64 $sm4_key 0 /dev/ram0 0"
sm4_key=
log_status envcrypt-sm4-portable
run_jobs envcrypt-sm4-portable
dmsetup remove envcrypt-sm4-portable || rc=1
[ -e /tmp/bench-failed ] && rc=1
rmmod brd || rc=1
echo "envcrypt-bench-info: total $(($(date +%s) - start)) s guest time"
echo "envcrypt-bench-end"
exit $rc
