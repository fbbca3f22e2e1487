// SPDX-License-Identifier: GPL-2.0
/*
 * dm-envcrypt: the "envcrypt" device-mapper target.
 *
 * Encrypts every sector of the underlying device with a data key held only
 * in kernel memory, AES-256-XTS or SM4-XTS with a plain64 IV, so that the
 * ciphertext is byte-identical to dm-crypt's for the same key, iv_offset,
 * sector_size and iv_large_sectors.  The key comes in the table line or,
 * better, from the kernel keyring; it can be wiped and set again while the
 * device is suspended.
 *
 * AES-XTS and SM4-XTS run on built-in implementations (xts-aes-vaes.c,
 * sm4-xts.c) where the CPU allows, else on the kernel crypto API, to which
 * the module also offers an SM4 cipher (sm4-crypto.c).  Writes are encrypted in the
 * submitter's context, reads decrypted in the completing one when that is
 * safe, and in a per-device workqueue otherwise: no hop through a thread
 * on the fast path.
 */

#include <asm/fpu/api.h>
#include <crypto/algapi.h>
#include <crypto/sha2.h>
#include <crypto/skcipher.h>
#include <keys/user-type.h>
#include <linux/bio.h>
#include <linux/blkdev.h>
#include <linux/crypto.h>
#include <linux/device-mapper.h>
#include <linux/key.h>
#include <linux/mempool.h>
#include <linux/module.h>
#include <linux/random.h>
#include <linux/scatterlist.h>
#include <linux/slab.h>
#include <linux/workqueue.h>

#include "dm-envcrypt.h"
#include "sm4-crypto.h"
#include "sm4-xts.h"
#include "xts-aes-vaes.h"

#define DM_MSG_PREFIX ENVCRYPT_TARGET_NAME

/* Bytes encrypted per FPU section: bounds the time preemption is off. */
#define ENVCRYPT_FPU_CHUNK		4096

/* Largest write encrypted in one piece: one bounce page per bio vector. */
#define ENVCRYPT_MAX_WRITE_SECTORS \
	((BIO_MAX_VECS << PAGE_SHIFT) >> SECTOR_SHIFT)

enum envcrypt_builtin_cipher {
	ENVCRYPT_BUILTIN_AES_XTS,	/* xts-aes-vaes.c */
	ENVCRYPT_BUILTIN_SM4_XTS,	/* sm4-xts.c */
};

struct envcrypt_cipher {
	const char *name;		/* in the table: "aes-xts-plain64" */
	const char *crypto_name;	/* for the crypto API: "xts(aes)" */
	const char *block_name;		/* in driver names: "aes" */
	unsigned int key_size;		/* bytes, both XTS halves */
	enum envcrypt_builtin_cipher builtin;
};

static const struct envcrypt_cipher envcrypt_ciphers[] = {
	{ ENVCRYPT_CIPHER_AES_XTS, "xts(aes)", "aes", ENVCRYPT_AES_XTS_KEY_SIZE,
	  ENVCRYPT_BUILTIN_AES_XTS },
	{ ENVCRYPT_CIPHER_SM4_XTS, "xts(sm4)", "sm4", ENVCRYPT_SM4_XTS_KEY_SIZE,
	  ENVCRYPT_BUILTIN_SM4_XTS },
};

/*
 * The built-in implementations this CPU can run, probed once at module
 * load with known-answer tests (some emulators advertise VAES and get it
 * wrong).  The generic SM4-XTS runs anywhere.
 */
static enum envcrypt_aes_xts_impl envcrypt_aes_impl __ro_after_init;
static enum envcrypt_sm4_xts_impl envcrypt_sm4_impl __ro_after_init;

static bool portable;
module_param(portable, bool, 0444);
MODULE_PARM_DESC(portable,
		 "Use only portable code: no built-in AES-XTS (the crypto API's instead), the portable SM4-XTS, no accelerated ecb(sm4) (for comparisons and tests)");

union envcrypt_builtin_key {
	struct envcrypt_aes_xts_key aes;
	struct envcrypt_sm4_xts_key sm4;
};

enum envcrypt_wipe_mode {
	ENVCRYPT_WIPE_QUEUE,		/* keyless device refuses to resume */
	ENVCRYPT_WIPE_ERROR,		/* keyless device fails I/O with EIO */
};

struct envcrypt {
	struct dm_dev *dev;
	sector_t start;			/* data offset on dev, 512-byte units */
	u64 iv_offset;			/* added to the sector for the IV */
	const struct envcrypt_cipher *cipher;
	struct crypto_skcipher *tfm;		/* the crypto API's cipher */
	union envcrypt_builtin_key *builtin_key;	/* or the built-in one */

	unsigned int sector_size;	/* crypto sector, 512 or 4096 bytes */
	unsigned int sector_step;	/* sector_size in 512-byte units */
	unsigned int iv_shift;		/* iv_large_sectors: log2(sector_step) */
	bool allow_discards;
	bool crypto_api;		/* never the built-in implementation */
	enum envcrypt_wipe_mode wipe_mode;

	struct mutex key_lock;		/* key state, key_ref, suspended */
	bool key_valid;
	bool suspended;
	char *key_ref;			/* ":<size>:logon:<desc>", NULL if hex */
	u8 kcv[ENVCRYPT_KCV_SIZE];

	struct bio_set bs;
	mempool_t page_pool;
	struct mutex page_alloc_lock;	/* one writer waits on the pool */
	struct workqueue_struct *crypt_wq;
};

/*
 * Per-bio state, in the bio's per_io_data.  The crypto request and its
 * context follow it, aligned as the crypto API wants.
 */
struct envcrypt_io {
	struct envcrypt *ec;
	struct bio *bio;		/* the bio dm gave us */
	sector_t sector;		/* where it goes on the device */
	u64 iv_sector;			/* its first sector's, 512-byte units */
	struct work_struct work;
	struct crypto_wait wait;
	__le64 iv[2];
};

static struct skcipher_request *envcrypt_io_req(struct envcrypt_io *io)
{
	return PTR_ALIGN((void *)(io + 1), CRYPTO_MINALIGN);
}

