// SPDX-License-Identifier: GPL-2.0
/*
 * Userspace tests of kernel/xts-aes-vaes.c, the AES-256-XTS core of
 * dm-envcrypt, against OpenSSL's AES-256-XTS (IV = le64(sector) || 0^64, as dm-crypt's
 * plain64) and the IEEE 1619-2007 AES-256 test vectors 10-14.
 *
 *   ./test_xts           run the tests (cmocka)
 *   ./test_xts --bench   speed and instructions per sector, vs OpenSSL
 *
 * The core has two implementations, VAES (two blocks per AES instruction)
 * and AES-NI (one); each test of the code runs once for each.  Where the
 * probe rejects VAES (the CPU lacks it, or, as under QEMU 7.2, it gets
 * VAES wrong) or with XTS_TEST_NO_VAES=1 in the environment, the VAES
 * runs report SKIPPED; the same for AES-NI where the CPU lacks AES-NI or
 * AVX2.  XTS_TEST_SEED picks another seed for the random cases.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <immintrin.h>

#include <cmocka.h>
#include <openssl/evp.h>

#include "xts-aes-vaes.h"
#include "unit-util.h"

#define KEY_SIZE	ENVCRYPT_AES_XTS_KEY_SIZE
#define MAX_LEN		4096

static enum envcrypt_aes_xts_impl probed;
static bool allow_vaes = true;

/*
 * What this CPU can do, found out independently of the code under test:
 * the probe must pick VAES exactly when cpu_vaes, else AES-NI exactly
 * when cpu_aesni.  A test skips only where these say so.
 */
static bool cpu_aesni, cpu_vaes;
static const char *no_vaes_why;

/* ---- helpers ----------------------------------------------------------- */

/* OpenSSL's AES-256-XTS of one data unit. */
static void ossl_xts(const u8 *key, u8 *dst, const u8 *src, unsigned int len,
		     u64 sector, int enc)
{
	EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
	u8 iv[16];
	int outl = 0;

	assert_non_null(ctx);
	plain64_iv(iv, sector);
	assert_int_equal(EVP_CipherInit_ex(ctx, EVP_aes_256_xts(), NULL, key,
					   iv, enc), 1);
	assert_int_equal(EVP_CipherUpdate(ctx, dst, &outl, src, (int)len), 1);
	assert_int_equal(outl, (int)len);
	EVP_CIPHER_CTX_free(ctx);
}

/*
 * Does the CPU's 256-bit VAESENC/VAESDEC do what two AESENC/AESDEC do?
 * QEMU 7.2's TCG advertises VAES, but its high half uses the low half's
 * state.
 */
__attribute__((target("aes,avx2,vaes")))
static bool vaes_works(void)
{
	u8 in[64], wide[64], narrow[64];
	__m256i a, k;
	int i;

	for (i = 0; i < 64; i++)
		in[i] = (u8)(37 * i + 11);
	a = _mm256_loadu_si256((const __m256i_u *)in);
	k = _mm256_loadu_si256((const __m256i_u *)(in + 32));
	_mm256_storeu_si256((__m256i_u *)wide, _mm256_aesenc_epi128(a, k));
	_mm256_storeu_si256((__m256i_u *)(wide + 32),
			    _mm256_aesdec_epi128(a, k));
	_mm_storeu_si128((__m128i_u *)narrow,
			 _mm_aesenc_si128(_mm256_castsi256_si128(a),
					  _mm256_castsi256_si128(k)));
	_mm_storeu_si128((__m128i_u *)(narrow + 16),
			 _mm_aesenc_si128(_mm256_extracti128_si256(a, 1),
					  _mm256_extracti128_si256(k, 1)));
	_mm_storeu_si128((__m128i_u *)(narrow + 32),
			 _mm_aesdec_si128(_mm256_castsi256_si128(a),
					  _mm256_castsi256_si128(k)));
	_mm_storeu_si128((__m128i_u *)(narrow + 48),
			 _mm_aesdec_si128(_mm256_extracti128_si256(a, 1),
					  _mm256_extracti128_si256(k, 1)));
	return !memcmp(wide, narrow, sizeof(wide));
}

