# SPDX-License-Identifier: GPL-2.0
#
# verify-at-rest on image files with a local KMS: unwritten is not
# plaintext, ciphertext passes, text in the data area or a given
# plaintext file is named by its offset (exit 2), a device without a
# header, each wrap slot's CMK state (a KMS that cannot answer is
# reported, not fatal), --json, and the refusals.  Without the kernel
# target, "ciphertext" is random data written into the data area.

KEYFILE=$TOP/examples/kms-plugin/envcrypt-kms-keyfile

# vol [MiB]: img formatted with CMK alias/db in $T/kms
vol() {
	export ENVCRYPT_KMS_DIR=$T/kms ENVCRYPT_REGISTRY=$T/registry
	ctl_rc 0 kms create-key --spec AES_256 --alias db
	image img "${1:-8}"
	ctl_rc 0 format img --key alias/db --yes
}

# fill_random: random data over the whole data area of img (8 MiB)
fill_random() {
	dd if=/dev/urandom of=img bs=1M seek=1 count=7 conv=notrunc \
		2>/dev/null || fail "dd"
}

# text_file FILE BYTES: a text, repeated
text_file() {
	yes "The quick brown fox jumps over the lazy dog; 0123456789." |
		head -c "$2" >"$1"
}

# put FILE OFFSET: FILE's bytes into img at OFFSET
put() {
	dd if="$1" of=img bs=1 seek="$2" conv=notrunc 2>/dev/null ||
		fail "dd"
}

test_fresh_volume_is_unwritten_not_plaintext() {
	vol
	ctl_rc 0 verify-at-rest img
	out_has "data area:    bytes 1048576 to 8388608: 14336 sectors of 512 bytes"
	grep -q "^sampled:      2[0-9][0-9] sectors (192 evenly spaced, " ctl.out ||
		fail "samples: $(cat ctl.out)"
	out_has "unwritten:    256 (100.0%): all zeros, never written (unwritten is not plaintext)"
	out_has "verdict:      encrypted (nothing written yet: every sampled sector is unwritten)"
	out_has "(alias/db) in local:$T/kms: Enabled"
}

test_random_data_is_encrypted() {
	vol
	fill_random
	ctl_rc 0 verify-at-rest img --samples 1000
	grep -q "^sampled:      [0-9]* sectors (750 evenly spaced, " ctl.out ||
		fail "samples: $(cat ctl.out)"
	out_has "unwritten:    0 (0.0%)"
	out_has "non-random:   0 sectors"
	out_has "verdict:      encrypted"
	out_lacks "not encrypted"
	grep -q '^entropy:      7\.99' ctl.out || fail "entropy: $(cat ctl.out)"
}

test_text_in_the_data_area_is_named() {
	vol
	fill_random
	text_file t 512
	put t 2097152
	# every sector of the data area
	ctl_rc 2 verify-at-rest img --samples 20000
	out_has "sampled:      14336 sectors (14336 evenly spaced, 0 random)"
	out_has "non-random:   1 sector at bytes 2097152"
	out_has "verdict:      not encrypted"
	out_has "envcryptctl: img: not encrypted at rest: 1 of 14336 written sectors sampled are not random (plaintext or low-entropy data), at byte offset 2097152; what the volume writes is ciphertext: this was written around it, or was on the device before format (overwrite the volume through /dev/mapper, e.g. with zeros, to replace it)"
}

test_plaintext_file_found_at_any_alignment() {
	vol
	fill_random
	text_file plain.txt 20000
	ctl_rc 0 verify-at-rest img --plaintext plain.txt
	out_has "plaintext:    plain.txt (20000 bytes): not found (runs of 64 bytes or more, at any alignment, whole device)"
	# 100 bytes of it, at an odd offset
	tail -c +1001 plain.txt | head -c 100 >part
	put part 3000001
	ctl_rc 2 verify-at-rest img --plaintext plain.txt --samples 1
	out_has "plaintext:    plain.txt (20000 bytes): FOUND 1 time: byte 3000001 (100 bytes, file offset "
	out_has "envcryptctl: img: not encrypted at rest: plain.txt is on the raw device at byte offset 3000001; what the volume writes"
	# 63 bytes are below what is searched for
	fill_random
	head -c 63 part >part63
	put part63 3000001
	ctl_rc 0 verify-at-rest img --plaintext plain.txt --samples 1
}

test_plaintext_files_each_reported() {
	vol
	fill_random
	text_file a.txt 4096
	head -c 4096 /dev/urandom >b.bin
	put b.bin 5242880
	ctl_rc 2 verify-at-rest img --plaintext a.txt --plaintext b.bin --samples 1
	out_has "plaintext:    a.txt (4096 bytes): not found"
	out_has "plaintext:    b.bin (4096 bytes): FOUND 1 time: byte 5242880 (4096 bytes, file offset 0)"
	out_has "b.bin is on the raw device at byte offset 5242880;"
}

