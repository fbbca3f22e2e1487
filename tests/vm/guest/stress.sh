#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# The stress driver: for DURATION seconds, at the same time,
#
#   fio     rounds of fio with crc32c verification at queue depth 32 and
#           mixed block sizes on two envcrypt devices (AES-XTS 512-byte
#           sectors with a hex key; SM4-XTS 4096-byte sectors with a
#           keyring key), each round a random-write pass that verifies
#           what it wrote, then a separate --verify_only pass over it; each
#           round has its own seed and moves on through the device, so a
#           lost or misplaced write cannot pass for an old one
#   suspend dmsetup suspend/resume cycles on the AES device under fio
#   key     key wipe/key set cycles (on_key_wipe:queue) on both fio devices:
#           suspend, "key wipe" (status key:none), sometimes a resume that
#           must be refused while fio's I/O waits, "key set" with the same
#           key (hex, or the keyring form; status shows its kcv), resume
#   errkey  key wipe cycles on an on_key_wipe:error device: resumed
#           without a key, a read and a write must fail with EIO; after
#           "key set" its data must be unchanged
#   devices envcrypt devices created and removed on another RAM disk
#           (AES or SM4, 512 or 4096-byte sectors, hex or keyring key):
#           write, remove, create again with the same key, read back
#   faults  windows where the device under an envcrypt device becomes a
#           dm "error" target: a read and a write through envcrypt must
#           fail with EIO; when the lower device comes back, data written
#           before the window reads back unchanged
#
# and prints a table and one line for machines:
#
#   envcrypt-stress-summary: duration=S ios=N fio_rounds=N suspends=N
#     key_cycles=N errkey_cycles=N devices=N fault_windows=N faults=N
#     errors=N mismatches=N splats=N
#
# ios: I/Os fio completed (reads and writes of the write pass, reads of the
# verify pass); faults: the sum of all the cycles above (suspends, key
# cycles, devices created, fault windows); errors: commands that failed
# when they should not have, or succeeded when they should have failed,
# fio errors, a loop that did nothing; mismatches: data that read back
# wrong (fio verify failures, checksums); splats: kernel warnings in dmesg.
# Details of each error are printed as "stress-error: ..." lines.
#
#   bash /tests/stress.sh DURATION [WORKDIR]
#
# Exit status 0 when errors, mismatches and splats are all zero.  It
# loads brd itself (4 RAM disks of 64 MiB) and removes every device it
# made.  Environment: STRESS_IODEPTH (32), STRESS_ROUND_MIB (16).

set -u
. /tests/lib.sh
. /tests/envcrypt-lib.sh

DURATION=${1:-30}
W=${2:-/tmp/stress.$$}
IODEPTH=${STRESS_IODEPTH:-32}
ROUND_MIB=${STRESS_ROUND_MIB:-16}
BAD='BUG:|WARNING:|Oops|general protection|blocked for more than|hung_task'
BAD="$BAD|possible circular locking|INFO: possible|inconsistent lock state"
BAD="$BAD|Kernel panic|Call Trace"

A=stress-aes		# fio, suspend/resume and key cycles, hex key
B=stress-sm4		# fio and key cycles, keyring key, 4096-byte sectors
E=stress-errmode	# on_key_wipe:error
F=stress-fault		# envcrypt over L
L=stress-lower		# linear or error over /dev/ram3

# error MESSAGE: something failed that should not have
error() {
	local msg

	msg=$(echo "$*" | tr '\n' ' ')
	echo "stress-error: $msg"
	echo "$msg" >>"$W/errors"
}

# mismatch MESSAGE: data read back wrong
mismatch() {
	local msg

	msg=$(echo "$*" | tr '\n' ' ')
	echo "stress-mismatch: $msg"
	echo "$msg" >>"$W/mismatches"
}

# lib.sh's fail() is for the check suite: here a setup failure ends the run
fail() {
	echo "stress-error: setup: $*"
	exit 1
}

now() { date +%s; }
running() { [ "$(now)" -lt "$END" ] && [ ! -e "$W/stop" ]; }

# count NAME: one more of NAME
count() {
	local n=0

	[ -f "$W/$1" ] && n=$(cat "$W/$1")
	echo $((n + 1)) >"$W/$1"
}