static void find_cpu(void)
{
	__builtin_cpu_init();
	cpu_aesni = __builtin_cpu_supports("aes") &&
		    __builtin_cpu_supports("avx2");
	cpu_vaes = cpu_aesni && __builtin_cpu_supports("vaes");
	if (!cpu_vaes) {
		no_vaes_why = "the CPU has no VAES (or no AES-NI or AVX2)";
	} else if (!vaes_works()) {
		cpu_vaes = false;
		no_vaes_why = "the CPU's VAES computes wrong results (QEMU 7.2?)";
	}
	if (!allow_vaes) {
		cpu_vaes = false;
		no_vaes_why = "XTS_TEST_NO_VAES is set";
	}
}

/*
 * Make the implementation a test was registered for (its state) the one
 * in use; false, with a SKIP message, if this CPU cannot run it.  That
 * the CPU can but the core refuses is a failure.
 */
static bool use_impl(void **state)
{
	enum envcrypt_aes_xts_impl impl = *(enum envcrypt_aes_xts_impl *)*state;
	bool can = impl == ENVCRYPT_XTS_VAES ? cpu_vaes : cpu_aesni;

	if (!can) {
		print_message("SKIP: %s not tested: %s\n",
			      envcrypt_aes_xts_impl_name(impl),
			      impl == ENVCRYPT_XTS_VAES ? no_vaes_why :
			      "the CPU has no AES-NI or no AVX2");
		return false;
	}
	assert_int_equal(envcrypt_aes_xts_select(impl), 0);
	return true;
}

/*
 * Encrypt @pt with our code and OpenSSL, out of place and in place;
 * decrypt back both ways.  Guard bytes around the outputs must survive.
 */
static void check_one(const struct envcrypt_aes_xts_key *k, const u8 *key,
		      const u8 *pt, unsigned int len, u64 sector,
		      unsigned int misalign)
{
	static u8 ref[MAX_LEN], buf[MAX_LEN + 64], inplace[MAX_LEN + 64];
	u8 *out = buf + 16 + misalign, *io = inplace + 16 + misalign;

	ossl_xts(key, ref, pt, len, sector, 1);

	memset(buf, 0xa5, sizeof(buf));
	envcrypt_aes_xts_encrypt(k, out, pt, len, sector);
	assert_memory_equal(out, ref, len);
	assert_int_equal(out[-1], 0xa5);
	assert_int_equal(out[len], 0xa5);

	memcpy(io, pt, len);
	envcrypt_aes_xts_encrypt(k, io, io, len, sector);
	assert_memory_equal(io, ref, len);

	envcrypt_aes_xts_decrypt(k, io, io, len, sector);
	assert_memory_equal(io, pt, len);

	memset(buf, 0x5a, sizeof(buf));
	envcrypt_aes_xts_decrypt(k, out, ref, len, sector);
	assert_memory_equal(out, pt, len);
	assert_int_equal(out[-1], 0x5a);
	assert_int_equal(out[len], 0x5a);
}

/* ---- IEEE 1619-2007 Annex B, AES-256 vectors 10-14 ---------------------- */

/*
 * Key1 || Key2 (digits of e, then of pi); plaintext bytes 00..ff twice;
 * data unit sequence numbers 0xff, 0xffff, ... 0xffffffffff.  Vector 10
 * is also in Linux's crypto/testmgr.h (aes_xts_tv_template).
 */
static const char ieee1619_key[] =
	"2718281828459045235360287471352662497757247093699959574966967627"
	"3141592653589793238462643383279502884197169399375105820974944592";

