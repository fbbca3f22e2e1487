# SPDX-License-Identifier: GPL-2.0
#
# Faults below the target: dm-error, dm-flakey and dm-delay under envcrypt.
# The stack is  ram disk (or the virtio disk) -> dm-linear "lower", whose
# table a test swaps (suspend, load, resume) for a faulty one -> envcrypt
# "ec" over all of lower.  What it proves: a read error or a failed write
# below reaches the caller as EIO, never as wrong data; sectors the fault
# does not touch keep their data (and their ciphertext, byte for byte); the
# device works again as soon as the fault clears; and it can be removed
# (without --force) at the end of every test.
#
# Sizes are in 512-byte sectors.  The stack is FN sectors (1 MiB unless a
# test sets more); the mixed table fails sectors [FB, FB + FC) (32 KiB at
# 512 KiB) and maps the rest linearly.  The file e is the model: what every
# sector of ec must read, updated after each write that reported success.
#
# Each test prints one line to the console, for docs/RELIABILITY.md:
#   t_faults: NAME: faults=N ios=N verified=BYTES[; NOTES]
# faults: fault tables loaded; ios: I/Os whose outcome the test checked
# (fio's included); verified: bytes compared with the model, or checked by
# fio's crc32c; notes: what the test saw (errors, timings).

. /tests/envcrypt-lib.sh

FB=1024
FC=64

# note TEXT: add TEXT to the notes of the console line (and say it)
note() {
	echo "$*"
	NOTES="${NOTES:-}; $*"
}

# stats_print NAME: the console line
stats_print() {
	echo "t_faults: $1: faults=${FAULTS:-0} ios=${IOS:-0} verified=${VERIFIED:-0}${NOTES:-}" \
		>/dev/console
}

# stack_setup BASE SS CIPHER KEYBYTES [OPT...]: lower over the first FN
# sectors of BASE, ec over lower with that cipher and sector size (4096
# with iv_large_sectors), filled with random data: the model e
stack_setup() {
	local ss=$2 cipher=$3 keybytes=$4 large=0

	BASE=$1
	shift 4
	FN=${FN:-2048}
	SS=$ss
	U=$((ss / 512))
	[ "$ss" = 4096 ] && large=1
	need_envcrypt
	modprobe dm-flakey || fail "modprobe dm-flakey"
	modprobe dm-delay || fail "modprobe dm-delay"
	dm_create lower "0 $FN linear $BASE 0"
	dm_create ec "$(envcrypt_table "$FN" "$cipher" "$(hexkey "$keybytes")" 0 \
		/dev/mapper/lower 0 "$ss" $large "$@")"
	randfile e $((FN / 2))
	write_file_to /dev/mapper/ec e 256k
}

# stack_remove: both devices go without --force: nothing is stuck.  And
# no I/O of the test went through the page cache (see dd_bs).
stack_remove() {
	dmesg | grep -q "Buffer I/O error" &&
		fail "buffered I/O: $(dmesg | grep "Buffer I/O error" | head -n 1)"
	dmsetup remove ec || fail "cannot remove ec: $(dmsetup info ec)"
	dmsetup remove lower || fail "cannot remove lower"
}

# lower_load TABLE: swap lower's table under the running envcrypt device
# (resume suspends lower, swaps in the loaded table and resumes it)
lower_load() {
	dmsetup load lower --table "$1" || fail "load lower: $1"
	dmsetup resume lower || fail "resume lower with: $1"
}

# lower_linear: the fault clears
lower_linear() {
	lower_load "0 $FN linear $BASE 0"
}

# lower_fault TABLE: a fault table, counted
lower_fault() {
	lower_load "$1"
	FAULTS=$((FAULTS + 1))
}

# mixed_table START COUNT: dm-error over [START, START + COUNT), linear
# elsewhere
mixed_table() {
	printf '0 %s linear %s 0\n%s %s error\n%s %s linear %s %s\n' \
		"$1" "$BASE" "$1" "$2" "$(($1 + $2))" "$((FN - $1 - $2))" \
		"$BASE" "$(($1 + $2))"
}