static unsigned int envcrypt_io_size(struct crypto_skcipher *tfm)
{
	return ALIGN(ALIGN(sizeof(struct envcrypt_io), CRYPTO_MINALIGN) +
		     sizeof(struct skcipher_request) +
		     crypto_skcipher_reqsize(tfm), CRYPTO_MINALIGN);
}

/* ---- the built-in ciphers ------------------------------------------ */

static bool envcrypt_builtin_usable(const struct envcrypt_cipher *cipher)
{
	if (cipher->builtin == ENVCRYPT_BUILTIN_SM4_XTS)
		return true;
	return envcrypt_aes_impl != ENVCRYPT_XTS_NONE;
}

static const char *envcrypt_builtin_impl(const struct envcrypt *ec)
{
	if (ec->cipher->builtin == ENVCRYPT_BUILTIN_SM4_XTS)
		return envcrypt_sm4_xts_impl_name(envcrypt_sm4_impl);
	return envcrypt_aes_xts_impl_name(envcrypt_aes_impl);
}

static int envcrypt_builtin_setkey(struct envcrypt *ec, const u8 *key)
{
	if (ec->cipher->builtin == ENVCRYPT_BUILTIN_SM4_XTS)
		return envcrypt_sm4_xts_setkey(&ec->builtin_key->sm4, key,
					       ec->cipher->key_size);
	return envcrypt_aes_xts_setkey(&ec->builtin_key->aes, key,
				       ec->cipher->key_size);
}

static void envcrypt_builtin_wipe(struct envcrypt *ec)
{
	if (ec->cipher->builtin == ENVCRYPT_BUILTIN_SM4_XTS)
		envcrypt_sm4_xts_wipe(&ec->builtin_key->sm4);
	else
		envcrypt_aes_xts_wipe(&ec->builtin_key->aes);
}

/* Whether the built-in implementation in use runs on the FPU. */
static bool envcrypt_builtin_needs_fpu(const struct envcrypt *ec)
{
	if (ec->cipher->builtin == ENVCRYPT_BUILTIN_SM4_XTS)
		return envcrypt_sm4_impl != ENVCRYPT_SM4_XTS_GENERIC;
	return true;
}

/* One sector; the caller holds kernel_fpu_begin() if it needs the FPU. */
static void envcrypt_builtin_crypt(const struct envcrypt *ec, u8 *dst,
				   const u8 *src, u64 iv, bool encrypt)
{
	const union envcrypt_builtin_key *key = ec->builtin_key;
	unsigned int len = ec->sector_size;

	if (ec->cipher->builtin == ENVCRYPT_BUILTIN_SM4_XTS) {
		if (encrypt)
			envcrypt_sm4_xts_encrypt(&key->sm4, dst, src, len, iv);
		else
			envcrypt_sm4_xts_decrypt(&key->sm4, dst, src, len, iv);
	} else {
		if (encrypt)
			envcrypt_aes_xts_encrypt(&key->aes, dst, src, len, iv);
		else
			envcrypt_aes_xts_decrypt(&key->aes, dst, src, len, iv);
	}
}

/* ---- keys ---------------------------------------------------------- */

static void envcrypt_compute_kcv(const u8 *key, unsigned int key_size,
				 u8 kcv[ENVCRYPT_KCV_SIZE])
{
	static const char label[] = ENVCRYPT_KCV_LABEL;
	struct sha256_state state;
	u8 digest[SHA256_DIGEST_SIZE];

	sha256_init(&state);
	sha256_update(&state, label, sizeof(label) - 1);
	sha256_update(&state, key, key_size);
	sha256_final(&state, digest);
	memcpy(kcv, digest, ENVCRYPT_KCV_SIZE);
	memzero_explicit(&state, sizeof(state));
	memzero_explicit(digest, sizeof(digest));
}

/*
 * Copy the payload of logon key @desc into @key.  Returns 0 or -errno and
 * points @error at the reason.
 */
static int envcrypt_read_keyring(const char *desc, u8 *key,
				 unsigned int key_size, char **error)
{
	const struct user_key_payload *payload;
	struct key *keyring_key;
	int r = 0;

	keyring_key = request_key(&key_type_logon, desc, NULL);
	if (IS_ERR(keyring_key)) {
		r = PTR_ERR(keyring_key);
		if (r == -EKEYREVOKED || r == -EKEYEXPIRED)
			*error = "Keyring key is revoked or expired";
		else
			*error = "Keyring key not found";
		return r;
	}

	down_read(&keyring_key->sem);
	payload = user_key_payload_locked(keyring_key);
	if (!payload) {
		*error = "Keyring key is revoked or expired";
		r = -EKEYREVOKED;
	} else if (payload->datalen != key_size) {
		*error = "Keyring key payload size does not match cipher";
		r = -EINVAL;
	} else {
		memcpy(key, payload->data, key_size);
	}
	up_read(&keyring_key->sem);
	key_put(keyring_key);
	return r;
}

/*
 * XTS with two equal keys is weak (IEEE 1619-2007, 5.1): refuse it for
 * every implementation alike, as the kernel's xts does in FIPS mode.
 */
static int envcrypt_check_xts_key(u8 *key, unsigned int key_size,
				  char **error)
{
	if (crypto_memneq(key, key + key_size / 2, key_size / 2))
		return 0;
	memzero_explicit(key, key_size);
	*error = "Weak XTS key: its two halves are equal";
	return -EINVAL;
}

/*
 * Parse @key_string, "<hex>" or ":<size>:logon:<desc>", into @key.  On
 * success *@key_ref is a copy of a keyring reference, or NULL for a hex key.
 */