static const char ieee1619_ct10[] =
	"1c3b3a102f770386e4836c99e370cf9bea00803f5e482357a4ae12d414a3e63b"
	"5d31e276f8fe4a8d66b317f9ac683f44680a86ac35adfc3345befecb4bb188fd"
	"5776926c49a3095eb108fd1098baec70aaa66999a72a82f27d848b21d4a741b0"
	"c5cd4d5fff9dac89aeba122961d03a757123e9870f8acf1000020887891429ca"
	"2a3e7a7d7df7b10355165c8b9a6d0a7de8b062c4500dc4cd120c0f7418dae3d0"
	"b5781c34803fa75421c790dfe1de1834f280d7667b327f6c8cd7557e12ac3a0f"
	"93ec05c52e0493ef31a12d3d9260f79a289d6a379bc70c50841473d1a8cc81ec"
	"583e9645e07b8d9670655ba5bbcfecc6dc3966380ad8fecb17b6ba02469a020a"
	"84e18e8f84252070c13e9f1f289be54fbc481457778f616015e1327a02b140f1"
	"505eb309326d68378f8374595c849d84f4c333ec4423885143cb47bd71c5edae"
	"9be69a2ffeceb1bec9de244fbe15992b11b77c040f12bd8f6a975a44a0f90c29"
	"a9abc3d4d893927284c58754cce294529f8614dcd2aba991925fedc4ae74ffac"
	"6e333b93eb4aff0479da9a410e4450e0dd7ae4c6e2910900575da401fc07059f"
	"645e8b7e9bfdef33943054ff84011493c27b3429eaedb4ed5376441a77ed4385"
	"1ad77f16f541dfd269d50d6a5f14fb0aab1cbb4c1550be97f7ab4066193c4caa"
	"773dad38014bd2092fa755c824bb5e54c4f36ffda9fcea70b9c6e693e148c151";

static const char ieee1619_ct11[] =
	"77a31251618a15e6b92d1d66dffe7b50b50bad552305ba0217a610688eff7e11"
	"e1d0225438e093242d6db274fde801d4cae06f2092c728b2478559df58e837c2"
	"469ee4a4fa794e4bbc7f39bc026e3cb72c33b0888f25b4acf56a2a9804f1ce6d"
	"3d6e1dc6ca181d4b546179d55544aa7760c40d06741539c7e3cd9d2f6650b201"
	"3fd0eeb8c2b8e3d8d240ccae2d4c98320a7442e1c8d75a42d6e6cfa4c2eca179"
	"8d158c7aecdf82490f24bb9b38e108bcda12c3faf9a21141c3613b58367f922a"
	"aa26cd22f23d708dae699ad7cb40a8ad0b6e2784973dcb605684c08b8d6998c6"
	"9aac049921871ebb65301a4619ca80ecb485a31d744223ce8ddc2394828d6a80"
	"470c092f5ba413c3378fa6054255c6f9df4495862bbb3287681f931b687c888a"
	"bf844dfc8fc28331e579928cd12bd2390ae123cf03818d14dedde5c0c24c8ab0"
	"18bfca75ca096f2d531f3d1619e785f1ada437cab92e980558b3dce1474afb75"
	"bfedbf8ff54cb2618e0244c9ac0d3c66fb51598cd2db11f9be39791abe447c63"
	"094f7c453b7ff87cb5bb36b7c79efb0872d17058b83b15ab0866ad8a58656c5a"
	"7e20dbdf308b2461d97c0ec0024a2715055249cf3b478ddd4740de654f75ca68"
	"6e0d7345c69ed50cdc2a8b332b1f8824108ac937eb050585608ee734097fc090"
	"54fbff89eeaeea791f4a7ab1f9868294a4f9e27b42af8100cb9d59cef9645803";

static const char ieee1619_ct12[] =
	"e387aaa58ba483afa7e8eb469778317ecf4cf573aa9d4eac23f2cdf914e4e200"
	"a8b490e42ee646802dc6ee2b471b278195d60918ececb44bf79966f83faba049"
	"9298ebc699c0c8634715a320bb4f075d622e74c8c932004f25b41e361025b5a8"
	"7815391f6108fc4afa6a05d9303c6ba68a128a55705d415985832fdeaae6c8e1"
	"9110e84d1b1f199a2692119edc96132658f09da7c623efcec712537a3d94c0bf"
	"5d7e352ec94ae5797fdb377dc1551150721adf15bd26a8efc2fcaad56881fa9e"
	"62462c28f30ae1ceaca93c345cf243b73f542e2074a705bd2643bb9f7cc79bb6"
	"e7091ea6e232df0f9ad0d6cf502327876d82207abf2115cdacf6d5a48f6c1879"
	"a65b115f0f8b3cb3c59d15dd8c769bc014795a1837f3901b5845eb491adfefe0"
	"97b1fa30a12fc1f65ba22905031539971a10f2f36c321bb51331cdefb39e3964"
	"c7ef079994f5b69b2edd83a71ef549971ee93f44eac3938fcdd61d01fa71799d"
	"a3a8091c4c48aa9ed263ff0749df95d44fef6a0bb578ec69456aa5408ae32c7a"
	"f08ad7ba8921287e3bbee31b767be06a0e705c864a769137df28292283ea81a2"
	"480241b44d9921cdbec1bc28dc1fda114bd8e5217ac9d8ebafa720e9da4f9ace"
	"231cc949e5b96fe76ffc21063fddc83a6b8679c00d35e09576a875305bed5f36"
	"ed242c8900dd1fa965bc950dfce09b132263a1eef52dd6888c309f5a7d712826";