test_cmk_states_are_reported_not_fatal() {
	vol
	fill_random
	ctl_rc 0 kms disable-key alias/db --force
	ctl_rc 0 verify-at-rest img
	out_has "(alias/db) in local:$T/kms: Disabled"
	out_has "verdict:      encrypted"

	# a plugin KMS that answers "Unavailable"
	/usr/bin/python3 -c 'import cryptography' 2>/dev/null ||
		skip "the example plugin needs /usr/bin/python3 with python3-cryptography"
	mkdir -p keys
	head -c 32 /dev/urandom >keys/k.key
	export ENVCRYPT_KEYFILE_DIR=$T/keys
	cp "$KEYFILE" plugin
	image img2
	ctl_rc 0 format img2 --kms "exec:$T/plugin" --key k --yes
	printf '#!/bin/sh\ncat >/dev/null\necho %s\n' \
		"'{\"protocol\":1,\"error\":{\"code\":\"Unavailable\",\"message\":\"down for maintenance\"}}'" \
		>plugin
	chmod +x plugin
	ctl_rc 0 verify-at-rest img2
	out_has "wrap slot 0:  CMK k in exec:$T/plugin: unreachable: "
	out_has "down for maintenance"
	out_has "verdict:      encrypted (nothing written yet"
}

test_device_without_header() {
	export ENVCRYPT_KMS_DIR=$T/kms ENVCRYPT_REGISTRY=$T/registry
	image plain.img 4
	text_file t 100000
	dd if=t of=plain.img bs=1 seek=1000000 conv=notrunc 2>/dev/null
	ctl_rc 2 verify-at-rest plain.img --plaintext t --samples 1
	out_has "volume:       none: not an envcrypt volume (no header); the whole device is checked in 512-byte sectors"
	out_has "envcryptctl: plain.img: not encrypted at rest: t is on the raw device at byte offset 1000000;"
	out_has "the device has no envcrypt header (not an envcrypt volume (no header))"
	# random, no header: nothing shows it is encrypted
	head -c 4194304 /dev/urandom >rnd.img
	ctl_rc 5 verify-at-rest rnd.img
	out_has "verdict:      no envcrypt header"
	out_has "envcryptctl: rnd.img: not an envcrypt volume (no header); no sampled sector looks like plaintext, but nothing shows that this device is encrypted"
}

test_json() {
	vol
	fill_random
	text_file plain.txt 1000
	put plain.txt 4000000
	ctl_rc 2 verify-at-rest img --plaintext plain.txt --json
	# stdout is the JSON, the error line is on stderr
	"$ENVCRYPTCTL" verify-at-rest img --plaintext plain.txt --json \
		2>/dev/null >out.json || true
	/usr/bin/python3 - <<-'EOF' || fail "JSON: $(cat out.json)"
	import json
	d = json.load(open("out.json"))
	assert d["header"] is True, d
	assert d["sector_size"] == 512 and d["data_start"] == 1048576, d
	assert 192 <= d["sampled"] <= 256 and d["evenly_spaced"] == 192, d
	assert d["unwritten"] == 0, d
	assert d["verdict"] == "not encrypted", d
	p = d["plaintext"][0]
	assert p["found"] == 1 and p["matches"][0]["offset"] == 4000000, p
	assert p["matches"][0]["length"] == 1000, p
	assert d["wrap_slots"][0]["cmk_state"] == "Enabled", d
	assert d["wrap_slots"][0]["cmk_alias"] == "alias/db", d
	assert 7.9 < d["entropy"] <= 8, d
	EOF
}

test_refusals() {
	vol
	ctl_rc 1 verify-at-rest img --samples 0
	out_has "envcryptctl: verify-at-rest: --samples must be 1 to 16777216"
	ctl_rc 1 verify-at-rest img --samples 16777217
	out_has "envcryptctl: verify-at-rest: --samples must be 1 to 16777216"
	ctl_rc 1 verify-at-rest img --samples many
	out_has "envcryptctl: 'many' is not a number"
	ctl_rc 7 verify-at-rest img --plaintext missing.txt
	out_has "envcryptctl: missing.txt: No such file or directory"
	printf 'short' >short.txt
	ctl_rc 1 verify-at-rest img --plaintext short.txt
	out_has "envcryptctl: short.txt: 5 bytes is too short to search for; give at least 64 bytes"
	head -c 4096 /dev/zero >zeros.bin
	ctl_rc 1 verify-at-rest img --plaintext zeros.bin
	out_has "envcryptctl: zeros.bin: nothing to search for: every 16-byte block has fewer than 4 distinct byte values"
	ctl_rc 7 verify-at-rest nosuch.img
	out_has "envcryptctl: nosuch.img: No such file or directory"
	local args=() i
	for i in $(seq 17); do args+=(--plaintext x); done
	ctl_rc 1 verify-at-rest img "${args[@]}"
	out_has "envcryptctl: --plaintext may be given at most 16 times"
}
