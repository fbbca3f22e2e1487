# SPDX-License-Identifier: GPL-2.0
#
# Bad input: thousands of random and mutated table lines and messages
# against the envcrypt target (envcrypt-dm-fuzz, raw device-mapper ioctls:
# tests/vm/tools/dm-fuzz.c), and damaged volume headers given to
# "envcryptctl open" and "dump".  Nothing may oops, leak, hang or stay
# behind; what must be refused is refused with the documented answer.
#
# The seed is fixed, so a failure replays: the tool prints the case, e.g.
#   envcrypt-dm-fuzz tables 7 1234 1 /dev/ram0 /dev/ram1
# (DMFUZZ_VERBOSE=1 prints every line and message).

. /tests/envcrypt-lib.sh

FUZZ_SEED=7
# table lines: a warm-up pass, then the measured one, in chunks (the kernel
# log is drained between chunks so that nothing scrolls out of it)
TABLE_WARMUP=300
TABLE_CHUNK=450
TABLE_CHUNKS=4
# messages: a warm-up pass, then the measured one
MSG_WARMUP=200
MSG_COUNT=1000
# damaged headers, each given to dump and to open
HEADER_CASES=18

# quiet_console: keep the thousands of expected refusals off the serial
# console (they stay in the kernel log, which the runner checks); the
# level comes back when the test's subshell exits
quiet_console() {
	local level

	level=$(cut -f1 /proc/sys/kernel/printk)
	# shellcheck disable=SC2064 # the level now, not at exit
	trap "echo $level >/proc/sys/kernel/printk" EXIT
	dmesg -n 3
}

# slab_kb: unreclaimable slab memory in KiB, once everything freeable is
# freed (RCU callbacks included: the smaller of two readings)
slab_kb() {
	local i v min=

	sync
	for i in 1 2; do
		echo 3 >/proc/sys/vm/drop_caches
		sleep 1
		v=$(awk '/^SUnreclaim:/ { print $2 }' /proc/meminfo)
		if [ -z "$min" ] || [ "$v" -lt "$min" ]; then min=$v; fi
	done
	echo "$min"
}

# figures LINE...: into the test's output and onto the console, where
# the run's log keeps them (the figures of docs/RELIABILITY.md)
figures() {
	echo "t_badinput: $*"
	echo "t_badinput: $*" >/dev/console
}

# no_leak BEFORE_KIB AFTER_KIB CALLS: the slab grew by less than 192 bytes
# for each of CALLS constructor or message calls (and at most 1 MiB in
# all), so a leak of 256 bytes a call cannot hide
no_leak() {
	local grown=$(($2 - $1)) bound

	bound=$(($3 * 192 / 1024))
	[ "$bound" -le 1024 ] || bound=1024
	figures "slab: $1 KiB -> $2 KiB ($grown KiB) over $3 calls, bound $bound KiB"
	[ "$grown" -lt "$bound" ] ||
		fail "unreclaimable slab grew by $grown KiB over $3 calls (bound $bound KiB): a leak"
}

# no_fuzz_devices: envcrypt-dm-fuzz removed every device it made
no_fuzz_devices() {
	local left

	left=$(dm_names | grep '^dmfuzz-' || true)
	[ -z "$left" ] || fail "devices left behind: $left"
}

# KNOWN: what the kernel may log about envcrypt for bad input: the table
# errors of docs/TARGET.md, the answers to messages, dm core's refusal of
# an unknown target type whose name contains "envcrypt"
KNOWN='envcrypt: (Not enough arguments|Unknown cipher: use aes-xts-plain64 or sm4-xts-plain64'
KNOWN="$KNOWN|Invalid hex key: (odd number of digits|not a hex digit)|Key size does not match cipher"
KNOWN="$KNOWN|Weak XTS key: its two halves are equal|Invalid keyring key reference: use :<size>:logon:<description>"
KNOWN="$KNOWN|Keyring key (type must be logon|size does not match cipher|not found|payload size does not match cipher|is revoked or expired)"
KNOWN="$KNOWN|Invalid iv_offset|Invalid device offset|Device lookup failed|Device too small for offset plus target length"
KNOWN="$KNOWN|Invalid number of optional arguments|Fewer optional arguments than their count"
KNOWN="$KNOWN|Unknown optional argument|Optional argument given twice|Too many arguments"
KNOWN="$KNOWN|Invalid sector_size: use 512 or 4096|Invalid on_key_wipe: use queue or error"
KNOWN="$KNOWN|(iv_offset|Device offset|Target length) is not a multiple of sector_size) \(-[A-Z0-9]+\)$"
KNOWN="$KNOWN|: envcrypt[^ ]*: (unknown target type|Gap in table)( \(-EINVAL\))?$"
KNOWN="$KNOWN|envcrypt: dmfuzz-[0-9]+-m[0-9]: (unknown message: use \"key set <key>\" or \"key wipe\""
KNOWN="$KNOWN|\"key (wipe|set)\" refused: the device is not suspended; suspend it first"
KNOWN="$KNOWN|key wiped|key set|key set refused: [A-Za-z :<>]+(; the device has no key now)?"
KNOWN="$KNOWN|no key loaded: send \"key set\" before resuming \(I/O stays queued\))$"
KNOWN="$KNOWN|: envcrypt: preresume failed, error = -126$"
KNOWN="$KNOWN|alg: No test for xts\(sm4\) \(xts\(ecb-sm4-[a-z0-9-]*envcrypt\)\)$"
KNOWN="$KNOWN|envcrypt: built-in AES-XTS: |dm_envcrypt: (loading out-of-tree|module verification)"