static const char ieee1619_ct13[] =
	"bf53d2dade78e822a4d949a9bc6766b01b06a8ef70d26748c6a7fc36d80ae4c5"
	"520f7c4ab0ac8544424fa405162fef5a6b7f229498063618d39f0003cb5fb8d1"
	"c86b643497da1ff945c8d3bedeca4f479702a7a735f043ddb1d6aaade3c4a0ac"
	"7ca7f3fa5279bef56f82cd7a2f38672e824814e10700300a055e1630b8f1cb0e"
	"919f5e942010a416e2bf48cb46993d3cb6a51c19bacf864785a00bc2ecff15d3"
	"50875b246ed53e68be6f55bd7e05cfc2b2ed6432198a6444b6d8c247fab941f5"
	"69768b5c429366f1d3f00f0345b96123d56204c01c63b22ce78baf116e525ed9"
	"0fdea39fa469494d3866c31e05f295ff21fea8d4e6e13d67e47ce722e9698a1c"
	"1048d68ebcde76b86fcf976eab8aa9790268b7068e017a8b9b749409514f1053"
	"027fd16c3786ea1bac5f15cb79711ee2abe82f5cf8b13ae73030ef5b9e4457e7"
	"5d1304f988d62dd6fc4b94ed38ba831da4b7634971b6cd8ec325d9c61c00f1df"
	"73627ed3745a5e8489f3a95c69639c32cd6e1d537a85f75cc844726e8a72fc00"
	"77ad22000f1d5078f6b866318c668f1ad03d5a5fced5219f2eabbd0aa5c0f460"
	"d183f04404a0d6f469558e81fab24a167905ab4c7878502ad3e38fdbe62a4155"
	"6cec37325759533ce8f25f367c87bb5578d667ae93f9e2fd99bcbc5f2fbba88c"
	"f6516139420fcff3b7361d86322c4bd84c82f335abb152c4a93411373aaa8220";

static const char ieee1619_ct14[] =
	"64497e5a831e4a932c09be3e5393376daa599548b816031d224bbf50a818ed23"
	"50eae7e96087c8a0db51ad290bd00c1ac1620857635bf246c176ab463be30b80"
	"8da548081ac847b158e1264be25bb0910bbc92647108089415d45fab1b3d2604"
	"e8a8eff1ae4020cfa39936b66827b23f371b92200be90251e6d73c5f86de5fd4"
	"a950781933d79a28272b782a2ec313efdfcc0628f43d744c2dc2ff3dcb66999b"
	"50c7ca895b0c64791eeaa5f29499fb1c026f84ce5b5c72ba1083cddb5ce45434"
	"631665c333b60b11593fb253c5179a2c8db813782a004856a1653011e93fb6d8"
	"76c18366dd8683f53412c0c180f9c848592d593f8609ca736317d356e13e2bff"
	"3a9f59cd9aeb19cd482593d8c46128bb32423b37a9adfb482b99453fbe25a41b"
	"f6feb4aa0bef5ed24bf73c762978025482c13115e4015aac992e5613a3b5c2f6"
	"85b84795cb6e9b2656d8c88157e52c42f978d8634c43d06fea928f2822e465aa"
	"6576e9bf419384506cc3ce3c54ac1a6f67dc66f3b30191e698380bc999b05abc"
	"e19dc0c6dcc2dd001ec535ba18deb2df1a101023108318c75dc98611a09dc48a"
	"0acdec676fabdf222f07e026f059b672b56e5cbc8e1d21bbd867dd9272120546"
	"81d70ea737134cdfce93b6f82ae22423274e58a0821cc5502e2d0ab4585e94de"
	"6975be5e0b4efce51cd3e70c25a1fbbbd609d273ad5b0d59631c531f6a0a57b9";