# add NAME N
add() {
	local n=0

	[ -f "$W/$1" ] && n=$(cat "$W/$1")
	echo $((n + $2)) >"$W/$1"
}

get() { cat "$W/$1" 2>/dev/null || echo 0; }

# lock NAME / unlock NAME: one dmsetup state change at a time per device
# (suspend/resume and key cycles on the same device would undo each
# other); gives up, as an error, a minute after the end
lock() {
	while ! mkdir "$W/lock.$1" 2>/dev/null; do
		if [ "$(now)" -gt $((END + 60)) ]; then
			error "lock $1: still held a minute after the end"
			return 1
		fi
		sleep 0.05
	done
}
unlock() { rmdir "$W/lock.$1"; }

# pause: a random 0-0.3 s
pause() { sleep "0.$((RANDOM % 4))"; }

# keystat DEV: the key part of the device's status
keystat() { dmsetup status "$1" | grep -o 'key:.*'; }

# ios_of JSON PASS: I/Os fio did; a --verify_only pass counts its writes
# in the JSON but does none, so only its reads
ios_of() {
	grep -o '"total_ios" : [0-9]*' "$1" | awk -v pass="$2" '
		{ n++; if (n % 4 == 1 || (n % 4 == 2 && pass == "w")) s += $3 }
		END { print s + 0 }'
}

# fio_loop DEV SIZE_MIB BSRANGE: fio rounds until the end
fio_loop() {
	local dev=$1 size=$2 bs=$3 round=0 off seed pass out job

	[ "$ROUND_MIB" -le "$size" ] || ROUND_MIB=$size
	while running; do
		round=$((round + 1))
		off=$(((round - 1) % (size / ROUND_MIB) * ROUND_MIB))
		seed=$((RANDOM * 32768 + RANDOM + 1))
		job="--name=stress --filename=/dev/mapper/$dev --direct=1
		     --ioengine=libaio --iodepth=$IODEPTH --rw=randwrite
		     --bsrange=$bs --offset=${off}M --size=${ROUND_MIB}M
		     --verify=crc32c --verify_fatal=1 --randseed=$seed
		     --output-format=json --eta=never"
		for pass in w v; do
			out=$W/fio.$dev.$pass
			if [ $pass = w ]; then
				# shellcheck disable=SC2086
				fio $job --do_verify=1 --output="$out.json" 2>"$out.err"
			else
				# shellcheck disable=SC2086
				fio $job --verify_only=1 --output="$out.json" 2>"$out.err"
			fi
			if [ $? -ne 0 ] || grep -q '"error" : [1-9]' "$out.json"; then
				if grep -qi 'verify\|bad magic\|crc32c' "$out.err"; then
					mismatch "fio $dev round $round pass $pass: $(head -n 3 "$out.err")"
				else
					error "fio $dev round $round pass $pass: $(tail -n 3 "$out.err")"
				fi
				cp "$out.json" "$W/failed.$dev.$round.$pass.json"
				break
			fi
			add "ios.$dev" "$(ios_of "$out.json" $pass)"
		done
		count "fio_rounds.$dev"
	done
}

# suspend_loop DEV: suspend, wait a little with I/O queued, resume
suspend_loop() {
	local dev=$1

	while running; do
		lock "$dev" || return
		dmsetup suspend "$dev" || error "suspend $dev"
		pause
		dmsetup resume "$dev" || error "resume $dev"
		dmsetup info "$dev" | grep -q SUSPENDED && error "$dev still suspended"
		unlock "$dev"
		count suspends
		pause
	done
}