# only_known_envcrypt_messages: every kernel line of this test naming
# envcrypt is one of KNOWN
only_known_envcrypt_messages() {
	local other

	dmesg_drain
	other=$(grep envcrypt "$ENVCRYPT_DMESG" | grep -Ev "$KNOWN" | head -n 5)
	[ -z "$other" ] || fail "unexpected kernel messages: $other"
}

# sum_field FILE WORD: the sum of the numbers after WORD in FILE's lines
sum_field() {
	awk -v w="$2" '{ for (i = 1; i < NF; i++) if ($i == w) s += $(i + 1) }
		       END { print s + 0 }' "$1"
}

# unload_and_check: dm-envcrypt unloads (no device, no reference left),
# loads again, and a new device stores and returns data
unload_and_check() {
	local k sum

	rmmod dm_envcrypt || fail "dm-envcrypt cannot be unloaded after the fuzz"
	need_envcrypt
	k=$(hexkey 64)
	dm_create after "0 4096 envcrypt aes-xts-plain64 $k 0 /dev/ram0 0"
	sum=$(fill_and_sum /dev/mapper/after 512)
	assert_eq "$sum" "$(dev_sha /dev/mapper/after 512)" "data on a device made after the fuzz"
	dmsetup remove after
}

# Random and mutated table lines (one and two targets, reloads into live
# devices): each is refused or gives a device that stores data; no device
# stays, no unexpected kernel message, the slab does not grow per
# constructor call, the module unloads, and a new device works.
test_table_lines_at_random() {
	local first before after tried accepted start

	need_envcrypt
	ramdisks 2 8192
	quiet_console
	start=$(date +%s)
	envcrypt-dm-fuzz tables "$FUZZ_SEED" 100000 "$TABLE_WARMUP" \
		/dev/ram0 /dev/ram1 >warmup.out 2>&1 ||
		fail "warm-up: $(tail -n 5 warmup.out)"
	dmesg_drain
	before=$(slab_kb)
	first=0
	while [ "$first" -lt $((TABLE_CHUNK * TABLE_CHUNKS)) ]; do
		envcrypt-dm-fuzz tables "$FUZZ_SEED" "$first" "$TABLE_CHUNK" \
			/dev/ram0 /dev/ram1 >>fuzz.out 2>&1 ||
			fail "table fuzz: $(tail -n 8 fuzz.out)"
		dmesg_drain
		first=$((first + TABLE_CHUNK))
	done
	after=$(slab_kb)
	cat fuzz.out
	figures "tables: seed $FUZZ_SEED, $TABLE_WARMUP lines to warm up, then" \
		"$(for w in tried accepted rejected valid resumed io_ok reloads \
			    reloads_accepted devices; do
			printf '%s %s ' "$w" "$(sum_field fuzz.out "$w")"
		done)in $(($(date +%s) - start)) s"
	tried=$(sum_field fuzz.out tried)
	accepted=$(sum_field fuzz.out accepted)
	assert_eq $((TABLE_CHUNK * TABLE_CHUNKS)) "$tried" "lines tried"
	# both outcomes are common: the generator is not degenerate
	[ "$accepted" -gt $((tried / 20)) ] || fail "only $accepted of $tried lines accepted"
	[ "$accepted" -lt $((tried / 2)) ] || fail "$accepted of $tried lines accepted"
	[ "$(sum_field fuzz.out io_ok)" -gt $((accepted / 2)) ] ||
		fail "too few devices did I/O"
	no_fuzz_devices
	only_known_envcrypt_messages
	no_leak "$before" "$after" "$tried"
	unload_and_check
}

