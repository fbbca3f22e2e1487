# SPDX-License-Identifier: GPL-2.0
#
# The wrap slot commands on volumes open in the kernel: rewrap, share and
# unshare change only the header, so the open device keeps reading its
# data; after close the volume reopens through the new wrap slot, also
# once the old CMK is disabled.  The local KMS lives in $T/kms.

# id_NAME variables are set through eval by the key helpers
# shellcheck disable=SC2154
. /tests/envcrypt-lib.sh

# the volume registry and the audit log in $T
# shellcheck disable=SC2034 # read by ctl_env (envcrypt-lib.sh)
CTL_REGISTRY=$T/registry CTL_AUDIT_LOG=$T/audit.log

# key NAME [SPEC]: a CMK alias/NAME; its id in id_NAME
key() {
	ctl_rc 0 kms create-key --spec "${2:-AES_256}" --alias "$1"
	eval "id_$1=\$(sed -n 's/^id: *//p' ctl.out)"
}

# still_reads DEV KiB: DEV reads back $sum (of fill_and_sum), past any
# cache
still_reads() {
	blockdev --flushbufs "$1"
	assert_eq "$sum" "$(dev_sha "$1" "$2")" "data on $1"
}

# status_matches NAME: the kernel holds the key and it matches the header
status_matches() {
	ctl_rc 0 status "$1"
	out_has "matches the header"
}

# Rewrap the open volume on the virtio disk; the old CMK goes.
test_rewrap_while_open() {
	need_envcrypt
	scratch_disk >/dev/null
	key a
	key b SM4
	ctl_rc 0 format /dev/vda --key alias/a --sector-size 4096 --yes
	ctl_rc 0 open /dev/vda vol
	sum=$(fill_and_sum /dev/mapper/vol 1024)
	ctl_rc 0 rewrap /dev/vda --key alias/b
	out_has "/dev/vda: wrap slot 0 rewrapped: CMK $id_a (alias/a) version 1"
	out_has "-> CMK $id_b (alias/b) version 1"
	still_reads /dev/mapper/vol 1024
	status_matches vol
	out_has "  CMK:         $id_b (alias/b)"
	# more I/O after the header changed
	sum=$(fill_and_sum /dev/mapper/vol 2048)
	still_reads /dev/mapper/vol 2048
	ctl_rc 0 close vol

	ctl_rc 0 kms disable-key alias/a
	ctl_rc 0 open /dev/vda vol2
	still_reads /dev/mapper/vol2 2048
	status_matches vol2
	ctl_rc 0 close vol2
	ctl_rc 0 open --verify-only /dev/vda
	out_has "unwrapped through wrap slot 0 (CMK $id_b in local:$T/kms)"
}

# Share, rotate and unshare an open image file volume (loop device).
test_share_rotate_unshare_while_open() {
	need_envcrypt
	truncate -s 8M disk.img
	key a
	key b
	ctl_rc 0 format disk.img --key alias/a --yes
	ctl_rc 0 open disk.img vol
	sum=$(fill_and_sum /dev/mapper/vol 2048)
	ctl_rc 0 share disk.img --key alias/b
	out_has "disk.img: shared in wrap slot 1: CMK $id_b (alias/b) version 1"
	ctl_rc 0 kms rotate-key alias/a
	ctl_rc 0 rewrap disk.img --slot 0 --rotate
	out_has "-> CMK $id_a (alias/a) version 2"
	still_reads /dev/mapper/vol 2048
	status_matches vol
	out_has "wrap slot 1:"
	ctl_rc 0 unshare disk.img --slot 0
	out_has "disk.img: wrap slot 0 removed: CMK $id_a (alias/a) version 2"
	still_reads /dev/mapper/vol 2048
	status_matches vol
	ctl_rc 0 close vol

	# only b's wrap is left: a disabled does not matter
	ctl_rc 0 kms disable-key alias/a
	ctl_rc 0 open disk.img vol2
	still_reads /dev/mapper/vol2 2048
	ctl_rc 0 close vol2
	ctl_rc 0 open --verify-only disk.img
	out_has "unwrapped through wrap slot 1 (CMK $id_b in local:$T/kms)"
	# and the last slot stays
	ctl_rc 1 unshare disk.img --slot 1
	out_has "envcryptctl: disk.img: wrap slot 1 is the volume's only wrap slot; removing it would lose the data"
	for op in share rewrap unshare; do
		grep -q "\"op\":\"$op\".*\"result\":\"ok\"" "$T/audit.log" ||
			fail "no $op record in the audit log"
	done
}
