# SPDX-License-Identifier: GPL-2.0
#
# Power cuts during the commands that change a volume header: format,
# share, rewrap (--key and --rotate), unshare and snapshot (of a closed
# and of an open volume).  The volume is on "disk", a device-mapper device
# linear over a ram disk.  A command's writes are its calls that write to
# that device or make its writes durable (pwrite, write, fdatasync, fsync,
# ...), counted by the LD_PRELOAD shim powercut.so (tests/vm/tools/
# powercut.c).  Right before the command's Nth write the shim runs the
# power cut and waits for it: "disk" becomes dm-flakey with drop_writes
# (loaded beforehand, resumed --nolockfs: nothing is flushed on the way);
# the command then goes on, every later write silently lost, and ends;
# "disk" is linear again and the page cache is dropped.  Cuts:
#   flushed  before a write N, the writes before N all on the disk (the
#            kernel may write dirty pages back at any time: the most a
#            cut can keep)
#   lost     before the sync of a header copy, that copy's write lost (not
#            written back yet: the least a cut can keep; a cut before any
#            other sync leaves what a flushed cut before the last sync
#            leaves)
# The flushed cuts are before every write, but of a run of writes to
# adjacent ranges (zeroing the header area: format 16, snapshot 16) only
# before its first two and its last; the kernel command line option
# envcrypt.powercut=all cuts before every write, and lost before every
# sync.  The header is two copies written in turn, each synced
# (docs/FORMAT.md), so after every cut the volume must open (open repairs
# the other copy), its header must be byte for byte the old one or give
# the same dump as after the whole command, its data must read back, and
# the new state must begin with the cut after copy 0 reached the disk
# (flushed: its write; lost: its sync).  Each command must show both
# states.  The local KMS lives in $T/kms.

. /tests/envcrypt-lib.sh

# no volume registry, no audit log
# shellcheck disable=SC2034 # read by ctl_env (envcrypt-lib.sh)
CTL_REGISTRY=off CTL_AUDIT_LOG=off

PC_KIB=3072		# each ram disk: the header area (1 MiB), 2 MiB of data
PC_DATA=65536		# bytes of data compared after a cut

# What a test may set before sweep: new_data (a file, the data the new
# state reads; empty: not checked), none_ok=1 (the old state may also be
# "no header", exit 5), vary (dump lines, an extended regexp, that differ
# between runs of the command), also (a command run after each cut) and
# window=1 (cut only from the first data write to header copy 0).  The old
# state's data is old.data.
new_data='' none_ok='' vary='' also=: window=''

# disk_setup: ram disks ram0 (under disk) and ram1, disk linear; the
# tables in $linear and $flakey
disk_setup() {
	local len

	ramdisks 2 "$PC_KIB"
	len=$(sectors /dev/ram0)
	linear="0 $len linear /dev/ram0 0"
	flakey="0 $len flakey /dev/ram0 0 0 3600 1 drop_writes"
	dm_create disk "$linear"
}

# shimmed LOG AT MODE ARGS...: envcryptctl ARGS, its writes to disk
# counted into LOG, the power cut (MODE) before write AT (0: none)
shimmed() {
	local log=$1 at=$2 hook="dmsetup resume --nolockfs disk"

	[ "$3" = flushed ] && hook="blockdev --flushbufs /dev/mapper/disk && $hook"
	shift 3
	: >"$log"
	(
		ctl_env
		export LD_PRELOAD=/bin/powercut.so POWERCUT_DEV=/dev/mapper/disk \
			POWERCUT_AT="$at" POWERCUT_LOG="$log" POWERCUT_HOOK="$hook"
		exec envcryptctl "$@"
	) >ctl.out 2>&1
}