# Random and mutated messages to four live devices (AES and SM4, hex and
# keyring keys, on_key_wipe queue and error), suspended and active: the
# tool checks each answer and the key state (status) against a model, and
# reads each device when active; at the end every device gets its key
# back and must read its data.  Then as above: no device, no unexpected
# message, no slab growth, the module unloads.
test_messages_at_random() {
	local before after sent start

	need_envcrypt
	ramdisks 2 8192
	quiet_console
	start=$(date +%s)
	envcrypt-dm-fuzz messages $((FUZZ_SEED + 1000)) "$MSG_WARMUP" \
		/dev/ram0 >warmup.out 2>&1 ||
		fail "warm-up: $(tail -n 5 warmup.out)"
	dmesg_drain
	before=$(slab_kb)
	envcrypt-dm-fuzz messages "$FUZZ_SEED" "$MSG_COUNT" /dev/ram0 >fuzz.out 2>&1 ||
		fail "message fuzz: $(tail -n 8 fuzz.out)"
	after=$(slab_kb)
	cat fuzz.out
	figures "messages: $MSG_WARMUP to warm up, then" \
		"$(grep -h '^dm-fuzz: messages' fuzz.out | cut -d: -f2-)" \
		"in $(($(date +%s) - start)) s"
	sent=$(sum_field fuzz.out sent)
	assert_eq "$MSG_COUNT" "$sent" "messages sent"
	[ "$(sum_field fuzz.out accepted)" -gt $((sent / 10)) ] ||
		fail "too few messages accepted"
	[ "$(sum_field fuzz.out rejected)" -gt $((sent / 10)) ] ||
		fail "too few messages rejected"
	no_fuzz_devices
	only_known_envcrypt_messages
	no_leak "$before" "$after" "$sent"
	unload_and_check
}

# no_loop_devices: no loop device is attached
no_loop_devices() {
	local f

	for f in /sys/block/loop*/loop/backing_file; do
		[ -e "$f" ] && fail "loop device left behind: $f: $(cat "$f")"
	done
	return 0
}

# ctl_code RC KIND WHAT: RC is a documented exit code, not a signal
ctl_code() {
	[ "$1" -le 7 ] ||
		fail "$2: envcryptctl $3 died or exited $1: $(cat ctl.out)"
}

# Damaged volume headers (random bytes, flips in one or both copies,
# truncation, zeroed or random copies, swapped copies, fields changed
# with the checksum recomputed, a forged newer copy, equal sequence
# numbers that differ) for dump and open: never a crash; exit 5 naming the
# image for a header no copy of which is valid; dump and open work when
# one copy is intact (docs/FORMAT.md); no device, loop device or key
# stays behind.
test_garbage_headers_for_open_and_dump() {
	local i case kind want_dump want_open rc kinds='' start ring

	need_envcrypt
	truncate -s 2M good.img
	ctl format good.img --yes || fail "format: $(cat ctl.out)"
	start=$(date +%s)
	i=0
	while [ "$i" -lt "$HEADER_CASES" ]; do
		case=$(envcrypt-dm-fuzz header "$FUZZ_SEED" "$i" good.img c.img) ||
			fail "header case $i"
		# shellcheck disable=SC2086 # three words
		set -- $case
		kind=$1 want_dump=$2 want_open=$3
		kinds="$kinds $kind"
		rc=0
		if [ $((i % 2)) = 0 ]; then
			ctl dump c.img || rc=$?
		else
			ctl dump c.img --json || rc=$?
		fi
		ctl_code "$rc" "case $i ($kind)" dump
		if [ "$want_dump" != x ] && [ "$rc" != "$want_dump" ]; then
			fail "case $i ($kind): dump exit $rc, expected $want_dump: $(cat ctl.out)"
		fi
		if [ "$rc" = 5 ]; then
			grep -q 'c\.img: ' ctl.out ||
				fail "case $i ($kind): dump does not name the image: $(cat ctl.out)"
		fi
		rc=0
		ctl open c.img v || rc=$?
		ctl_code "$rc" "case $i ($kind)" open
		if [ "$want_open" != x ] && [ "$rc" != "$want_open" ]; then
			fail "case $i ($kind): open exit $rc, expected $want_open: $(cat ctl.out)"
		fi
		if [ "$rc" = 0 ]; then
			[ -b /dev/mapper/v ] || fail "case $i ($kind): opened, no /dev/mapper/v"
			ctl close v || fail "case $i ($kind): close: $(cat ctl.out)"
		else
			grep -q 'c\.img: ' ctl.out ||
				fail "case $i ($kind): open does not name the image: $(cat ctl.out)"
		fi
		[ -z "$(dm_names)" ] || fail "case $i ($kind): devices left: $(dm_names)"
		no_loop_devices
		i=$((i + 1))
	done
	figures "headers: $HEADER_CASES cases, dump and open each, in $(($(date +%s) - start)) s"
	echo "$kinds" | tr ' ' '\n' | sort | uniq -c
	# every kind came up
	for kind in random random-with-magic flip-copy0 flip-copy1 flip-both \
		    zero-copy0 zero-copy1 zero-both garbage-copy0 garbage-copy1 \
		    swapped copy0-twice truncated-header truncated-data \
		    flip-data field-both field-copy0-newer same-sequence-differ; do
		case " $kinds " in
		*" $kind "*) ;;
		*) fail "no case of kind $kind" ;;
		esac
	done
	# nothing left in the keyrings the tool or its caller could use
	for ring in @u @s; do
		if keyctl rdescribe "$ring" >/dev/null 2>&1 &&
		   keyctl show "$ring" | grep -q 'logon'; then
			fail "a logon key is left in $ring: $(keyctl show "$ring")"
		fi
	done
	only_known_envcrypt_messages
}