static int envcrypt_parse_key(struct envcrypt *ec, const char *key_string,
			      u8 *key, char **key_ref, char **error)
{
	unsigned int key_size = ec->cipher->key_size;
	unsigned int ref_size;
	const char *type, *sep, *desc;
	int n = 0;
	int r;

	*key_ref = NULL;

	if (key_string[0] != ':') {
		size_t len = strlen(key_string);

		if (len % 2) {
			*error = "Invalid hex key: odd number of digits";
			return -EINVAL;
		}
		if (len != 2 * key_size) {
			*error = "Key size does not match cipher";
			return -EINVAL;
		}
		if (hex2bin(key, key_string, key_size)) {
			*error = "Invalid hex key: not a hex digit";
			return -EINVAL;
		}
		return envcrypt_check_xts_key(key, key_size, error);
	}

	/* ":<size>:<type>:<description>" */
	if (sscanf(key_string, ":%u:%n", &ref_size, &n) != 1 || !n) {
		*error = "Invalid keyring key reference: use :<size>:logon:<description>";
		return -EINVAL;
	}
	type = key_string + n;
	sep = strchr(type, ':');
	if (!sep || !sep[1]) {
		*error = "Invalid keyring key reference: use :<size>:logon:<description>";
		return -EINVAL;
	}
	if (sep - type != strlen(ENVCRYPT_KEY_TYPE) ||
	    strncmp(type, ENVCRYPT_KEY_TYPE, sep - type)) {
		*error = "Keyring key type must be logon";
		return -EINVAL;
	}
	if (ref_size != key_size) {
		*error = "Keyring key size does not match cipher";
		return -EINVAL;
	}
	desc = sep + 1;

	r = envcrypt_read_keyring(desc, key, key_size, error);
	if (!r)
		r = envcrypt_check_xts_key(key, key_size, error);
	if (r)
		return r;

	*key_ref = kstrdup(key_string, GFP_KERNEL);
	if (!*key_ref) {
		memzero_explicit(key, key_size);
		*error = "Cannot allocate key reference";
		return -ENOMEM;
	}
	return 0;
}

static void envcrypt_wipe_key(struct envcrypt *ec);

/*
 * Make @key the data key, @key_ref (owned from now on) its keyring
 * reference.  Only with no I/O in flight.  If the cipher refuses the key,
 * the old key is gone too: the device is left without one.
 */
static int envcrypt_load_key(struct envcrypt *ec, const u8 *key,
			     char *key_ref, char **error)
{
	int r;

	if (ec->builtin_key)
		r = envcrypt_builtin_setkey(ec, key);
	else
		r = crypto_skcipher_setkey(ec->tfm, key, ec->cipher->key_size);
	if (r) {
		*error = "Cannot set cipher key";
		kfree(key_ref);
		envcrypt_wipe_key(ec);
		return r;
	}
	envcrypt_compute_kcv(key, ec->cipher->key_size, ec->kcv);
	kfree(ec->key_ref);
	ec->key_ref = key_ref;
	ec->key_valid = true;
	return 0;
}

/*
 * Forget the data key: zero the built-in key schedule, or replace the key
 * in the crypto API's context with random bytes (it has no "clear key").
 */
static void envcrypt_wipe_key(struct envcrypt *ec)
{
	u8 key[ENVCRYPT_MAX_KEY_SIZE];

	ec->key_valid = false;
	memset(ec->kcv, 0, sizeof(ec->kcv));
	if (ec->builtin_key) {
		envcrypt_builtin_wipe(ec);
		return;
	}
	get_random_bytes(key, ec->cipher->key_size);
	/* A random XTS key can only fail for equal halves: try again. */
	while (crypto_skcipher_setkey(ec->tfm, key, ec->cipher->key_size))
		get_random_bytes(key, ec->cipher->key_size);
	memzero_explicit(key, sizeof(key));
}

/* ---- sector crypto ------------------------------------------------- */

static void envcrypt_init_request(struct envcrypt *ec, struct envcrypt_io *io)
{
	struct skcipher_request *req = envcrypt_io_req(io);

	crypto_init_wait(&io->wait);
	skcipher_request_set_tfm(req, ec->tfm);
	skcipher_request_set_callback(req, CRYPTO_TFM_REQ_MAY_BACKLOG |
				      CRYPTO_TFM_REQ_MAY_SLEEP,
				      crypto_req_done, &io->wait);
}

static int envcrypt_crypt_sector(struct envcrypt *ec, struct envcrypt_io *io,
				 struct page *in, unsigned int in_offset,
				 struct page *out, unsigned int out_offset,
				 u64 iv_sector, bool encrypt)
{
	struct skcipher_request *req = envcrypt_io_req(io);
	struct scatterlist sg_in, sg_out;
	int r;

	sg_init_table(&sg_in, 1);
	sg_set_page(&sg_in, in, ec->sector_size, in_offset);
	sg_init_table(&sg_out, 1);
	sg_set_page(&sg_out, out, ec->sector_size, out_offset);

	io->iv[0] = cpu_to_le64(iv_sector >> ec->iv_shift);
	io->iv[1] = 0;
	skcipher_request_set_crypt(req, &sg_in, &sg_out, ec->sector_size,
				   (u8 *)io->iv);
	r = encrypt ? crypto_skcipher_encrypt(req) :
		      crypto_skcipher_decrypt(req);
	return crypto_wait_req(r, &io->wait);
}

/*
 * The built-in ciphers: whole sectors straight from the pages, no
 * scatterlists, one FPU section (if the implementation uses the FPU) per
 * ENVCRYPT_FPU_CHUNK bytes, and a chance to reschedule between chunks if
 * @may_sleep.  Called in process context only (see envcrypt_map_write and
 * envcrypt_read_endio), where the FPU is always usable.
 */