# power_cut N MODE ARGS...: envcryptctl ARGS on the old state (old.img)
# with the power cut before its Nth write; the calls it made in cut.log
power_cut() {
	local n=$1 mode=$2 rc=0

	shift 2
	dd if=old.img of=/dev/mapper/disk bs=1M oflag=direct 2>/dev/null
	echo 3 >/proc/sys/vm/drop_caches
	# the cut only swaps in the table loaded here
	dmsetup load disk --table "$flakey"
	shimmed cut.log "$n" "$mode" "$@" || rc=$?
	[ "$rc" != 125 ] || fail "the power cut failed: $(cat ctl.out)"
	grep -q "^$n cut$" cut.log ||
		fail "$*: no cut before write $n (exit $rc): $(cat cut.log ctl.out)"
	# the command has closed disk: its page cache went to dm-flakey
	dmsetup load disk --table "$linear"
	dmsetup resume --nolockfs disk
	echo 3 >/proc/sys/vm/drop_caches
}

# signature: a dump (ctl.out) without what changes from run to run of
# the command; with the state of the copies
signature() {
	grep -Ev "^  created:${vary:+|$vary}" ctl.out
}

# classify: the state the volume on disk opens in: old, new or none
# (exit 5, no header, with none_ok); fails for anything else.  Open
# repairs a damaged or stale copy: both must be ok afterwards.
classify() {
	local rc=0 same=0 old_data=0 new_data_ok=0

	cmp -s -n 32768 old.img /dev/mapper/disk || same=$?
	ctl open /dev/mapper/disk vol || rc=$?
	opens=$((opens + 1))
	if [ "$rc" = 5 ] && [ -n "$none_ok" ] &&
	   grep -qF "not an envcrypt volume (no header)" ctl.out; then
		state=none
		return
	fi
	[ "$rc" = 0 ] || fail "$what: does not open: exit $rc: $(cat ctl.out)"
	cmp -s -n "$PC_DATA" old.data /dev/mapper/vol || old_data=$?
	if [ -n "$new_data" ]; then
		cmp -s -n "$PC_DATA" "$new_data" /dev/mapper/vol || new_data_ok=$?
	fi
	ctl_rc 0 close vol
	ctl_rc 0 dump /dev/mapper/disk
	sig=$(signature)
	if [ "$sig" = "$old_sig" ]; then
		state=old
		assert_eq 0 "$same" "$what: the old header's bytes unchanged"
		assert_eq 0 "$old_data" "$what: the old state's data differs"
	elif [ "$sig" = "$new_sig" ]; then
		state=new
		assert_eq 0 "$new_data_ok" "$what: the new state's data differs"
	else
		fail "$what: neither the old nor the new header:
$(cat ctl.out)
old:
$old_sig
new:
$new_sig"
	fi
}

# cut_points: "N MODE" for each cut of the command whose writes are in
# count.log (see the top of the file)
cut_points() {
	local all=0

	case " $(cat /proc/cmdline) " in
	*" envcrypt.powercut=all "*) all=1 ;;
	esac
	awk -v all="$all" -v window="$window" '
		{ call[NR] = $2; off[NR] = $3; len[NR] = $4 }
		function hdr_copy(i) {
			return call[i] ~ /^pwrite/ && len[i] == 16384 &&
			       (off[i] == 0 || off[i] == 16384)
		}
		END {
			# runs of writes to adjacent ranges: first (rs), last (re)
			for (i = 1; i <= NR; i++) {
				adj[i] = i > 1 && call[i] ~ /^pwrite/ &&
					 call[i - 1] ~ /^pwrite/ &&
					 off[i] == off[i - 1] + len[i - 1]
				rs[i] = adj[i] ? rs[i - 1] : i
			}
			for (i = NR; i >= 1; i--)
				re[i] = i < NR && adj[i + 1] ? re[i + 1] : i
			for (i = 1; i <= NR; i++) {
				if (!data && call[i] ~ /^pwrite/ && off[i] >= 1048576)
					data = i
				if (!c0 && hdr_copy(i) && off[i] == 0)
					c0 = i
			}
			for (i = 1; i <= NR; i++) {
				if (window && (i < data || i > c0))
					continue
				if (all || re[i] - rs[i] < 3 || i <= rs[i] + 1 ||
				    i == re[i])
					print i, "flushed"
				if (!window && call[i] ~ /sync/ &&
				    (all || (i > 1 && hdr_copy(i - 1))))
					print i, "lost"
			}
		}' count.log
}