# dd_bs BYTES: a dd block size of at least 4 KiB: busybox dd's buffer is
# page-aligned only then; with an unaligned one O_DIRECT fails with EINVAL
# and dd quietly retries through the page cache
dd_bs() {
	if [ "$1" -lt 4096 ]; then echo 4096; else echo "$1"; fi
}

# ec_rd START COUNT OUT: one O_DIRECT read of COUNT sectors of ec from
# START into OUT; dd's complaint in io.err
ec_rd() {
	IOS=$((IOS + 1))
	dd if=/dev/mapper/ec of="$3" bs="$(dd_bs $(($2 * 512)))" \
		count=$(($2 * 512)) skip=$(($1 * 512)) \
		iflag=direct,skip_bytes,count_bytes 2>io.err
}

# ec_wr START FILE: FILE in one O_DIRECT write to ec at START
ec_wr() {
	IOS=$((IOS + 1))
	dd if="$2" of=/dev/mapper/ec bs="$(dd_bs "$(stat -c %s "$2")")" \
		count=1 seek=$(($1 * 512)) oflag=direct,seek_bytes conv=notrunc \
		2>io.err
}

# expect_eio WHAT CMD...: CMD (ec_rd or ec_wr) fails, with EIO
expect_eio() {
	local what=$1

	shift
	if "$@"; then
		fail "$what succeeded under the fault"
	fi
	grep -q "Input/output error" io.err ||
		fail "$what: not EIO: $(cat io.err)"
}

# slice_sha FILE START COUNT: sha256 of sectors [START, START + COUNT) of
# FILE (a regular file)
slice_sha() {
	dd if="$1" bs=64k skip=$(($2 * 512)) count=$(($3 * 512)) \
		iflag=skip_bytes,count_bytes 2>/dev/null | sha256sum |
		cut -d' ' -f1
}

# model_put START FILE: a write of FILE at START succeeded
model_put() {
	dd if="$2" of=e bs=64k seek=$(($1 * 512)) oflag=seek_bytes \
		conv=notrunc 2>/dev/null
}

# model_is START COUNT FILE: FILE is what the model holds there
model_is() {
	[ "$(slice_sha "$3" 0 "$2")" = "$(slice_sha e "$1" "$2")" ]
}

# check_region START COUNT WHAT: ec reads the model there, in one read
check_region() {
	ec_rd "$1" "$2" region || fail "$3: read failed: $(cat io.err)"
	model_is "$1" "$2" region || fail "$3: data differs from the model"
	VERIFIED=$((VERIFIED + $2 * 512))
}

# raw START COUNT: sha256 of the ciphertext on BASE (multiples of 8)
raw() {
	dd if="$BASE" bs=4k skip=$(($1 / 8)) count=$(($2 / 8)) iflag=direct \
		2>/dev/null | sha256sum | cut -d' ' -f1
}

# sectors_file NAME COUNT: COUNT random sectors in file NAME
sectors_file() {
	head -c $(($2 * 512)) /dev/urandom >"$1"
}

# error_range_case BASE SS CIPHER KEYBYTES [OPT...]: reads and writes in
# and next to a failing range, then recovery
error_range_case() {
	local raw_bad raw_head raw_tail

	stack_setup "$@"
	raw_bad=$(raw $FB $FC)
	lower_fault "$(mixed_table $FB $FC)"

	# inside the range: reads and writes fail with EIO (first and last
	# crypto sector, the whole range)
	expect_eio "read of the first bad sector" ec_rd $FB "$U" r
	expect_eio "read of the last bad sector" ec_rd $((FB + FC - U)) "$U" r
	expect_eio "read of the bad range" ec_rd $FB $FC r
	sectors_file q $FC
	expect_eio "write of the bad range" ec_wr $FB q
	head -c "$SS" q >q1
	expect_eio "write of the first bad sector" ec_wr $FB q1
	expect_eio "write of the last bad sector" ec_wr $((FB + FC - U)) q1

	# right next to it and everywhere else reads and writes work
	check_region $((FB - U)) "$U" "crypto sector before the bad range"
	check_region $((FB + FC)) "$U" "crypto sector after the bad range"
	sectors_file qa "$U"
	sectors_file qb "$U"
	ec_wr $((FB - U)) qa || fail "write before the bad range: $(cat io.err)"
	model_put $((FB - U)) qa
	ec_wr $((FB + FC)) qb || fail "write after the bad range: $(cat io.err)"
	model_put $((FB + FC)) qb
	raw_head=$(raw 0 $FB)
	raw_tail=$(raw $((FB + FC)) $((FN - FB - FC)))
	check_region 0 $FB "all before the bad range"
	check_region $((FB + FC)) $((FN - FB - FC)) "all after the bad range"

	# the fault clears: the range reads what it held before (no failed
	# write reached it), and nothing else changed
	lower_linear
	assert_eq "$raw_bad" "$(raw $FB $FC)" "ciphertext of the bad range"
	assert_eq "$raw_head" "$(raw 0 $FB)" "ciphertext before the range"
	assert_eq "$raw_tail" "$(raw $((FB + FC)) $((FN - FB - FC)))" \
		"ciphertext after the range"
	check_region 0 "$FN" "the whole device after the fault"
	ec_wr $FB q || fail "write to the former bad range: $(cat io.err)"
	model_put $FB q
	check_region $((FB - U)) $((FC + 2 * U)) "the former bad range, rewritten"
	stack_remove
}