static blk_status_t envcrypt_crypt_bio_builtin(struct envcrypt_io *io,
					       struct bio *out, bool encrypt,
					       bool may_sleep)
{
	const struct envcrypt *ec = io->ec;
	bool fpu = envcrypt_builtin_needs_fpu(ec);
	unsigned int sector_size = ec->sector_size;
	struct bio *bio = io->bio;
	struct bvec_iter iter = bio->bi_iter;
	u64 iv_sector = io->iv_sector;
	unsigned int done = 0;
	blk_status_t status = BLK_STS_OK;

	if (fpu)
		kernel_fpu_begin();
	while (iter.bi_size) {
		struct bio_vec bv = bio_iter_iovec(bio, iter);
		u8 *src, *dst;

		if (unlikely(bv.bv_len < sector_size)) {
			status = BLK_STS_IOERR;
			break;
		}
		src = bvec_kmap_local(&bv);
		dst = src;
		if (out)
			dst = page_address(out->bi_io_vec[done >> PAGE_SHIFT].bv_page) +
			      (done & ~PAGE_MASK);
		envcrypt_builtin_crypt(ec, dst, src, iv_sector >> ec->iv_shift,
				       encrypt);
		kunmap_local(src);

		bio_advance_iter_single(bio, &iter, sector_size);
		done += sector_size;
		iv_sector += ec->sector_step;
		if (!(done % ENVCRYPT_FPU_CHUNK) && iter.bi_size) {
			if (fpu)
				kernel_fpu_end();
			if (may_sleep)
				cond_resched();
			if (fpu)
				kernel_fpu_begin();
		}
	}
	if (fpu)
		kernel_fpu_end();

	if (unlikely(status))
		DMERR_LIMIT("a %u-byte sector crosses a page of the bio buffer",
			    sector_size);
	return status;
}

/*
 * Encrypt or decrypt the data of io->bio sector by sector.  With @out NULL
 * the data is transformed in place; otherwise it goes to the pages of @out,
 * one page per PAGE_SIZE bytes.  Every crypto sector must lie within one
 * page of the bio: io_hints makes the block layer align buffers so, and a
 * bio that breaks the rule is failed rather than mis-encrypted (as
 * dm-crypt does).
 */
static blk_status_t envcrypt_crypt_bio(struct envcrypt_io *io, struct bio *out,
				       bool encrypt, bool may_sleep)
{
	struct envcrypt *ec = io->ec;
	struct bio *bio = io->bio;
	struct bvec_iter iter = bio->bi_iter;
	u64 iv_sector = io->iv_sector;
	unsigned int done = 0;

	if (ec->builtin_key)
		return envcrypt_crypt_bio_builtin(io, out, encrypt,
						  may_sleep);

	envcrypt_init_request(ec, io);
	while (iter.bi_size) {
		struct bio_vec bv = bio_iter_iovec(bio, iter);
		struct page *out_page = bv.bv_page;
		unsigned int out_offset = bv.bv_offset;
		int r;

		if (unlikely(bv.bv_len < ec->sector_size)) {
			DMERR_LIMIT("a %u-byte sector crosses a page of the bio buffer",
				    ec->sector_size);
			return BLK_STS_IOERR;
		}
		if (out) {
			out_page = out->bi_io_vec[done >> PAGE_SHIFT].bv_page;
			out_offset = done & ~PAGE_MASK;
		}
		r = envcrypt_crypt_sector(ec, io, bv.bv_page, bv.bv_offset,
					  out_page, out_offset, iv_sector,
					  encrypt);
		if (unlikely(r)) {
			DMERR_LIMIT("%s of sector %llu failed: %d",
				    encrypt ? "encryption" : "decryption",
				    iv_sector, r);
			return BLK_STS_IOERR;
		}
		bio_advance_iter_single(bio, &iter, ec->sector_size);
		done += ec->sector_size;
		iv_sector += ec->sector_step;
	}
	return BLK_STS_OK;
}

/* ---- writes -------------------------------------------------------- */

static void envcrypt_free_bounce(struct envcrypt *ec, struct bio *clone)
{
	struct bio_vec *bv;
	struct bvec_iter_all iter_all;

	bio_for_each_segment_all(bv, clone, iter_all)
		mempool_free(bv->bv_page, &ec->page_pool);
}

/*
 * A bio to @ec's device holding @size bytes of bounce pages.  Pages are
 * taken without sleeping first; if memory is short, what was taken is given
 * back and the pool is waited for under a lock, so that concurrent writers
 * never each hold part of the pool while waiting for the rest.
 */
static struct bio *envcrypt_alloc_bounce(struct envcrypt *ec, struct bio *bio,
					 unsigned int size)
{
	unsigned int nr_pages = DIV_ROUND_UP(size, PAGE_SIZE);
	gfp_t gfp = GFP_NOWAIT | __GFP_NOWARN;
	bool locked = false;
	struct bio *clone;
	unsigned int i;

retry:
	clone = bio_alloc_bioset(ec->dev->bdev, nr_pages, bio->bi_opf,
				 GFP_NOIO, &ec->bs);
	for (i = 0; i < nr_pages; i++) {
		unsigned int len = min_t(unsigned int, size - i * PAGE_SIZE,
					 PAGE_SIZE);
		struct page *page = mempool_alloc(&ec->page_pool, gfp);

		if (!page) {
			envcrypt_free_bounce(ec, clone);
			bio_put(clone);
			mutex_lock(&ec->page_alloc_lock);
			locked = true;
			gfp = GFP_NOIO;
			goto retry;
		}
		__bio_add_page(clone, page, len, 0);
	}
	if (locked)
		mutex_unlock(&ec->page_alloc_lock);
	return clone;
}

static void envcrypt_write_endio(struct bio *clone)
{
	struct envcrypt_io *io = clone->bi_private;
	struct bio *bio = io->bio;

	if (unlikely(clone->bi_status))
		bio->bi_status = clone->bi_status;
	envcrypt_free_bounce(io->ec, clone);
	bio_put(clone);
	bio_endio(bio);
}

/* Encrypt io->bio into bounce pages and send them down. */
static void envcrypt_encrypt_and_submit(struct envcrypt_io *io)
{
	struct envcrypt *ec = io->ec;
	struct bio *bio = io->bio;
	struct bio *clone;

	clone = envcrypt_alloc_bounce(ec, bio, bio->bi_iter.bi_size);
	bio->bi_status = envcrypt_crypt_bio(io, clone, true, true);
	if (unlikely(bio->bi_status)) {
		envcrypt_free_bounce(ec, clone);
		bio_put(clone);
		bio_endio(bio);
		return;
	}
	clone->bi_iter.bi_sector = io->sector;
	clone->bi_ioprio = bio->bi_ioprio;
	clone->bi_private = io;
	clone->bi_end_io = envcrypt_write_endio;
	dm_submit_bio_remap(bio, clone);
}