# key_cycle DEV KEY KCV: one queue-mode wipe/set cycle, KEY as "key set"
# takes it
key_cycle() {
	local dev=$1 key=$2 kcv=$3

	lock "$dev" || return
	dmsetup suspend "$dev" || error "key cycle: suspend $dev"
	dmsetup message "$dev" 0 key wipe || error "key wipe $dev"
	[ "$(keystat "$dev")" = "key:none kcv:-" ] ||
		error "$dev after key wipe: $(keystat "$dev")"
	if [ $((RANDOM % 2)) = 0 ]; then
		# no key: the device must stay suspended, I/O waiting
		dmsetup resume "$dev" 2>/dev/null &&
			error "resume of $dev without a key succeeded (queue mode)"
		dmsetup info "$dev" | grep -q SUSPENDED ||
			error "$dev resumed without a key"
		pause
	fi
	dmsetup message "$dev" 0 key set "$key" || error "key set $dev"
	[ "$(keystat "$dev")" = "key:loaded kcv:$kcv" ] ||
		error "$dev after key set: $(keystat "$dev"), kcv should be $kcv"
	dmsetup resume "$dev" || error "key cycle: resume $dev"
	unlock "$dev"
	count key_cycles
}

key_loop() {
	while running; do
		key_cycle $A "$KA" "$KCV_A"
		pause
		running || break
		key_cycle $B ":32:logon:envcrypt:$B" "$KCV_B"
		pause
	done
}

# dd_eio WHAT DD-ARGS...: dd must fail with EIO
dd_eio() {
	local what=$1 err=$W/dd.$BASHPID.err

	shift
	if dd "$@" 2>"$err"; then
		error "$what succeeded, should fail with EIO"
	elif ! grep -q 'Input/output error' "$err"; then
		error "$what failed, but not with EIO: $(cat "$err")"
	fi
}

# errkey_loop: on_key_wipe:error device E with 1 MiB of known data
errkey_loop() {
	local sum

	sum=$(file_sha "$W/pe")
	while running; do
		dmsetup suspend $E || error "suspend $E"
		dmsetup message $E 0 key wipe || error "key wipe $E"
		dmsetup resume $E || error "resume of $E without a key (error mode)"
		dd_eio "read from $E without a key" if=/dev/mapper/$E of=/dev/null \
			bs=4k count=1 skip=$((RANDOM % 256)) iflag=direct
		dd_eio "write to $E without a key" if=/dev/zero of=/dev/mapper/$E \
			bs=4k count=1 seek=$((RANDOM % 256)) oflag=direct
		dmsetup suspend $E || error "suspend $E without a key"
		dmsetup message $E 0 key set "$KE" || error "key set $E"
		dmsetup resume $E || error "resume $E with its key"
		[ "$(dev_sha /dev/mapper/$E 1024)" = "$sum" ] ||
			mismatch "$E: data changed across a key wipe window"
		count errkey_cycles
		pause
	done
}

# device_loop: create, write, remove, create again, read back, remove
device_loop() {
	local i=0 name table key ref off sum ss cipher klen

	while running; do
		i=$((i + 1))
		name=stress-dev$i
		off=$((RANDOM % 8 * 8192))	# sectors, within /dev/ram2
		case $((i % 3)) in
		0) cipher=aes-xts-plain64 ss=512 klen=64 ;;
		1) cipher=sm4-xts-plain64 ss=4096 klen=32 ;;
		2) cipher=aes-xts-plain64 ss=4096 klen=64 ;;
		esac
		key=$(hexkey $klen)
		ref=$key
		if [ $((i % 2)) = 0 ]; then
			hex2file "$key" "$W/kd"
			keyctl padd logon "envcrypt:$name" @u <"$W/kd" >/dev/null ||
				error "keyctl padd for $name"
			ref=":$klen:logon:envcrypt:$name"
		fi
		table=$(envcrypt_table 16384 $cipher "$ref" 0 /dev/ram2 $off $ss 0)
		randfile "$W/pd" 256
		sum=$(file_sha "$W/pd")
		if ! dmsetup create $name --table "$table"; then
			error "create $name: $table"
			continue
		fi
		dmsetup mknodes $name
		count devices
		dd if="$W/pd" of=/dev/mapper/$name bs=64k oflag=direct 2>/dev/null ||
			error "write to $name"
		dmsetup remove $name || error "remove $name"
		dmsetup create $name --table "$table" || error "create $name again"
		dmsetup mknodes $name
		count devices
		[ "$(dev_sha /dev/mapper/$name 256)" = "$sum" ] ||
			mismatch "$name: data read back after remove and create differs"
		dmsetup remove $name || error "remove $name"
		[ "$ref" = "$key" ] || keyctl purge logon "envcrypt:$name" >/dev/null
	done
}