# piece_check START COUNT FILE OFF: sectors [START, START + COUNT), good
# sectors of a failed write of FILE (from its sector OFF), read back whole
# as the old data or the new: the device below wrote them or not, and
# envcrypt encrypted them right either way.  Updates the model.
piece_check() {
	ec_rd "$1" "$2" r || fail "read of good sectors [$1, +$2): $(cat io.err)"
	if model_is "$1" "$2" r; then
		PIECES="$PIECES old"
	elif [ "$(slice_sha r 0 "$2")" = "$(slice_sha "$3" "$4" "$2")" ]; then
		PIECES="$PIECES new"
		model_put "$1" r
	else
		fail "good sectors [$1, +$2) of a failed write are neither old nor new"
	fi
	VERIFIED=$((VERIFIED + $2 * 512))
}

# dm-error over a range, 512-byte sectors, AES, on a ram disk
test_error_range_eio_neighbours_intact_aes_ss512() {
	ramdisks 1 1024
	error_range_case /dev/ram0 512 aes-xts-plain64 64
	stats_print error_range_aes_ss512
}

# The same with 4096-byte sectors, AES through the kernel crypto API, on
# the virtio disk: completions come in interrupts, reads are decrypted in
# the workqueue
test_error_range_eio_neighbours_intact_crypto_api_ss4096_virtio() {
	error_range_case "$(scratch_disk)" 4096 aes-xts-plain64 64 crypto_api
	stats_print error_range_crypto_api_ss4096_virtio
}

# I/Os spanning good and bad sectors fail whole with EIO: 64 KiB ones (one
# bio each: max_sectors_kb is 127) and larger ones the block layer splits.
# A failed read changes nothing below; a failed write leaves the ciphertext
# outside it and in the bad range as it was, and its good sectors read
# back as the old or the new data, never anything else.  AES with 512-byte
# sectors, SM4 (built-in) with 4096.
test_partial_bio_fails_whole_eio() {
	local ss cipher raw_all raw_bad raw_head raw_tail ws=$((FB - 256))

	for cipher in "512 aes-xts-plain64 64" "4096 sm4-xts-plain64 32"; do
		# shellcheck disable=SC2086 # three words
		set -- $cipher
		ss=$1
		ramdisks 1 1024
		stack_setup /dev/ram0 "$@"
		raw_all=$(raw 0 "$FN")
		raw_bad=$(raw $FB $FC)
		lower_fault "$(mixed_table $FB $FC)"

		expect_eio "64 KiB read across the start of the bad range" \
			ec_rd $((FB - 64)) 128 r
		expect_eio "64 KiB read across the end of the bad range" \
			ec_rd $((FB + FC - 64)) 128 r
		expect_eio "288 KiB read around the bad range" \
			ec_rd $((FB - 256)) 576 r
		assert_eq "$raw_all" "$(raw 0 "$FN")" "ciphertext after failed reads"

		PIECES=""
		sectors_file w1 128
		expect_eio "64 KiB write across the start of the bad range" \
			ec_wr $((FB - 64)) w1
		piece_check $((FB - 64)) 64 w1 0

		raw_head=$(raw 0 $ws)
		raw_tail=$(raw $((ws + 1024)) $((FN - ws - 1024)))
		sectors_file w2 1024
		expect_eio "512 KiB write across the bad range" ec_wr $ws w2
		assert_eq "$raw_head" "$(raw 0 $ws)" "ciphertext before the write"
		assert_eq "$raw_tail" "$(raw $((ws + 1024)) $((FN - ws - 1024)))" \
			"ciphertext after the write"
		assert_eq "$raw_bad" "$(raw $FB $FC)" "ciphertext of the bad range"
		piece_check $ws 256 w2 0
		piece_check $((FB + FC)) $((768 - FC)) w2 $((256 + FC))
		note "sector size $ss: good sectors of failed writes:$PIECES"

		lower_linear
		assert_eq "$raw_bad" "$(raw $FB $FC)" "ciphertext of the bad range"
		check_region 0 "$FN" "the whole device after the fault"
		stack_remove
	done
	stats_print partial_bio
}