static void envcrypt_write_work(struct work_struct *work)
{
	envcrypt_encrypt_and_submit(container_of(work, struct envcrypt_io,
						 work));
}

/*
 * Encrypt here, in the submitter's context, when it may sleep (always, in
 * practice); otherwise in the workqueue.
 */
static int envcrypt_map_write(struct envcrypt_io *io)
{
	if (likely(preemptible())) {
		envcrypt_encrypt_and_submit(io);
	} else {
		INIT_WORK(&io->work, envcrypt_write_work);
		queue_work(io->ec->crypt_wq, &io->work);
	}
	return DM_MAPIO_SUBMITTED;
}

/* ---- reads --------------------------------------------------------- */

/*
 * @may_sleep: false in a completion, which may be inside an RCU read-side
 * section that preemptible() cannot see (PREEMPT_RCU).
 */
static void envcrypt_decrypt_and_end(struct envcrypt_io *io, bool may_sleep)
{
	struct bio *bio = io->bio;

	bio->bi_status = envcrypt_crypt_bio(io, NULL, false, may_sleep);
	bio_endio(bio);
}

static void envcrypt_decrypt_work(struct work_struct *work)
{
	envcrypt_decrypt_and_end(container_of(work, struct envcrypt_io, work),
				 true);
}

/*
 * The ciphertext has arrived.  With the built-in cipher, which never
 * sleeps, decrypt it right here when preemption is on (a synchronous lower
 * device completes in the submitter's context).  The crypto API may sleep,
 * and preemptible() cannot see an RCU read-side section (PREEMPT_RCU):
 * like interrupt completions, it goes to the workqueue.
 */
static void envcrypt_read_endio(struct bio *clone)
{
	struct envcrypt_io *io = clone->bi_private;
	struct bio *bio = io->bio;
	blk_status_t status = clone->bi_status;

	bio_put(clone);
	if (unlikely(status)) {
		bio->bi_status = status;
		bio_endio(bio);
		return;
	}
	if (io->ec->builtin_key && preemptible()) {
		envcrypt_decrypt_and_end(io, false);
		return;
	}
	INIT_WORK(&io->work, envcrypt_decrypt_work);
	queue_work(io->ec->crypt_wq, &io->work);
}

static int envcrypt_map_read(struct envcrypt_io *io)
{
	struct envcrypt *ec = io->ec;
	struct bio *bio = io->bio;
	struct bio *clone;

	clone = bio_alloc_clone(ec->dev->bdev, bio, GFP_NOIO, &ec->bs);
	clone->bi_iter.bi_sector = io->sector;
	clone->bi_private = io;
	clone->bi_end_io = envcrypt_read_endio;
	dm_submit_bio_remap(bio, clone);
	return DM_MAPIO_SUBMITTED;
}

/* ---- the target ---------------------------------------------------- */

/* The device's name, as the operator gave it to dmsetup, for messages. */
static const char *envcrypt_name(struct dm_target *ti, char name[DM_NAME_LEN])
{
	if (dm_copy_name_and_uuid(dm_table_get_md(ti->table), name, NULL))
		strscpy(name, dm_table_device_name(ti->table), DM_NAME_LEN);
	return name;
}

static int envcrypt_map(struct dm_target *ti, struct bio *bio)
{
	struct envcrypt *ec = ti->private;
	struct envcrypt_io *io;

	/* Without a key (on_key_wipe:error after "key wipe") nothing passes. */
	if (unlikely(!READ_ONCE(ec->key_valid)))
		return DM_MAPIO_KILL;

	/*
	 * Empty flushes and discards carry no data: remap them.  (dm core
	 * splits a flush with data into an empty flush and the data; should
	 * one arrive whole, it takes the write path, flag and all.)
	 */
	if (unlikely(bio_op(bio) == REQ_OP_DISCARD ||
		     (bio->bi_opf & REQ_PREFLUSH && !bio_has_data(bio)))) {
		bio_set_dev(bio, ec->dev->bdev);
		if (bio_sectors(bio))
			bio->bi_iter.bi_sector = ec->start +
				dm_target_offset(ti, bio->bi_iter.bi_sector);
		return DM_MAPIO_REMAPPED;
	}

	if (unlikely((dm_target_offset(ti, bio->bi_iter.bi_sector) |
		      bio_sectors(bio)) & (ec->sector_step - 1))) {
		DMERR_LIMIT("I/O at sector %llu, %u sectors, not aligned to sector_size %u",
			    (unsigned long long)bio->bi_iter.bi_sector,
			    bio_sectors(bio), ec->sector_size);
		return DM_MAPIO_KILL;
	}

	io = dm_per_bio_data(bio, ti->per_io_data_size);
	io->ec = ec;
	io->bio = bio;
	io->sector = ec->start + dm_target_offset(ti, bio->bi_iter.bi_sector);
	io->iv_sector = dm_target_offset(ti, bio->bi_iter.bi_sector) +
			ec->iv_offset;

	switch (bio_op(bio)) {
	case REQ_OP_READ:
		return envcrypt_map_read(io);
	case REQ_OP_WRITE:
		if (bio_sectors(bio) > ENVCRYPT_MAX_WRITE_SECTORS)
			dm_accept_partial_bio(bio, ENVCRYPT_MAX_WRITE_SECTORS);
		return envcrypt_map_write(io);
	default:
		return DM_MAPIO_KILL;
	}
}

static void envcrypt_dtr(struct dm_target *ti)
{
	struct envcrypt *ec = ti->private;

	ti->private = NULL;
	if (!ec)
		return;

	if (ec->crypt_wq)
		destroy_workqueue(ec->crypt_wq);
	bioset_exit(&ec->bs);
	mempool_exit(&ec->page_pool);
	mutex_destroy(&ec->page_alloc_lock);
	mutex_destroy(&ec->key_lock);
	if (ec->tfm)
		crypto_free_skcipher(ec->tfm);	/* wipes its key schedule */
	if (ec->builtin_key)
		envcrypt_builtin_wipe(ec);
	kfree_sensitive(ec->builtin_key);
	if (ec->dev)
		dm_put_device(ti, ec->dev);
	kfree(ec->key_ref);
	kfree_sensitive(ec);
}

