#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# The demo: the whole envelope-encryption story in a real kernel, with
# envcryptctl and the local KMS.  Create a CMK, format a disk with it,
# open it, put a filesystem and files on it, close, reopen and read back,
# show the header and the status, prove the raw disk holds no plaintext,
# then disable the CMK and watch open being refused.

set -eu
. /tests/lib.sh

step() { printf '\n=== %s\n' "$*"; }
fail() { echo "DEMO FAILED: $*"; exit 1; }
run() { echo "# $*"; "$@"; }

MARKER="customer-record-4242-do-not-leak"
DISK=/dev/vda
export ENVCRYPT_KMS_DIR=/tmp/kms

# check_records WHO: records.txt on /mnt/vol has the sha256 written
check_records() {
	[ "$(sha256sum /mnt/vol/records.txt | cut -d' ' -f1)" = "$sha" ] ||
		fail "$1 reads different data"
}

step "The customer's disk: a 64 MiB virtio disk, $DISK"
dd if=/dev/zero of=$DISK bs=1M count=4 conv=fsync 2>/dev/null
echo "$DISK: $(blockdev --getsize64 $DISK) bytes"

step "A customer master key (CMK) in the local KMS ($ENVCRYPT_KMS_DIR)"
run envcryptctl kms create-key --spec AES_256 --alias db
run envcryptctl kms list-keys

step "Format: a random data key, wrapped by the CMK, in the volume header"
run envcryptctl format $DISK --key alias/db --label "db disk" --yes

step "Open: the KMS unwraps the data key, the kernel gets it through the keyring"
echo "# envcryptctl open $DISK db"
elapsed-us envcryptctl open $DISK db 2>/tmp/took || fail "open: $(cat /tmp/took)"
echo "(open took $(($(sed -n 's/^elapsed-us: //p' /tmp/took) / 1000)) ms, TCG guest)"
run envcryptctl status db
echo "dmsetup table db: $(dmsetup table --showkeys db)"
echo "keyrings after open (the key was dropped once the table held it):"
grep envcrypt /proc/keys || echo "  no envcrypt key in any keyring"

step "Use it: ext4, a file with a recognisable record"
mkfs.ext4 -q /dev/mapper/db
mkdir -p /mnt/vol
mount /dev/mapper/db /mnt/vol
for i in $(seq 1 2000); do echo "$MARKER $i"; done >/mnt/vol/records.txt
sha=$(sha256sum /mnt/vol/records.txt | cut -d' ' -f1)
ls -l /mnt/vol
umount /mnt/vol

step "Close, reopen, read back"
run envcryptctl close db
run envcryptctl open $DISK db
mount -o ro /dev/mapper/db /mnt/vol
check_records "the reopened volume"
echo "records.txt intact after close and reopen: $sha"
umount /mnt/vol
run envcryptctl list

step "The header, without any KMS"
run envcryptctl dump $DISK

step "Prove it is encrypted at rest"
plain=$(grep -c "$MARKER" /dev/mapper/db || true)
raw=$(grep -c "$MARKER" $DISK || true)
echo "lines with the record through the mapping: $plain"
echo "lines with the record on the raw disk:     $raw"
[ "$plain" -gt 0 ] || fail "record not found through the mapping"
[ "$raw" = 0 ] || fail "plaintext record found on the raw disk"
run envcryptctl close db

step "Disable the CMK: the disk can no longer be opened"
# the volume registry knows the disk uses the key: --force
run envcryptctl kms disable-key alias/db --force
rc=0
envcryptctl open $DISK db || rc=$?
echo "exit code $rc (3: the CMK is not usable)"
[ "$rc" = 3 ] || fail "open with a disabled CMK gave exit code $rc"
[ -b /dev/mapper/db ] && fail "a device was created"
run envcryptctl kms enable-key alias/db
run envcryptctl open $DISK --verify-only

printf '\nDEMO OK: envelope-encrypted at rest, unreadable once the CMK is disabled\n'