# uptime_cs: time since boot in centiseconds
uptime_cs() {
	local up

	read -r up _ </proc/uptime
	echo "${up%.*}${up#*.}"
}

# flakey_phase READS_FAIL [FEATURE...]: lower is dm-flakey, up 1 s then
# down 1 s, with those features (none: all I/O fails while down;
# error_writes: only writes).  Reads of 4 KiB from the first half and
# writes of fresh 4 KiB blocks to the second go on, one after the other,
# until I/O has failed and then worked again by itself.  A failure must be
# EIO, a read that works must return the model, and in the end the device
# must hold exactly the writes that reported success.
flakey_phase() {
	local reads_fail=$1 table rfail=0 rback=0 wfail=0 wback=0 i=0 rs ws t0

	shift
	table="0 $FN flakey $BASE 0 1 1"
	[ $# -gt 0 ] && table="$table $# $*"
	sectors_file q 1024
	lower_fault "$table"
	t0=$(uptime_cs)
	while [ $wback = 0 ] || { [ "$reads_fail" = 1 ] && [ $rback = 0 ]; }; do
		[ $(($(uptime_cs) - t0)) -lt 1500 ] ||
			fail "no fault and recovery in 15 s: $i rounds, reads failed $rfail, worked again $rback, writes failed $wfail, worked again $wback"
		rs=$(((i % 128) * 8))
		if ec_rd $rs 8 r; then
			model_is $rs 8 r || fail "read $i at sector $rs: wrong data"
			VERIFIED=$((VERIFIED + 4096))
			[ $rfail = 0 ] || rback=$((rback + 1))
		else
			grep -q "Input/output error" io.err ||
				fail "read $i: not EIO: $(cat io.err)"
			[ "$reads_fail" = 1 ] ||
				fail "read $i failed with flakey $*: $(cat io.err)"
			rfail=$((rfail + 1))
		fi
		ws=$((1024 + (i % 128) * 8))
		dd if=q of=qi bs=4k skip=$((i % 128)) count=1 2>/dev/null
		if ec_wr $ws qi; then
			model_put $ws qi
			[ $wfail = 0 ] || wback=$((wback + 1))
		else
			grep -q "Input/output error" io.err ||
				fail "write $i: not EIO: $(cat io.err)"
			wfail=$((wfail + 1))
		fi
		i=$((i + 1))
	done
	note "flakey ${*:-(all I/O)}: $i rounds, reads failed $rfail, writes failed $wfail"
	lower_linear
	check_region 0 "$FN" "the whole device after flakey $*"
}

# dm-flakey up 1 s, down 1 s.  Without features, while down every read and
# write fails with EIO; with error_writes, writes fail with EIO and reads
# return the right data.  When the up interval comes back I/O works, with
# nothing to do.  4096-byte sectors.
test_flakey_intervals_eio_then_recovery() {
	ramdisks 1 1024
	stack_setup /dev/ram0 4096 aes-xts-plain64 64
	flakey_phase 1
	flakey_phase 0 error_writes
	stack_remove
	stats_print flakey_intervals
}

# dm-flakey drop_writes (always down): a write reports success but never
# reaches the device below: the ciphertext is unchanged byte for byte and
# the sectors read their old data; nothing else is disturbed; after the
# fault the same write sticks.
# dm-flakey corrupt_bio_byte (always down): the first byte of each bio
# changed below, on the way up (r) or down (w), garbles exactly the 16-byte
# XTS block that holds it: the read still works (XTS has no integrity), the
# rest of the sector and all other sectors are intact; in the w case the
# ciphertext below differs from the right one in exactly that byte.
test_flakey_drop_writes_and_corrupt_byte() {
	local raw_all x=512 c0 c1 v raw_head raw_tail

	ramdisks 1 1024
	stack_setup /dev/ram0 512 aes-xts-plain64 64
	lower_fault "0 $FN flakey $BASE 0 0 1 1 drop_writes"
	raw_all=$(raw 0 "$FN")
	sectors_file q 128
	ec_wr 256 q || fail "a dropped write must look like a success: $(cat io.err)"
	ec_wr 1536 q || fail "a dropped write must look like a success: $(cat io.err)"
	assert_eq "$raw_all" "$(raw 0 "$FN")" "ciphertext after dropped writes"
	check_region 0 "$FN" "the whole device after dropped writes"
	lower_linear
	ec_wr 256 q || fail "write after the fault: $(cat io.err)"
	model_put 256 q
	assert_ne "$raw_all" "$(raw 0 "$FN")" "ciphertext after a real write"
	check_region 0 "$FN" "the whole device after drop_writes"

	sectors_file q 8
	ec_wr $x q || fail "write: $(cat io.err)"
	model_put $x q
	dd if=/dev/ram0 of=c bs=4k skip=$((x / 8)) count=2 iflag=direct 2>/dev/null
	c0=$(od -An -tu1 -N1 c | tr -d ' ')
	c1=$(od -An -tu1 -j4096 -N1 c | tr -d ' ')
	v=0
	while [ $v = "$c0" ] || [ $v = "$c1" ]; do v=$((v + 1)); done
	raw_head=$(raw 0 $x)
	raw_tail=$(raw $((x + 8)) $((FN - x - 8)))

	# on the way up: two reads, each garbled in its first XTS block only
	lower_fault "0 $FN flakey $BASE 0 0 1 5 corrupt_bio_byte 1 r $v 0"
	ec_rd $x 8 r || fail "read with a corrupted byte: $(cat io.err)"
	cmp -s -n 16 r q && fail "the corrupted ciphertext byte changed nothing"
	cmp -s -n 4080 r q 16 16 || fail "corruption spread past its XTS block"
	ec_rd $((x + 8)) 8 r || fail "read: $(cat io.err)"
	cmp -s -n 16 r e 0 $(((x + 8) * 512)) &&
		fail "the corrupted ciphertext byte changed nothing (next sector)"
	cmp -s -n 4080 r e 16 $(((x + 8) * 512 + 16)) ||
		fail "corruption of the next read spread past its XTS block"
	VERIFIED=$((VERIFIED + 2 * 4080))
	assert_eq "$raw_head$raw_tail" "$(raw 0 $x)$(raw $((x + 8)) $((FN - x - 8)))" \
		"ciphertext after corrupted reads"
	lower_linear
	check_region $x 16 "the sectors read corrupted, after the fault"

	# on the way down: the same data rewritten; below, exactly one byte
	# differs from the right ciphertext, and it reads garbled in one block
	lower_fault "0 $FN flakey $BASE 0 0 1 5 corrupt_bio_byte 1 w $v 0"
	ec_wr $x q || fail "write with a corrupted byte: $(cat io.err)"
	lower_linear
	dd if=/dev/ram0 of=c2 bs=4k skip=$((x / 8)) count=1 iflag=direct 2>/dev/null
	assert_eq "$v" "$(od -An -tu1 -N1 c2 | tr -d ' ')" "the corrupted byte below"
	cmp -s -n 4095 c c2 1 1 || fail "ciphertext differs past the corrupted byte"
	assert_eq "$raw_head$raw_tail" "$(raw 0 $x)$(raw $((x + 8)) $((FN - x - 8)))" \
		"ciphertext of the other sectors"
	ec_rd $x 8 r || fail "read: $(cat io.err)"
	cmp -s -n 16 r q && fail "the corrupted ciphertext byte changed nothing"
	cmp -s -n 4080 r q 16 16 || fail "corruption spread past its XTS block"
	VERIFIED=$((VERIFIED + 4080))
	check_region 0 $x "before the corrupted sector"
	check_region $((x + 8)) $((FN - x - 8)) "after the corrupted sector"
	stack_remove
	stats_print flakey_drop_corrupt
}

# fio_job FILE JOB FIELD: FIELD of the JOB-th job (from 1) in fio's JSON
# output, 0 if it has none (total_err comes with continue_on_error);
# total_ios: its reads and writes
fio_job() {
	awk -v n="$2" -v f="\"$3\"" '
		/"jobname"/ { j++ }
		j == n && $1 == f {
			v += $3
			if (f != "\"total_ios\"" || ++k == 2) exit
		}
		END { print v + 0 }' "$1"
}

# ecfio OUT ARGS...: fio on ec (give --name=), JSON in OUT, its stderr
# in OUT.err
ecfio() {
	local out=$1

	shift
	fio --filename=/dev/mapper/ec --direct=1 --ioengine=libaio \
		--output-format=json --output="$out" "$@" 2>"$out.err"
}

# fio_clean OUT JOBS VERIFIED_BYTES WHAT: that fio run's JOBS jobs had no
# error at all; counts their I/Os and the bytes they verified
fio_clean() {
	local j

	for j in $(seq "$2"); do
		assert_eq 0 "$(fio_job "$1" "$j" error)" \
			"$4: fio error ($(cat "$1.err"))"
		assert_eq 0 "$(fio_job "$1" "$j" total_err)" "$4: fio I/O errors"
		IOS=$((IOS + $(fio_job "$1" "$j" total_ios)))
	done
	grep -q verify "$1.err" && fail "$4: $(cat "$1.err")"
	VERIFIED=$((VERIFIED + $3))
}

# dm_minor NAME: the minor number of /dev/mapper/NAME
dm_minor() {
	echo $((0x$(stat -L -c %T "/dev/mapper/$1")))
}

# inflight MINOR: I/Os in flight on dm-MINOR
inflight() {
	awk '{ print $1 + $2 }' "/sys/block/dm-$1/inflight"
}

# wait_inflight MINOR: until dm-MINOR has I/O in flight (at most 10 s)
wait_inflight() {
	local i

	for i in $(seq 100); do
		[ "$(inflight "$1")" -gt 0 ] && return 0
		sleep 0.1
	done
	fail "no I/O in flight on dm-$1"
}

# dm-delay, 500 ms on every I/O: fio writes 3 MiB at queue depth 16 with
# crc32c and verifies it, with no error, and every I/O waited.  Meanwhile
# ec is suspended twice while delayed I/O is in flight: each suspend waits
# for it and returns (nothing in flight after it), then resume; and the
# delay device below once (it flushes its queue).
test_delay_500ms_fio_verify_qd16_suspend_resume_in_flight() {
	local minor pid cycle us lat

	ramdisks 1 4096
	FN=8192
	stack_setup /dev/ram0 512 aes-xts-plain64 64
	minor=$(dm_minor ec)
	lower_fault "0 $FN delay $BASE 0 500"
	ecfio d.json --name=d --size=3M --iodepth=16 --rw=randwrite \
		--bsrange=4k-64k --verify=crc32c --verify_fatal=1 --do_verify=1 &
	pid=$!
	for cycle in 1 2; do
		wait_inflight "$minor"
		kill -0 $pid || fail "fio ended before suspend $cycle"
		elapsed-us dmsetup suspend ec 2>took ||
			fail "suspend $cycle with I/O in flight: $(cat took)"
		us=$(sed -n 's/^elapsed-us: //p' took)
		note "suspend $cycle with I/O in flight took $((us / 1000)) ms"
		dmsetup info ec | grep -q SUSPENDED || fail "ec not suspended"
		assert_eq 0 "$(inflight "$minor")" "I/O in flight on a suspended ec"
		sleep 0.3
		dmsetup resume ec || fail "resume $cycle"
	done
	wait_inflight "$minor"
	kill -0 $pid || fail "fio ended before the suspend of lower"
	lower_load "0 $FN delay $BASE 0 500"
	wait $pid || fail "fio across suspend and resume: $(cat d.json.err)"
	fio_clean d.json 1 3145728 "write and verify over dm-delay"
	# the quickest read, from submission (the delay starts in io_submit)
	# to completion; dm-delay counts in jiffies
	lat=$(awk '/"lat_ns"/ { getline; gsub(/[^0-9]/, ""); print; exit }' d.json)
	[ "$lat" -ge 480000000 ] || fail "a read took $lat ns, under the delay"
	note "quickest read $((lat / 1000000)) ms"
	lower_linear
	stack_remove
	stats_print delay
}

# A fault in the middle of a fio run with two jobs: r, verifying reads of
# the first 512 KiB (written by fio before), and w, random writes to the
# second MiB.  I/O is paced by a 100 ms dm-delay below, so the run outlasts
# the fault on any host; the fault is the same delay over an error device,
# for 0.5 s.  Both jobs see EIO for some of their I/Os and go on; r never
# sees wrong data (a verify error would end it with EILSEQ).  After the
# fault the first 512 KiB verifies, and a write and verify of the second
# MiB works.
test_fault_mid_fio_eio_not_garbage() {
	local pid minor rerr werr rios wios i

	ramdisks 1 2048
	FN=4096
	stack_setup /dev/ram0 512 aes-xts-plain64 64
	minor=$(dm_minor ec)
	dm_create bad "0 $FN error"
	ecfio a.json --name=r --size=512k --bs=16k --iodepth=16 --rw=write \
		--verify=crc32c --do_verify=0 || fail "fio write: $(cat a.json.err)"
	fio_clean a.json 1 0 "fio write"

	lower_load "0 $FN delay $BASE 0 100"
	ecfio f.json --continue_on_error=io \
		--name=r --size=512k --bs=16k --iodepth=16 --rw=write \
		--verify=crc32c --verify_only=1 --loops=30 \
		--name=w --offset=1M --size=1M --bsrange=4k-64k --iodepth=16 \
		--rw=randwrite --time_based --runtime=6 &
	pid=$!
	# r is through its first loop
	for i in $(seq 100); do
		[ "$(awk '{ print $1 }' "/sys/block/dm-$minor/stat")" -ge 32 ] &&
			break
		sleep 0.1
	done
	kill -0 $pid || fail "fio ended before the fault"
	lower_fault "0 $FN delay /dev/mapper/bad 0 100"
	sleep 0.5
	lower_load "0 $FN delay $BASE 0 100"
	kill -0 $pid || fail "fio ended during the fault"
	wait $pid || fail "fio: $(cat f.json.err)"
	grep -q verify f.json.err && fail "fio: $(cat f.json.err)"

	rios=$(fio_job f.json 1 total_ios)
	rerr=$(fio_job f.json 1 total_err)
	wios=$(fio_job f.json 2 total_ios)
	werr=$(fio_job f.json 2 total_err)
	note "r: $rerr of $rios I/Os failed, w: $werr of $wios"
	assert_eq 5 "$(fio_job f.json 1 first_error)" "r's first error"
	assert_eq 5 "$(fio_job f.json 1 error)" "r's error"
	assert_eq 5 "$(fio_job f.json 2 first_error)" "w's first error"
	if [ "$rerr" = 0 ] || [ "$rerr" -ge "$rios" ]; then
		fail "r: $rerr of $rios I/Os failed"
	fi
	if [ "$werr" = 0 ] || [ "$werr" -ge "$wios" ]; then
		fail "w: $werr of $wios I/Os failed"
	fi
	IOS=$((IOS + rios + wios))
	VERIFIED=$((VERIFIED + (rios - rerr) * 16384))

	lower_linear
	dmsetup remove bad || fail "remove bad"
	# r and w as jobs 1 and 2 again: the same random seeds as before
	ecfio b.json --verify=crc32c --verify_fatal=1 --iodepth=16 \
		--name=r --size=512k --bs=16k --rw=write --verify_only=1 \
		--name=w --offset=1M --size=1M --bsrange=4k-64k --rw=randwrite \
		--do_verify=1 ||
		fail "fio after the fault: $(cat b.json.err)"
	fio_clean b.json 2 $((512 * 1024 + 1048576)) \
		"verify of the first 512 KiB, write and verify of the second MiB"
	stack_remove
	stats_print fault_mid_fio
}
