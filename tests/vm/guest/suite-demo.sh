#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# The demo: an encrypted volume at work in a real kernel.  A data key goes
# into the kernel keyring, the envcrypt target maps a RAM disk with it, a
# filesystem is used on top, and the raw disk is shown to hold only
# ciphertext, readable by dm-crypt with the same key.  Then the key is
# revoked from the running device and given back.
#
# (envcryptctl, with the volume header and the KMS, takes over the key
# handling shown here by hand.)

set -eu
. /tests/lib.sh

step() { printf '\n=== %s\n' "$*"; }
fail() { echo "DEMO FAILED: $*"; exit 1; }

MARKER="customer-record-4242-do-not-leak"
TABLE="0 131072 envcrypt aes-xts-plain64 :64:logon:envcrypt:demo 0 /dev/ram0 0"

# check_records WHO: records.txt on /mnt/vol has the sha256 written
check_records() {
	[ "$(sha256sum /mnt/vol/records.txt | cut -d' ' -f1)" = "$sha" ] ||
		fail "$1 reads different data"
}

step "A 64 MiB RAM disk stands in for the customer's disk"
modprobe brd rd_nr=1 rd_size=65536
modprobe dm-envcrypt
echo "/dev/ram0: $(blockdev --getsize64 /dev/ram0) bytes"

step "A random 512-bit data key (AES-256-XTS), as a logon key in the kernel keyring"
head -c 64 /dev/urandom >/tmp/dk
keyctl padd logon envcrypt:demo @u </tmp/dk >/dev/null
keyctl show @u | sed -n '2,$p'
echo "(logon keys cannot be read back from userspace)"

step "Map it: dmsetup create vol --table '$TABLE'"
dmsetup create vol --table "$TABLE"
dmsetup mknodes vol
echo "dmsetup table vol:  $(dmsetup table --showkeys vol)"
echo "dmsetup status vol: $(dmsetup status vol)"

step "Use it: ext4, a file with a recognisable record"
mkfs.ext4 -q /dev/mapper/vol
mkdir -p /mnt/vol
mount /dev/mapper/vol /mnt/vol
for i in $(seq 1 2000); do echo "$MARKER $i"; done >/mnt/vol/records.txt
sha=$(sha256sum /mnt/vol/records.txt | cut -d' ' -f1)
ls -l /mnt/vol
umount /mnt/vol
sync

step "Prove it is encrypted at rest"
plain=$(grep -c "$MARKER" /dev/mapper/vol || true)
raw=$(grep -c "$MARKER" /dev/ram0 || true)
echo "lines with the record through the mapping: $plain"
echo "lines with the record on the raw disk:     $raw"
[ "$plain" -gt 0 ] || fail "record not found through the mapping"
[ "$raw" = 0 ] || fail "plaintext record found on the raw disk"
echo "first bytes of the filesystem superblock, raw disk vs. mapping:"
dd if=/dev/ram0 bs=1 skip=1080 count=16 2>/dev/null | od -An -tx1
dd if=/dev/mapper/vol bs=1 skip=1080 count=16 2>/dev/null | od -An -tx1

step "The ciphertext is dm-crypt's: cryptsetup opens the raw disk with the same key"
dmsetup remove vol
cryptsetup open --type plain --cipher aes-xts-plain64 --key-size 512 \
	--key-file /tmp/dk /dev/ram0 oracle
mount -o ro /dev/mapper/oracle /mnt/vol
check_records dm-crypt
echo "dm-crypt reads records.txt with the same sha256: $sha"
umount /mnt/vol
cryptsetup close oracle

step "Revoke the key from a live volume: I/O waits, nothing is lost"
dmsetup create vol --table "$TABLE"
dmsetup mknodes vol
dmsetup suspend vol
dmsetup message vol 0 key wipe
echo "after key wipe: $(dmsetup status vol)"
if dmsetup resume vol 2>/dev/null; then
	fail "a keyless volume resumed"
fi
echo "resume refused: $(dmesg | grep 'no key loaded' | tail -n 1 | cut -d']' -f2)"
dd if=/dev/mapper/vol of=/tmp/head bs=4k count=1 iflag=direct 2>/dev/null &
reader=$!
sleep 2
kill -0 $reader 2>/dev/null || fail "read did not wait"
echo "a reader is waiting (pid $reader)"
dmsetup message vol 0 key set :64:logon:envcrypt:demo
dmsetup resume vol
wait $reader
echo "key set from the keyring again, resumed; the reader finished"
mount -o ro /dev/mapper/vol /mnt/vol
check_records "the volume after revocation"
echo "records.txt intact: $sha"
umount /mnt/vol
dmsetup remove vol
shred -u /tmp/dk 2>/dev/null || rm -f /tmp/dk

printf '\nDEMO OK: encrypted at rest, dm-crypt compatible, key revocable\n'
