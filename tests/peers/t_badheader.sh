# SPDX-License-Identifier: GPL-2.0
#
# Damaged volume headers on image files, several hundred cases: the kinds
# of tests/vm/tools/dm-fuzz.c's header mode (random bytes, flips in one or
# both copies, zeroed, random or swapped copies, truncation, fields
# changed with the checksum recomputed, a forged newer copy 0, equal
# sequence numbers that differ), each given to dump and to open
# --verify-only.  Never a crash: exit codes only from the documented set;
# each case's exit codes are the ones the damage calls for (5 naming the
# image when no copy is valid; 0 when one copy is intact).  The guest's
# t_badinput.sh runs a few of each kind with the real kernel target.

HEADER_CASES=${HEADER_CASES:-360}
FUZZ=$TOP/build/bin/envcrypt-dm-fuzz

# check_rc CASE KIND WHAT RC WANT: RC is a documented code and the one wanted
check_rc() {
	[ "$4" -le 7 ] ||
		fail "case $1 ($2): envcryptctl $3 died or exited $4: $(cat ctl.out)"
	if [ "$5" != x ] && [ "$4" != "$5" ]; then
		fail "case $1 ($2): $3 exit $4, expected $5: $(cat ctl.out)"
	fi
	if [ "$4" != 0 ]; then
		grep -q 'c\.img: ' ctl.out ||
			fail "case $1 ($2): $3 does not name the image: $(cat ctl.out)"
	fi
}

test_damaged_headers_for_dump_and_open() {
	local i seed case kind want_dump want_open rc kinds=''

	[ -x "$FUZZ" ] || fail "build $FUZZ first (make build/bin/envcrypt-dm-fuzz)"
	export ENVCRYPT_KMS_DIR=$T/kms
	image good.img 2
	ctl_rc 0 format good.img --yes
	seed=${ENVCRYPT_FUZZ_SEED:-$(od -An -N4 -tu4 /dev/urandom | tr -d ' ')}
	echo "header fuzz seed $seed (ENVCRYPT_FUZZ_SEED=$seed repeats it)"
	for i in $(seq 0 $((HEADER_CASES - 1))); do
		case=$("$FUZZ" header "$seed" "$i" good.img c.img) ||
			fail "header case $i of seed $seed"
		read -r kind want_dump want_open <<<"$case"
		kinds="$kinds $kind"
		rc=0
		if [ $((i % 2)) = 0 ]; then
			ctl dump c.img || rc=$?
		else
			ctl dump c.img --json || rc=$?
		fi
		check_rc "$i" "$kind" dump "$rc" "$want_dump"
		rc=0
		ctl open --verify-only c.img || rc=$?
		check_rc "$i" "$kind" "open --verify-only" "$rc" "$want_open"
	done
	# every kind came up, more than once
	for kind in random random-with-magic flip-copy0 flip-copy1 flip-both \
		    zero-copy0 zero-copy1 zero-both garbage-copy0 garbage-copy1 \
		    swapped copy0-twice truncated-header truncated-data \
		    flip-data field-both field-copy0-newer same-sequence-differ; do
		[ "$(tr ' ' '\n' <<<"$kinds" | grep -cx -- "$kind")" -ge 2 ] ||
			fail "fewer than 2 cases of kind $kind in $HEADER_CASES"
	done
	echo "header fuzz: $HEADER_CASES cases, dump and open --verify-only each"
}