static const struct {
	int number;
	u64 sector;
	const char *ct;
} ieee1619[] = {
	{ 10, 0xffULL, ieee1619_ct10 },
	{ 11, 0xffffULL, ieee1619_ct11 },
	{ 12, 0xffffffULL, ieee1619_ct12 },
	{ 13, 0xffffffffULL, ieee1619_ct13 },
	{ 14, 0xffffffffffULL, ieee1619_ct14 },
};

static void ieee1619_data(u8 *key, u8 *pt)
{
	int i;

	hex_to_bytes(ieee1619_key, key, KEY_SIZE);
	for (i = 0; i < 512; i++)
		pt[i] = (u8)i;
}

/* The vectors as transcribed here agree with OpenSSL: checks the test. */
static void test_ieee1619_openssl(void **state)
{
	u8 key[KEY_SIZE], pt[512], ct[512], out[512];
	size_t i;

	(void)state;
	ieee1619_data(key, pt);
	for (i = 0; i < ARRAY_SIZE(ieee1619); i++) {
		hex_to_bytes(ieee1619[i].ct, ct, sizeof(ct));
		ossl_xts(key, out, pt, sizeof(pt), ieee1619[i].sector, 1);
		assert_memory_equal(out, ct, sizeof(ct));
	}
}

static void test_ieee1619(void **state)
{
	struct envcrypt_aes_xts_key k;
	u8 key[KEY_SIZE], pt[512], ct[512], out[512];
	size_t i;

	if (!use_impl(state)) {
		skip();
		return;
	}
	ieee1619_data(key, pt);
	assert_int_equal(envcrypt_aes_xts_setkey(&k, key, KEY_SIZE), 0);
	for (i = 0; i < ARRAY_SIZE(ieee1619); i++) {
		hex_to_bytes(ieee1619[i].ct, ct, sizeof(ct));
		envcrypt_aes_xts_encrypt(&k, out, pt, sizeof(pt),
					 ieee1619[i].sector);
		assert_memory_equal(out, ct, sizeof(ct));
		envcrypt_aes_xts_decrypt(&k, out, out, sizeof(out),
					 ieee1619[i].sector);
		assert_memory_equal(out, pt, sizeof(pt));
		check_one(&k, key, pt, sizeof(pt), ieee1619[i].sector, 0);
	}
	envcrypt_aes_xts_wipe(&k);
}

/* ---- against OpenSSL --------------------------------------------------- */

/* Many keys, sectors, 512- and 4096-byte units, in and out of place. */
static void test_random_sectors(void **state)
{
	static u8 pt[MAX_LEN];
	struct envcrypt_aes_xts_key k;
	u8 key[KEY_SIZE];
	unsigned int n, i, checks = 0;

	if (!use_impl(state)) {
		skip();
		return;
	}
	for (n = 0; n < 200; n++) {
		rnd_key(key, KEY_SIZE);
		assert_int_equal(envcrypt_aes_xts_setkey(&k, key, KEY_SIZE), 0);
		for (i = 0; i < 16; i++) {
			unsigned int len = (i & 1) ? 4096 : 512;

			rnd_bytes(pt, len);
			check_one(&k, key, pt, len, pick_sector(i), 0);
			checks++;
		}
	}
	envcrypt_aes_xts_wipe(&k);
	print_message("%u random keys x 16 sectors, 512 and 4096 bytes: %u checks\n",
		      n, checks);
}

/* Every multiple of 16 up to 4096: the paths for a partial last group. */
static void test_all_lengths(void **state)
{
	static u8 pt[MAX_LEN];
	struct envcrypt_aes_xts_key k;
	u8 key[KEY_SIZE];
	unsigned int len;

	if (!use_impl(state)) {
		skip();
		return;
	}
	for (len = 16; len <= MAX_LEN; len += 16) {
		rnd_key(key, KEY_SIZE);
		assert_int_equal(envcrypt_aes_xts_setkey(&k, key, KEY_SIZE), 0);
		rnd_bytes(pt, len);
		check_one(&k, key, pt, len, rnd64(), 0);
	}
	envcrypt_aes_xts_wipe(&k);
}

