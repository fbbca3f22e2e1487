# SPDX-License-Identifier: GPL-2.0
#
# Ciphertext identical to dm-crypt: the same plaintext written through
# envcrypt and through dm-crypt with the same key and parameters gives the
# same bytes on disk, and each reads back what the other wrote.

. /tests/envcrypt-lib.sh

# oracle_case SS IV_OFFSET LARGE OFFSET [WRITE_BS]: for both implementations
# of envcrypt, the built-in one (the default) and the crypto API's
oracle_case() {
	oracle_engine_case "" "$@"
	tidy
	oracle_engine_case crypto_api "$@"
}

# oracle_engine_case ENGINE_OPT SS IV_OFFSET LARGE OFFSET [WRITE_BS]
oracle_engine_case() {
	local engine=$1 ss=$2 ivoff=$3 large=$4 off=$5 bs=${6:-64k}
	local len=8192 key p

	need_envcrypt
	ramdisks 2 16384
	key=$(hexkey 64)
	randfile p 1024
	p=$(file_sha p)

	# 1. Same plaintext, both targets: identical ciphertext.
	dm_create env "$(envcrypt_table $len aes-xts-plain64 "$key" "$ivoff" /dev/ram0 "$off" "$ss" "$large" $engine)"
	dm_create ref "$(crypt_table $len aes-xts-plain64 "$key" "$ivoff" /dev/ram1 "$off" "$ss" "$large")"
	# the built-in AES-XTS needs AVX2; without it the default is the
	# crypto API's
	case "$engine:$(grep -qw avx2 /proc/cpuinfo && echo avx2):$(dmsetup status env)" in
	crypto_api::*driver:xts-aes-aesni\ *|crypto_api:avx2:*driver:xts-aes-aesni\ *) ;;
	:avx2:*driver:envcrypt-xts-aes-*|::*driver:xts-aes-aesni\ *) ;;
	*) fail "engine '$engine' not in use: $(dmsetup status env)" ;;
	esac
	write_file_to /dev/mapper/env p "$bs"
	write_file_to /dev/mapper/ref p "$bs"
	assert_eq "$(raw_sha /dev/ram1 "$off" 2048)" \
		"$(raw_sha /dev/ram0 "$off" 2048)" "ciphertext envcrypt vs dm-crypt"
	assert_ne "$p" "$(raw_sha /dev/ram0 "$off" 2048)" "raw data is plaintext"
	assert_eq "$p" "$(dev_sha /dev/mapper/env 1024)" "envcrypt reads its own data"
	dmsetup remove env
	dmsetup remove ref

	# 2. Each reads what the other wrote.
	dm_create ref "$(crypt_table $len aes-xts-plain64 "$key" "$ivoff" /dev/ram0 "$off" "$ss" "$large")"
	dm_create env "$(envcrypt_table $len aes-xts-plain64 "$key" "$ivoff" /dev/ram1 "$off" "$ss" "$large" $engine)"
	assert_eq "$p" "$(dev_sha /dev/mapper/ref 1024)" "dm-crypt reads envcrypt's data"
	assert_eq "$p" "$(dev_sha /dev/mapper/env 1024)" "envcrypt reads dm-crypt's data"
}

test_oracle_ss512_iv0() { oracle_case 512 0 0 0; }
test_oracle_ss512_ivoffset_offset() { oracle_case 512 12345 0 2048; }
test_oracle_ss512_iv_beyond_32_bits() { oracle_case 512 8589934593 0 1 4k; }
test_oracle_ss4096_iv0() { oracle_case 4096 0 0 0; }
test_oracle_ss4096_ivoffset_offset() { oracle_case 4096 8000 0 2048; }
test_oracle_ss4096_large_sectors() { oracle_case 4096 0 1 0; }
test_oracle_ss4096_large_ivoffset_offset() { oracle_case 4096 4096 1 8 4k; }
test_oracle_ss4096_large_iv_beyond_32_bits() { oracle_case 4096 1099511627776 1 16 1M; }

# cryptsetup's plain mode, the way an operator opens dm-crypt by hand,
# reads what envcrypt wrote with a key taken from a key file.
test_oracle_cryptsetup_plain_reads_envcrypt() {
	local key p

	need_envcrypt
	ramdisks 1 16384
	key=$(hexkey 64)
	hex2file "$key" keyfile
	randfile p 1024
	dm_create env "$(envcrypt_table 8192 aes-xts-plain64 "$key" 64 /dev/ram0 2048 4096 1)"
	write_file_to /dev/mapper/env p
	dmsetup remove env
	cryptsetup open --type plain --cipher aes-xts-plain64 --key-size 512 \
		--key-file keyfile --offset 2048 --skip 64 --size 8192 \
		--sector-size 4096 --iv-large-sectors /dev/ram0 ref ||
		fail "cryptsetup open"
	assert_eq "$(file_sha p)" "$(dev_sha /dev/mapper/ref 1024)" \
		"cryptsetup reads envcrypt's data"
	cryptsetup close ref
}