# lower_table linear|error
lower_table() {
	if [ "$1" = linear ]; then
		echo "0 16384 linear /dev/ram3 16384"
	else
		echo "0 16384 error"
	fi
}

# fault_loop: F (envcrypt) over L; L becomes an error target for a while
fault_loop() {
	local sum off

	while running; do
		off=$((RANDOM % 24 * 256))	# KiB, a 256 KiB region in 8 MiB
		randfile "$W/pf" 256
		sum=$(file_sha "$W/pf")
		dd if="$W/pf" of=/dev/mapper/$F bs=64k seek=$((off / 64)) \
			oflag=direct 2>/dev/null || error "write to $F"
		dmsetup load $L --table "$(lower_table error)" &&
			dmsetup suspend $L && dmsetup resume $L ||
			error "switch $L to error"
		dd_eio "read from $F over an error target" if=/dev/mapper/$F \
			of=/dev/null bs=4k count=1 skip=$((off / 4)) iflag=direct
		dd_eio "write to $F over an error target" if=/dev/zero \
			of=/dev/mapper/$F bs=4k count=1 seek=$((off / 4)) oflag=direct
		dmsetup load $L --table "$(lower_table linear)" &&
			dmsetup suspend $L && dmsetup resume $L ||
			error "switch $L back to linear"
		[ "$(dd if=/dev/mapper/$F bs=64k skip=$((off / 64)) count=4 \
			iflag=direct 2>/dev/null | sha256sum | cut -d' ' -f1)" = "$sum" ] ||
			mismatch "$F: data written before a fault window differs after it"
		count fault_windows
		pause
	done
}