# sweep ARGS...: envcryptctl ARGS, from the state now on disk, once whole
# and then cut at each of cut_points; each result classified and checked
# against when copy 0 of the new header reached the disk.  Leaves the new
# state on disk.  Prints the figures.
sweep() {
	local n count mode c0 s0 want line start old=0 new=0 none=0 cuts=0

	start=$(date +%s)
	what="$*"
	opens=0
	ctl_rc 0 dump /dev/mapper/disk
	old_sig=$(signature)
	dd if=/dev/mapper/disk of=old.img bs=1M iflag=direct 2>/dev/null

	# the whole command: its writes, the new state
	shimmed count.log 0 none "$@" || fail "envcryptctl $*: $(cat ctl.out)"
	echo 3 >/proc/sys/vm/drop_caches
	count=$(grep -c '' count.log)
	grep -q '^[0-9]* pwrite 0 16384$' count.log ||
		fail "$what: no header copy 0 written: $(cat count.log)"
	ctl_rc 0 dump /dev/mapper/disk
	new_sig=$(signature)
	assert_ne "$old_sig" "$new_sig" "$what: the new header's dump"
	classify
	assert_eq new "$state" "$what: the state after the whole command"
	new=1
	dd if=/dev/mapper/disk of=new.img bs=1M iflag=direct 2>/dev/null

	cut_points >points
	while read -r n mode; do
		what="$*: cut before write $n of $count ($mode)"
		power_cut "$n" "$mode" "$@"
		cuts=$((cuts + 1))
		classify
		$also
		# new once copy 0 is written (flushed) or synced (lost); a
		# command that failed after the cut may not have got there
		c0=999999 s0=999999
		eval "$(awk '($2 " " $3 " " $4) == "pwrite 0 16384" && !c { c = $1 }
			c && !s && $1 > c && $2 ~ /sync/ { s = $1 }
			END { if (c) print "c0=" c; if (s) print "s0=" s }' cut.log)"
		want=old
		if [ "$mode" = flushed ] && [ "$n" -gt "$c0" ]; then
			want=new
		elif [ "$mode" = lost ] && [ "$n" -gt "$s0" ]; then
			want=new
		elif [ "$state" = none ]; then
			want=none
		fi
		assert_eq "$want" "$state" "$what: the state (copy 0 written at $c0, synced at $s0)"
		eval "$state=\$((\$$state + 1))"
	done <points
	[ "$old" -gt 0 ] || [ "$none" -gt 0 ] || fail "$*: no cut left the old state"
	[ "$new" -gt 1 ] || [ -n "$window" ] || fail "$*: no cut left the new state"
	# the new state stays
	dd if=new.img of=/dev/mapper/disk bs=1M oflag=direct 2>/dev/null
	echo 3 >/proc/sys/vm/drop_caches
	line="powercut: $*: $count writes, $cuts cuts, $opens opens: old $old, none $none, new $new; $(($(date +%s) - start)) s"
	echo "$line"
	echo "$line" >/dev/console 2>/dev/null || :
}

# key NAME [SPEC]: a CMK alias/NAME
key() {
	ctl_rc 0 kms create-key --spec "${2:-AES_256}" --alias "$1"
}

# volume KEY: a volume on disk wrapped by alias/KEY, the start of its
# data random, kept in old.data (the new state's too: new_data)
volume() {
	ctl_rc 0 format /dev/mapper/disk --key "alias/$1" --yes
	ctl_rc 0 open /dev/mapper/disk vol
	randfile old.data $((PC_DATA / 1024))
	write_file_to /dev/mapper/vol old.data
	ctl_rc 0 close vol
	new_data=old.data
}