/*
 * The built-in implementation where the CPU has what it needs, unless
 * crypto_api was asked for; else the kernel crypto API's best one.
 */
static int envcrypt_alloc_cipher(struct envcrypt *ec, char **error)
{
	if (!ec->crypto_api && envcrypt_builtin_usable(ec->cipher)) {
		ec->builtin_key = kzalloc(sizeof(*ec->builtin_key), GFP_KERNEL);
		if (!ec->builtin_key) {
			*error = "Cannot allocate key schedule";
			return -ENOMEM;
		}
		return 0;
	}

	ec->tfm = crypto_alloc_skcipher(ec->cipher->crypto_name, 0, 0);
	if (IS_ERR(ec->tfm)) {
		int r = PTR_ERR(ec->tfm);

		ec->tfm = NULL;
		*error = "Cannot allocate cipher: is the crypto module for it loaded?";
		return r;
	}
	return 0;
}

static const struct envcrypt_cipher *envcrypt_find_cipher(const char *name)
{
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(envcrypt_ciphers); i++)
		if (!strcmp(envcrypt_ciphers[i].name, name))
			return &envcrypt_ciphers[i];
	return NULL;
}

static int envcrypt_parse_options(struct dm_target *ti, struct envcrypt *ec,
				  struct dm_arg_set *as)
{
	static const struct dm_arg _args[] = {
		{0, 5, "Invalid number of optional arguments"},
	};
	bool seen_sector_size = false, seen_iv_large = false;
	bool seen_wipe = false;
	unsigned int opt_params;
	int r;

	r = dm_read_arg(_args, as, &opt_params, &ti->error);
	if (r)
		return r;
	if (opt_params > as->argc) {
		ti->error = "Fewer optional arguments than their count";
		return -EINVAL;
	}

	while (opt_params--) {
		const char *opt = dm_shift_arg(as);
		const char *val;
		unsigned int n;
		char dummy;
		bool *seen;

		if (!strcmp(opt, ENVCRYPT_OPT_IV_LARGE_SECTORS)) {
			seen = &seen_iv_large;
		} else if (!strcmp(opt, ENVCRYPT_OPT_ALLOW_DISCARDS)) {
			seen = &ec->allow_discards;
		} else if (!strcmp(opt, ENVCRYPT_OPT_CRYPTO_API)) {
			seen = &ec->crypto_api;
		} else if (str_has_prefix(opt, ENVCRYPT_OPT_SECTOR_SIZE)) {
			val = opt + strlen(ENVCRYPT_OPT_SECTOR_SIZE);
			if (sscanf(val, "%u%c", &n, &dummy) != 1 ||
			    (n != 512 && n != 4096)) {
				ti->error = "Invalid sector_size: use 512 or 4096";
				return -EINVAL;
			}
			if (!seen_sector_size)
				ec->sector_size = n;
			seen = &seen_sector_size;
		} else if (str_has_prefix(opt, ENVCRYPT_OPT_ON_KEY_WIPE)) {
			val = opt + strlen(ENVCRYPT_OPT_ON_KEY_WIPE);
			if (!strcmp(val, "queue")) {
				ec->wipe_mode = ENVCRYPT_WIPE_QUEUE;
			} else if (!strcmp(val, "error")) {
				ec->wipe_mode = ENVCRYPT_WIPE_ERROR;
			} else {
				ti->error = "Invalid on_key_wipe: use queue or error";
				return -EINVAL;
			}
			seen = &seen_wipe;
		} else {
			ti->error = "Unknown optional argument";
			return -EINVAL;
		}
		if (*seen) {
			ti->error = "Optional argument given twice";
			return -EINVAL;
		}
		*seen = true;
	}

	ec->sector_step = ec->sector_size >> SECTOR_SHIFT;
	if (seen_iv_large)
		ec->iv_shift = ilog2(ec->sector_step);
	return 0;
}

/*
 * Construct an encrypted mapping:
 *   <cipher> <key> <iv_offset> <device> <offset> [<#opts> <opt>...]
 *
 * cipher	aes-xts-plain64 (64-byte key) or sm4-xts-plain64 (32-byte key)
 * key		the key in hex, or :<size>:logon:<description> to read it
 *		from a logon key in the kernel keyring
 * iv_offset	added to the 512-byte sector number to form the IV
 * device	the device holding the ciphertext
 * offset	where the ciphertext starts on it, in 512-byte sectors
 * opts		sector_size:<512|4096> iv_large_sectors allow_discards
 *		on_key_wipe:<queue|error> crypto_api
 */