/* Buffers at every misalignment; plaintext too. */
static void test_unaligned(void **state)
{
	static u8 pt_buf[MAX_LEN + 32];
	struct envcrypt_aes_xts_key k;
	u8 key[KEY_SIZE];
	unsigned int off;

	if (!use_impl(state)) {
		skip();
		return;
	}
	rnd_key(key, KEY_SIZE);
	assert_int_equal(envcrypt_aes_xts_setkey(&k, key, KEY_SIZE), 0);
	for (off = 0; off < 32; off++) {
		u8 *pt = pt_buf + (31 - off);

		rnd_bytes(pt, MAX_LEN);
		check_one(&k, key, pt, 512, rnd64(), off);
		check_one(&k, key, pt, 4096, rnd64(), off);
	}
	envcrypt_aes_xts_wipe(&k);
}

/* A length of 0 writes nothing. */
static void test_zero_length(void **state)
{
	struct envcrypt_aes_xts_key k;
	u8 key[KEY_SIZE], buf[32];

	if (!use_impl(state)) {
		skip();
		return;
	}
	rnd_key(key, KEY_SIZE);
	assert_int_equal(envcrypt_aes_xts_setkey(&k, key, KEY_SIZE), 0);
	memset(buf, 0x77, sizeof(buf));
	envcrypt_aes_xts_encrypt(&k, buf, buf, 0, 42);
	envcrypt_aes_xts_decrypt(&k, buf, buf, 0, 42);
	for (unsigned int i = 0; i < sizeof(buf); i++)
		assert_int_equal(buf[i], 0x77);
	envcrypt_aes_xts_wipe(&k);
}

/*
 * The probe picks VAES where it works, else AES-NI where there is AES-NI
 * and AVX2; both its self-tests pass where the CPU can run them.
 */
static void test_probe(void **state)
{
	enum envcrypt_aes_xts_impl want;

	(void)state;
	want = cpu_vaes ? ENVCRYPT_XTS_VAES :
	       cpu_aesni ? ENVCRYPT_XTS_AESNI : ENVCRYPT_XTS_NONE;
	if (!allow_vaes && probed == ENVCRYPT_XTS_VAES)
		want = ENVCRYPT_XTS_VAES;	/* only the tests skip it */
	print_message("probe picked %s\n", envcrypt_aes_xts_impl_name(probed));
	assert_int_equal(probed, want);
	assert_int_equal(envcrypt_aes_xts_probe(), probed);
	assert_int_equal(envcrypt_aes_xts_select(ENVCRYPT_XTS_NONE),
			 -EOPNOTSUPP);
	if (cpu_aesni)
		assert_int_equal(envcrypt_aes_xts_select(ENVCRYPT_XTS_AESNI), 0);
	else
		assert_int_equal(envcrypt_aes_xts_select(ENVCRYPT_XTS_AESNI),
				 -EOPNOTSUPP);
}

/* ---- key handling (no vector code needed: refused before it) ----------- */

static void test_setkey_rejects(void **state)
{
	struct envcrypt_aes_xts_key k;
	u8 key[KEY_SIZE + 1];

	(void)state;
	rnd_key(key, KEY_SIZE);
	assert_int_equal(envcrypt_aes_xts_setkey(&k, key, 0), -EINVAL);
	assert_int_equal(envcrypt_aes_xts_setkey(&k, key, 32), -EINVAL);
	assert_int_equal(envcrypt_aes_xts_setkey(&k, key, 48), -EINVAL);
	assert_int_equal(envcrypt_aes_xts_setkey(&k, key, 63), -EINVAL);
	assert_int_equal(envcrypt_aes_xts_setkey(&k, key, 65), -EINVAL);
	/* Equal data and tweak keys, as the xts template refuses in FIPS. */
	memcpy(key + KEY_SIZE / 2, key, KEY_SIZE / 2);
	assert_int_equal(envcrypt_aes_xts_setkey(&k, key, KEY_SIZE), -EINVAL);
}

static void test_wipe(void **state)
{
	static const struct envcrypt_aes_xts_key zero;
	struct envcrypt_aes_xts_key k;

	(void)state;
	memset(&k, 0xff, sizeof(k));
	envcrypt_aes_xts_wipe(&k);
	assert_memory_equal(&k, &zero, sizeof(k));
}

/*
 * The expanded keys: FIPS 197 A.3's AES-256 schedule, and its inverse
 * (the same for both implementations; needs AES-NI).
 */