# The wrap slot commands, each from the state the one before left: share
# (slot 1 for b), rewrap --key (slot 0 from a to c), rewrap --rotate
# (slot 0 to c's version 2), unshare (slot 1 removed); the data is not
# touched.
test_powercut_slot_commands() {
	need_envcrypt
	disk_setup
	key a
	key b
	key c SM4
	volume a
	sweep share /dev/mapper/disk --key alias/b
	sweep rewrap /dev/mapper/disk --slot 0 --key alias/c
	ctl_rc 0 kms rotate-key alias/c
	sweep rewrap /dev/mapper/disk --slot 0 --rotate
	sweep unshare /dev/mapper/disk --slot 1
	ctl_rc 0 dump /dev/mapper/disk
	out_has "CMK version: 2"
	grep -q "^wrap slot 1:" ctl.out && fail "slot 1 is still there: $(cat ctl.out)"
	:
}

# format over an older volume: the old volume (its data) or the new one
# (a new data key: its data is not checked); the new header continues the
# old one's sequence, so a new copy 0 wins over an old copy 1
test_powercut_format() {
	need_envcrypt
	disk_setup
	key a
	key b SM4
	volume a
	new_data=
	vary='^volume:|^created:|^kcv:'
	sweep format /dev/mapper/disk --key alias/b --yes
}

# src_untouched: the snapshot's source, ram1, as it was
src_untouched() {
	cmp -s src.img /dev/ram1 || fail "$what: the source changed"
}

# snapshot_setup: on ram1 a volume (its data starts with src.data), all
# of ram1 in src.img; on disk an older volume, the destination
snapshot_setup() {
	disk_setup
	key a
	key b
	volume a
	ctl_rc 0 format /dev/ram1 --key alias/b --yes
	ctl_rc 0 open /dev/ram1 src
	randfile src.data $((PC_DATA / 1024))
	write_file_to /dev/mapper/src src.data
	ctl_rc 0 close src
	dd if=/dev/ram1 of=src.img bs=1M iflag=direct 2>/dev/null
	# the destination holds the old volume, nothing (its header is
	# zeroed first), or the whole snapshot: the source's data key and
	# wrap slot under a new volume UUID
	none_ok=1
	new_data=src.data
	vary='^volume:|^created:'
	also=src_untouched
}

# snapshot of a closed volume onto the older one on disk; after a cut
# while its data was written, the same snapshot again succeeds
test_powercut_snapshot() {
	local n

	need_envcrypt
	snapshot_setup
	sweep snapshot /dev/ram1 /dev/mapper/disk --yes
	n=$(awk '$2 ~ /^pwrite/ && $3 >= 1048576 { print $1; exit }' count.log)
	what="snapshot again after a cut before write $n"
	power_cut "$n" flushed snapshot /dev/ram1 /dev/mapper/disk --yes
	classify
	assert_eq none "$state" "$what: the state after the cut"
	ctl_rc 0 snapshot /dev/ram1 /dev/mapper/disk --yes
	classify
	assert_eq new "$state" "$what"
}

# live_untouched: the snapshot's source, open as live, is not left
# suspended and reads its data
live_untouched() {
	src_untouched
	dmsetup info live | grep -q 'State: *ACTIVE' ||
		fail "$what: the source was left suspended: $(dmsetup info live)"
	cmp -n "$PC_DATA" src.data /dev/mapper/live ||
		fail "$what: the open source's data differs"
}

# snapshot of a volume open as live, which is suspended while its data is
# copied: cut during that time
test_powercut_snapshot_open() {
	need_envcrypt
	snapshot_setup
	ctl_rc 0 open /dev/ram1 live
	also=live_untouched
	window=1
	sweep snapshot /dev/ram1 /dev/mapper/disk --yes
	ctl_rc 0 snapshot /dev/ram1 /dev/mapper/disk --yes
	out_has "'live' was suspended for"
}