static int envcrypt_ctr(struct dm_target *ti, unsigned int argc, char **argv)
{
	u8 key[ENVCRYPT_MAX_KEY_SIZE];
	char *key_ref;
	struct envcrypt *ec;
	struct dm_arg_set as;
	unsigned long long n;
	const char *devname;
	char dummy;
	int r;

	if (argc < 5) {
		if (argc > 1)
			memzero_explicit(argv[1], strlen(argv[1]));
		ti->error = "Not enough arguments";
		return -EINVAL;
	}

	ec = kzalloc(sizeof(*ec), GFP_KERNEL);
	if (!ec) {
		ti->error = "Cannot allocate target context";
		return -ENOMEM;
	}
	ti->private = ec;
	mutex_init(&ec->page_alloc_lock);
	mutex_init(&ec->key_lock);
	ec->sector_size = SECTOR_SIZE;
	ec->wipe_mode = ENVCRYPT_WIPE_QUEUE;

	ec->cipher = envcrypt_find_cipher(argv[0]);
	if (!ec->cipher) {
		ti->error = "Unknown cipher: use aes-xts-plain64 or sm4-xts-plain64";
		r = -EINVAL;
		goto bad;
	}

	if (sscanf(argv[2], "%llu%c", &n, &dummy) != 1) {
		ti->error = "Invalid iv_offset";
		r = -EINVAL;
		goto bad;
	}
	ec->iv_offset = n;

	if (sscanf(argv[4], "%llu%c", &n, &dummy) != 1 || n != (sector_t)n) {
		ti->error = "Invalid device offset";
		r = -EINVAL;
		goto bad;
	}
	ec->start = n;

	as.argc = argc - 5;
	as.argv = argv + 5;
	if (as.argc) {
		r = envcrypt_parse_options(ti, ec, &as);
		if (r)
			goto bad;
		if (as.argc) {
			ti->error = "Too many arguments";
			r = -EINVAL;
			goto bad;
		}
	} else {
		ec->sector_step = 1;
	}

	if (ec->iv_offset & (ec->sector_step - 1)) {
		ti->error = "iv_offset is not a multiple of sector_size";
		r = -EINVAL;
		goto bad;
	}
	if (ec->start & (ec->sector_step - 1)) {
		ti->error = "Device offset is not a multiple of sector_size";
		r = -EINVAL;
		goto bad;
	}
	if (ti->len & (ec->sector_step - 1)) {
		ti->error = "Target length is not a multiple of sector_size";
		r = -EINVAL;
		goto bad;
	}

	r = dm_get_device(ti, argv[3], dm_table_get_mode(ti->table), &ec->dev);
	if (r) {
		ti->error = "Device lookup failed";
		goto bad;
	}
	if (ec->start + ti->len < ec->start ||
	    ec->start + ti->len > bdev_nr_sectors(ec->dev->bdev)) {
		ti->error = "Device too small for offset plus target length";
		r = -EINVAL;
		goto bad;
	}

	r = envcrypt_parse_key(ec, argv[1], key, &key_ref, &ti->error);
	/* The key string is not needed any more: do not leave it in memory. */
	memzero_explicit(argv[1], strlen(argv[1]));
	if (r)
		goto bad;

	r = envcrypt_alloc_cipher(ec, &ti->error);
	if (r) {
		kfree(key_ref);
		goto bad;
	}
	r = envcrypt_load_key(ec, key, key_ref, &ti->error);
	memzero_explicit(key, sizeof(key));
	if (r)
		goto bad;

	r = mempool_init_page_pool(&ec->page_pool, BIO_MAX_VECS, 0);
	if (r) {
		ti->error = "Cannot allocate page pool";
		goto bad;
	}
	r = bioset_init(&ec->bs, BIO_POOL_SIZE, 0, BIOSET_NEED_BVECS);
	if (r) {
		ti->error = "Cannot allocate bio set";
		goto bad;
	}
	devname = dm_table_device_name(ti->table);
	ec->crypt_wq = alloc_workqueue("kenvcryptd/%s",
				       WQ_MEM_RECLAIM | WQ_CPU_INTENSIVE, 0,
				       devname);
	if (!ec->crypt_wq) {
		ti->error = "Cannot allocate workqueue";
		r = -ENOMEM;
		goto bad;
	}

	ti->per_io_data_size = ec->tfm ? envcrypt_io_size(ec->tfm) :
		ALIGN(sizeof(struct envcrypt_io), CRYPTO_MINALIGN);
	ti->accounts_remapped_io = true;
	ti->num_flush_bios = 1;
	if (ec->allow_discards)
		ti->num_discard_bios = 1;
	return 0;

bad:
	memzero_explicit(argv[1], strlen(argv[1]));
	memzero_explicit(key, sizeof(key));
	envcrypt_dtr(ti);
	return r;
}

static void envcrypt_status(struct dm_target *ti, status_type_t type,
			    unsigned int status_flags, char *result,
			    unsigned int maxlen)
{
	struct envcrypt *ec = ti->private;
	unsigned int sz = 0;
	unsigned int nr_opts;

	switch (type) {
	case STATUSTYPE_INFO:
		mutex_lock(&ec->key_lock);
		DMEMIT("cipher:%s sector_size:%u driver:", ec->cipher->name,
		       ec->sector_size);
		if (ec->builtin_key)
			DMEMIT("envcrypt-xts-%s-%s", ec->cipher->block_name,
			       envcrypt_builtin_impl(ec));
		else
			DMEMIT("%s", crypto_skcipher_driver_name(ec->tfm));
		DMEMIT(" key:%s kcv:", ec->key_valid ? "loaded" : "none");
		if (ec->key_valid)
			DMEMIT("%*phN", ENVCRYPT_KCV_SIZE, ec->kcv);
		else
			DMEMIT("-");
		mutex_unlock(&ec->key_lock);
		break;

	case STATUSTYPE_TABLE:
		/* Never the key itself: its keyring reference, or "-". */
		mutex_lock(&ec->key_lock);
		DMEMIT("%s %s %llu %s %llu", ec->cipher->name,
		       ec->key_ref ?: "-", ec->iv_offset, ec->dev->name,
		       (unsigned long long)ec->start);
		mutex_unlock(&ec->key_lock);
		nr_opts = (ec->sector_size != SECTOR_SIZE) + !!ec->iv_shift +
			  ec->allow_discards + ec->crypto_api +
			  (ec->wipe_mode != ENVCRYPT_WIPE_QUEUE);
		if (!nr_opts)
			break;
		DMEMIT(" %u", nr_opts);
		if (ec->sector_size != SECTOR_SIZE)
			DMEMIT(" %s%u", ENVCRYPT_OPT_SECTOR_SIZE,
			       ec->sector_size);
		if (ec->iv_shift)
			DMEMIT(" %s", ENVCRYPT_OPT_IV_LARGE_SECTORS);
		if (ec->allow_discards)
			DMEMIT(" %s", ENVCRYPT_OPT_ALLOW_DISCARDS);
		if (ec->wipe_mode != ENVCRYPT_WIPE_QUEUE)
			DMEMIT(" %serror", ENVCRYPT_OPT_ON_KEY_WIPE);
		if (ec->crypto_api)
			DMEMIT(" %s", ENVCRYPT_OPT_CRYPTO_API);
		break;

	case STATUSTYPE_IMA:
		DMEMIT_TARGET_NAME_VERSION(ti->type);
		DMEMIT(",cipher=%s,sector_size=%u,key_loaded=%c;",
		       ec->cipher->name, ec->sector_size,
		       ec->key_valid ? 'y' : 'n');
		break;
	}
}