static void test_key_schedule(void **state)
{
	struct envcrypt_aes_xts_key k;
	u8 key[KEY_SIZE], rk[16];
	int i;

	if (!use_impl(state)) {
		skip();
		return;
	}
	hex_to_bytes("603deb1015ca71be2b73aef0857d7781"
		     "1f352c073b6108d72d9810a30914dff4", key, 32);
	memset(key + 32, 0x42, 32);
	assert_int_equal(envcrypt_aes_xts_setkey(&k, key, KEY_SIZE), 0);
	/* Last round key, words w[56..59] of FIPS 197 A.3. */
	hex_to_bytes("fe4890d1e6188d0b046df344706c631e", rk, 16);
	assert_memory_equal(k.enc[14], rk, 16);
	for (i = 0; i < 15; i++) {
		/* Both halves of each 32-byte key the same. */
		assert_memory_equal(k.enc[i], k.enc[i] + 16, 16);
		assert_memory_equal(k.dec[i], k.dec[i] + 16, 16);
	}
	assert_memory_equal(k.dec[0], k.enc[14], 16);
	assert_memory_equal(k.dec[14], k.enc[0], 16);
	envcrypt_aes_xts_wipe(&k);
}

/* ---- benchmark --------------------------------------------------------- */

struct bench_arg {
	struct bench_sector s;
	const struct envcrypt_aes_xts_key *k;
	EVP_CIPHER_CTX *enc_ctx, *dec_ctx;
};

static struct bench_arg *arg_of(struct bench_sector *s)
{
	return container_of(s, struct bench_arg, s);
}

static void run_enc(struct bench_sector *s)
{
	envcrypt_aes_xts_encrypt(arg_of(s)->k, s->buf, s->buf, s->len,
				 s->sector);
}

static void run_dec(struct bench_sector *s)
{
	envcrypt_aes_xts_decrypt(arg_of(s)->k, s->buf, s->buf, s->len,
				 s->sector);
}

/* OpenSSL as a per-sector caller uses it: set the IV, then one update. */
static void run_ossl(EVP_CIPHER_CTX *ctx, struct bench_sector *s)
{
	u8 iv[16];
	int outl;

	plain64_iv(iv, s->sector);
	if (EVP_CipherInit_ex(ctx, NULL, NULL, NULL, iv, -1) != 1 ||
	    EVP_CipherUpdate(ctx, s->buf, &outl, s->buf, (int)s->len) != 1)
		abort();
}

static void run_ossl_enc(struct bench_sector *s)
{
	run_ossl(arg_of(s)->enc_ctx, s);
}

static void run_ossl_dec(struct bench_sector *s)
{
	run_ossl(arg_of(s)->dec_ctx, s);
}

/* Just the update, IV already set: OpenSSL's XTS code and EVP dispatch. */
static void run_ossl_enc_update(struct bench_sector *s)
{
	int outl;

	if (EVP_CipherUpdate(arg_of(s)->enc_ctx, s->buf, &outl, s->buf,
			     (int)s->len) != 1)
		abort();
}