# setup: module, RAM disks, keys, the long-lived devices
setup() {
	mkdir -p "$W" || exit 1
	rm -f "$W"/*
	if [ "$(cat /sys/module/dm_envcrypt/parameters/portable 2>/dev/null)" = Y ]; then
		rmmod dm_envcrypt || fail "cannot unload the portable dm-envcrypt"
	fi
	modprobe dm-envcrypt || fail "modprobe dm-envcrypt"
	rmmod brd 2>/dev/null
	modprobe brd rd_nr=4 rd_size=65536 || fail "modprobe brd"
	[ "$(sectors /dev/ram3)" = 131072 ] || fail "brd was busy"

	KA=$(hexkey 64)
	hex2file "$KA" "$W/ka"
	hex2file "$(hexkey 32)" "$W/kb"
	keyctl padd logon "envcrypt:$B" @u <"$W/kb" >/dev/null || fail "keyctl padd"
	KCV_A=$(kcv_of "$W/ka")
	KCV_B=$(kcv_of "$W/kb")
	KE=$(hexkey 64)
	dm_create $A "$(envcrypt_table 98304 aes-xts-plain64 "$KA" 0 /dev/ram0 0 512 0)"
	dm_create $B "$(envcrypt_table 65536 sm4-xts-plain64 ":32:logon:envcrypt:$B" \
		0 /dev/ram1 0 4096 1)"
	dm_create $E "$(envcrypt_table 2048 aes-xts-plain64 "$KE" 0 /dev/ram3 0 512 0 \
		on_key_wipe:error)"
	dm_create $L "$(lower_table linear)"
	dm_create $F "$(envcrypt_table 16384 aes-xts-plain64 "$(hexkey 64)" 0 \
		/dev/mapper/$L 0 512 0)"
	randfile "$W/pe" 1024
	dd if="$W/pe" of=/dev/mapper/$E bs=64k oflag=direct 2>/dev/null ||
		fail "write to $E"
	: >"$W/errors"
	: >"$W/mismatches"
	drain
}

# drain: move the kernel log to $W/dmesg (judged at the end; the ring
# buffer could wrap in a long run), and to the check suite's copy
drain() {
	dmesg -c >"$W/dmesg.new"
	cat "$W/dmesg.new" >>"$W/dmesg"
	[ -n "${ENVCRYPT_DMESG:-}" ] && cat "$W/dmesg.new" >>"$ENVCRYPT_DMESG"
	rm -f "$W/dmesg.new"
}

dmesg_loop() {
	while running; do
		drain
		sleep 5
	done
}

# teardown: check the fio devices are healthy, remove everything
teardown() {
	local d

	for d in $A $B $E; do
		dmsetup info $d | grep -q SUSPENDED && error "$d left suspended"
		keystat $d | grep -q '^key:loaded' || error "$d left without a key"
	done
	for d in $F $L $E $B $A; do
		dmsetup remove $d || error "remove $d"
	done
	d=$(dmsetup ls | grep -o '^stress-[^[:space:]]*' | tr '\n' ' ')
	[ -z "$d" ] || error "devices left: $d"
	keyctl purge logon "envcrypt:$B" >/dev/null
	rmmod brd || error "rmmod brd: a RAM disk is still in use"
}

summary() {
	local name f errors mismatches splats faults ios fio_rounds

	drain
	splats=$(grep -cE "$BAD" "$W/dmesg")
	if [ "$splats" -gt 0 ]; then
		grep -E "$BAD" "$W/dmesg" | head -n 20 | sed 's/^/stress-splat: /'
	fi
	for f in fio_rounds.$A fio_rounds.$B suspends key_cycles errkey_cycles \
		 devices fault_windows; do
		[ "$(get $f)" -gt 0 ] || error "the $f loop did nothing"
	done
	errors=$(wc -l <"$W/errors" 2>/dev/null || echo 0)
	mismatches=$(wc -l <"$W/mismatches" 2>/dev/null || echo 0)
	faults=$(($(get suspends) + $(get key_cycles) + $(get errkey_cycles) +
		  $(get devices) + $(get fault_windows)))
	ios=$(($(get ios.$A) + $(get ios.$B)))
	fio_rounds=$(($(get fio_rounds.$A) + $(get fio_rounds.$B)))

	printf '\n%-40s %12s\n' "envcrypt stress, $ELAPSED s" count
	printf '%-40s %12s\n' "I/Os by fio (crc32c verified)" "$ios"
	printf '%-40s %12s\n' "  on AES-XTS, 512-byte sectors" "$(get ios.$A)"
	printf '%-40s %12s\n' "  on SM4-XTS, 4096-byte sectors" "$(get ios.$B)"
	printf '%-40s %12s\n' "fio rounds (write+verify, verify pass)" "$fio_rounds"
	printf '%-40s %12s\n' "suspend/resume cycles" "$(get suspends)"
	printf '%-40s %12s\n' "key wipe/set cycles, on_key_wipe:queue" "$(get key_cycles)"
	printf '%-40s %12s\n' "key wipe/set cycles, on_key_wipe:error" "$(get errkey_cycles)"
	printf '%-40s %12s\n' "devices created and removed" "$(get devices)"
	printf '%-40s %12s\n' "lower-device fault windows" "$(get fault_windows)"
	printf '%-40s %12s\n' "faults injected (all of the above)" "$faults"
	printf '%-40s %12s\n' "errors" "$errors"
	printf '%-40s %12s\n' "data mismatches" "$mismatches"
	printf '%-40s %12s\n\n' "kernel warnings" "$splats"
	echo "envcrypt-stress-summary: duration=$ELAPSED ios=$ios" \
	     "fio_rounds=$fio_rounds suspends=$(get suspends)" \
	     "key_cycles=$(get key_cycles) errkey_cycles=$(get errkey_cycles)" \
	     "devices=$(get devices) fault_windows=$(get fault_windows)" \
	     "faults=$faults errors=$errors mismatches=$mismatches splats=$splats"
	[ "$errors" = 0 ] && [ "$mismatches" = 0 ] && [ "$splats" = 0 ]
}

setup
START=$(now)
END=$((START + DURATION))
echo "stress: $DURATION s, iodepth $IODEPTH, rounds of $ROUND_MIB MiB, work in $W"
pids=
fio_loop $A 48 512-256k & pids="$pids $!"
fio_loop $B 32 4k-1M & pids="$pids $!"
suspend_loop $A & pids="$pids $!"
key_loop & pids="$pids $!"
errkey_loop & pids="$pids $!"
device_loop & pids="$pids $!"
fault_loop & pids="$pids $!"
dmesg_loop & pids="$pids $!"
for p in $pids; do
	wait "$p"
done
ELAPSED=$(($(now) - START))
teardown
summary