static void envcrypt_postsuspend(struct dm_target *ti)
{
	struct envcrypt *ec = ti->private;

	mutex_lock(&ec->key_lock);
	ec->suspended = true;
	mutex_unlock(&ec->key_lock);
}

/*
 * Messages change the key only while "suspended" holds, under key_lock;
 * the key is checked and "suspended" cleared under the same lock, so no
 * key change can slip in between this check and the resume.
 */
static int envcrypt_preresume(struct dm_target *ti)
{
	struct envcrypt *ec = ti->private;
	char name[DM_NAME_LEN];
	int r = 0;

	mutex_lock(&ec->key_lock);
	if (!ec->key_valid && ec->wipe_mode == ENVCRYPT_WIPE_QUEUE) {
		DMERR("%s: no key loaded: send \"key set\" before resuming (I/O stays queued)",
		      envcrypt_name(ti, name));
		r = -ENOKEY;
	} else {
		ec->suspended = false;
	}
	mutex_unlock(&ec->key_lock);
	return r;
}

/*
 * Messages, accepted only while the device is suspended:
 *   "key wipe"		forget the data key
 *   "key set <key>"	load a data key, hex or :<size>:logon:<description>
 */
static int envcrypt_key_message(struct envcrypt *ec, const char *devname,
				unsigned int argc, char **argv)
{
	bool wipe = argc == 2 && !strcasecmp(argv[1], "wipe");
	bool set = argc == 3 && !strcasecmp(argv[1], "set");
	u8 key[ENVCRYPT_MAX_KEY_SIZE];
	char *error = NULL;
	char *key_ref;
	int r;

	if (argc < 2 || strcasecmp(argv[0], "key") || (!wipe && !set)) {
		DMWARN("%s: unknown message: use \"key set <key>\" or \"key wipe\"",
		       devname);
		return -EINVAL;
	}

	mutex_lock(&ec->key_lock);
	if (!ec->suspended) {
		DMWARN("%s: \"key %s\" refused: the device is not suspended; suspend it first",
		       devname, wipe ? "wipe" : "set");
		r = -EBUSY;
	} else if (wipe) {
		envcrypt_wipe_key(ec);
		DMINFO("%s: key wiped", devname);
		r = 0;
	} else {
		r = envcrypt_parse_key(ec, argv[2], key, &key_ref, &error);
		if (!r)
			r = envcrypt_load_key(ec, key, key_ref, &error);
		memzero_explicit(key, sizeof(key));
		if (r)
			DMWARN("%s: key set refused: %s%s", devname, error,
			       ec->key_valid ? "" : "; the device has no key now");
		else
			DMINFO("%s: key set", devname);
	}
	mutex_unlock(&ec->key_lock);
	return r;
}

static int envcrypt_message(struct dm_target *ti, unsigned int argc,
			    char **argv, char *result, unsigned int maxlen)
{
	char name[DM_NAME_LEN];
	unsigned int i;
	int r;

	r = envcrypt_key_message(ti->private, envcrypt_name(ti, name), argc,
				 argv);
	/* Whatever the outcome, no key bytes stay in the ioctl buffer. */
	for (i = 1; i < argc; i++)
		memzero_explicit(argv[i], strlen(argv[i]));
	return r;
}

static int envcrypt_iterate_devices(struct dm_target *ti,
				    iterate_devices_callout_fn fn, void *data)
{
	struct envcrypt *ec = ti->private;

	return fn(ti, ec->dev, ec->start, ti->len, data);
}

static void envcrypt_io_hints(struct dm_target *ti, struct queue_limits *limits)
{
	struct envcrypt *ec = ti->private;

	/* Bounce pages for writes are single pages: one segment each. */
	limits->max_segment_size = PAGE_SIZE;
	limits->logical_block_size = max_t(unsigned int,
					   limits->logical_block_size,
					   ec->sector_size);
	limits->physical_block_size = max_t(unsigned int,
					    limits->physical_block_size,
					    ec->sector_size);
	limits->io_min = max_t(unsigned int, limits->io_min, ec->sector_size);
	limits->dma_alignment = limits->logical_block_size - 1;
}

static struct target_type envcrypt_target = {
	.name		 = ENVCRYPT_TARGET_NAME,
	.version	 = {1, 0, 0},
	.features	 = 0,
	.module		 = THIS_MODULE,
	.ctr		 = envcrypt_ctr,
	.dtr		 = envcrypt_dtr,
	.map		 = envcrypt_map,
	.status		 = envcrypt_status,
	.postsuspend	 = envcrypt_postsuspend,
	.preresume	 = envcrypt_preresume,
	.message	 = envcrypt_message,
	.iterate_devices = envcrypt_iterate_devices,
	.io_hints	 = envcrypt_io_hints,
};

static int __init dm_envcrypt_init(void)
{
	int r;

	envcrypt_aes_impl = envcrypt_aes_xts_probe();
	envcrypt_sm4_impl = envcrypt_sm4_xts_probe();
	if (portable) {
		envcrypt_aes_impl = ENVCRYPT_XTS_NONE;
		envcrypt_sm4_impl = ENVCRYPT_SM4_XTS_GENERIC;
		envcrypt_sm4_xts_select(ENVCRYPT_SM4_XTS_GENERIC);
	}
	DMINFO("built-in AES-XTS: %s, SM4-XTS: %s",
	       envcrypt_aes_xts_impl_name(envcrypt_aes_impl),
	       envcrypt_sm4_xts_impl_name(envcrypt_sm4_impl));

	r = dm_register_target(&envcrypt_target);
	if (r)
		return r;
	envcrypt_sm4_register(envcrypt_sm4_impl ==
			      ENVCRYPT_SM4_XTS_AESNI_AVX2);
	return 0;
}

static void __exit dm_envcrypt_exit(void)
{
	dm_unregister_target(&envcrypt_target);
	envcrypt_sm4_unregister();
}

module_init(dm_envcrypt_init);
module_exit(dm_envcrypt_exit);

MODULE_DESCRIPTION(DM_NAME " target for envelope-encrypted volumes");
MODULE_AUTHOR("dm-envcrypt developers");
MODULE_LICENSE("GPL");