static int bench(void)
{
	static const struct {
		const char *name;
		bench_fn *fn;
	} ossl_runs[] = {
		{ "OpenSSL encrypt (IV+update)", run_ossl_enc },
		{ "OpenSSL decrypt (IV+update)", run_ossl_dec },
		{ "OpenSSL encrypt (update only)", run_ossl_enc_update },
	};
	static const enum envcrypt_aes_xts_impl impls[] = {
		ENVCRYPT_XTS_VAES, ENVCRYPT_XTS_AESNI,
	};
	static u8 buf[MAX_LEN] __attribute__((aligned(64)));
	struct envcrypt_aes_xts_key k __attribute__((aligned(64)));
	struct bench_arg a = {
		.s = { .buf = buf, .sector = 1ULL << 33 }, .k = &k,
	};
	u8 key[KEY_SIZE], iv[16] = { 0 };
	char name[64];
	size_t r, i;

	rnd_key(key, KEY_SIZE);
	rnd_bytes(buf, sizeof(buf));
	a.enc_ctx = EVP_CIPHER_CTX_new();
	a.dec_ctx = EVP_CIPHER_CTX_new();
	if (!a.enc_ctx || !a.dec_ctx ||
	    EVP_CipherInit_ex(a.enc_ctx, EVP_aes_256_xts(), NULL, key, iv,
			      1) != 1 ||
	    EVP_CipherInit_ex(a.dec_ctx, EVP_aes_256_xts(), NULL, key, iv,
			      0) != 1)
		return 1;
	if (probed != ENVCRYPT_XTS_NONE)
		envcrypt_aes_xts_setkey(&k, key, KEY_SIZE);

	printf("Instructions per sector (user space, single-stepped):\n");
	for (i = 0; i < ARRAY_SIZE(impls); i++) {
		if ((impls[i] == ENVCRYPT_XTS_VAES && !allow_vaes) ||
		    envcrypt_aes_xts_select(impls[i])) {
			printf("  SKIP: %s not usable here\n",
			       envcrypt_aes_xts_impl_name(impls[i]));
			continue;
		}
		snprintf(name, sizeof(name), "%s encrypt",
			 envcrypt_aes_xts_impl_name(impls[i]));
		bench_counts(name, run_enc, &a.s, 5, 4);
		snprintf(name, sizeof(name), "%s decrypt",
			 envcrypt_aes_xts_impl_name(impls[i]));
		bench_counts(name, run_dec, &a.s, 5, 4);
	}
	for (r = 0; r < ARRAY_SIZE(ossl_runs); r++)
		bench_counts(ossl_runs[r].name, ossl_runs[r].fn, &a.s, 5, 4);

	printf("Speed on this CPU, 4096-byte sectors in place:\n");
	a.s.len = 4096;
	for (i = 0; i < ARRAY_SIZE(impls); i++) {
		if ((impls[i] == ENVCRYPT_XTS_VAES && !allow_vaes) ||
		    envcrypt_aes_xts_select(impls[i]))
			continue;
		snprintf(name, sizeof(name), "%s encrypt",
			 envcrypt_aes_xts_impl_name(impls[i]));
		time_one(name, 28, run_enc, &a.s, 200000);
		snprintf(name, sizeof(name), "%s decrypt",
			 envcrypt_aes_xts_impl_name(impls[i]));
		time_one(name, 28, run_dec, &a.s, 200000);
	}
	for (r = 0; r < ARRAY_SIZE(ossl_runs); r++)
		time_one(ossl_runs[r].name, 28, ossl_runs[r].fn, &a.s, 200000);
	EVP_CIPHER_CTX_free(a.enc_ctx);
	EVP_CIPHER_CTX_free(a.dec_ctx);
	envcrypt_aes_xts_wipe(&k);
	return 0;
}

/* ---- main -------------------------------------------------------------- */

static enum envcrypt_aes_xts_impl impl_vaes = ENVCRYPT_XTS_VAES;
static enum envcrypt_aes_xts_impl impl_aesni = ENVCRYPT_XTS_AESNI;

#define BOTH(f)								\
	{ #f "/vaes", f, NULL, NULL, &impl_vaes },			\
	{ #f "/aesni", f, NULL, NULL, &impl_aesni }

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_setkey_rejects),
		cmocka_unit_test(test_wipe),
		cmocka_unit_test(test_ieee1619_openssl),
		cmocka_unit_test(test_probe),
		{ "test_key_schedule", test_key_schedule, NULL, NULL,
		  &impl_aesni },
		BOTH(test_ieee1619),
		BOTH(test_random_sectors),
		BOTH(test_all_lengths),
		BOTH(test_unaligned),
		BOTH(test_zero_length),
	};
	u64 seed = rnd_seed("XTS_TEST_SEED", 0x656e7663727970ULL);

	probed = envcrypt_aes_xts_probe();
	allow_vaes = !getenv("XTS_TEST_NO_VAES");
	find_cpu();

	if (argc > 1 && !strcmp(argv[1], "--bench"))
		return bench();
	if (argc > 1) {
		fprintf(stderr, "usage: %s [--bench]\n", argv[0]);
		return 2;
	}

	printf("probe: %s; seed %#llx\n", envcrypt_aes_xts_impl_name(probed),
	       seed);
	if (!cpu_vaes)
		printf("SKIP: the VAES implementation is not tested here: %s\n",
		       no_vaes_why);
	if (!cpu_aesni)
		printf("SKIP: the AES-NI implementation is not tested here: %s\n",
		       "the CPU has no AES-NI or no AVX2");
	return cmocka_run_group_tests(tests, NULL, NULL);
}
