// SPDX-License-Identifier: GPL-2.0
/*
 * "verify-at-rest DEVICE": the evidence that the data on DEVICE is
 * ciphertext (verify.h), and each wrap slot's CMK state.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "blockdev.h"
#include "cli.h"
#include "error.h"
#include "json.h"
#include "kms.h"
#include "verify.h"

#define OFFSETS_SHOWN	8

struct slot_state {
	bool active;
	char state[EC_ERR_MAX];		/* "Enabled", or why not known */
	bool known;
};

struct verify {
	const char *device;
	uint64_t size;
	bool have_header;
	char no_header[EC_ERR_MAX];	/* why not, when !have_header */
	struct ec_header hdr;
	struct ec_verify_stats st;
	struct ec_verify_plain plain[CLI_MULTI_MAX];
	unsigned int nplain;
	struct slot_state slots[EC_HDR_SLOTS];
};

/* Each wrap slot's CMK state; a KMS that cannot answer is reported. */
static void slot_states(struct verify *v)
{
	struct ec_key_info info;
	struct ec_kms *kms;
	int i, r;

	for (i = 0; v->have_header && i < EC_HDR_SLOTS; i++) {
		const struct ec_wrap_slot *s = &v->hdr.slots[i];
		struct slot_state *ss = &v->slots[i];

		if (!s->active)
			continue;
		ss->active = true;
		ec_err_clear();
		r = ec_kms_open(s->kms_uri, &kms);
		if (!r) {
			r = ec_kms_describe_key(kms, s->cmk_id, &info);
			ec_kms_close(kms);
		}
		if (!r) {
			ss->known = true;
			snprintf(ss->state, sizeof(ss->state), "%s",
				 ec_key_state_name(info.state));
		} else {
			snprintf(ss->state, sizeof(ss->state), "%s: %s",
				 ec_exit_code(r) == EC_EXIT_KMS_UNREACHABLE ?
				 "unreachable" : "unknown",
				 ec_err_msg()[0] ? ec_err_msg() : strerror(-r));
		}
	}
	ec_err_clear();
}

static void print_text(const struct verify *v)
{
	const struct ec_verify_stats *st = &v->st;
	char uuid[37];
	unsigned int i;
	uint64_t k;

	printf("device:       %s (%" PRIu64 " bytes)\n", v->device, v->size);
	if (v->have_header) {
		ec_uuid_format(v->hdr.uuid, uuid);
		printf("volume:       %s, %s, sector size %u\n", uuid,
		       v->hdr.cipher, v->hdr.sector_size);
	} else {
		printf("volume:       none: %s; the whole device is checked in 512-byte sectors\n",
		       v->no_header);
	}
	printf("data area:    bytes %" PRIu64 " to %" PRIu64 ": %" PRIu64 " sectors of %u bytes\n",
	       st->start, st->start + st->sectors * st->sector_size,
	       st->sectors, st->sector_size);
	printf("sampled:      %" PRIu64 " sectors (%" PRIu64 " evenly spaced, %" PRIu64 " random)\n",
	       st->sampled, st->spaced, st->random_picks);
	printf("unwritten:    %" PRIu64 " (%.1f%%): all zeros, never written (unwritten is not plaintext)\n",
	       st->zero, st->sampled ? 100.0 * st->zero / st->sampled : 0.0);
	printf("written:      %" PRIu64 "\n", st->written);
	if (st->written) {
		printf("entropy:      %.4f bits/byte (random data: %.4f)\n",
		       st->entropy, st->entropy_random);
		printf("chi-square:   %.1f, 255 degrees of freedom, p = %.4g (random data: %g < p < 1 - %g)\n",
		       st->chi2, st->p, EC_VERIFY_P_BAND, EC_VERIFY_P_BAND);
	}
	printf("non-random:   %" PRIu64 " sector%s", st->nonrandom,
	       st->nonrandom == 1 ? "" : "s");
	for (k = 0; k < st->nonrandom && k < EC_VERIFY_OFFSETS_MAX; k++)
		printf("%s%" PRIu64, k ? ", " : " at bytes ",
		       st->nonrandom_off[k]);
	if (st->nonrandom > EC_VERIFY_OFFSETS_MAX)
		printf(", ...");
	printf("\n");
	for (i = 0; i < v->nplain; i++) {
		const struct ec_verify_plain *p = &v->plain[i];

		printf("plaintext:    %s (%" PRIu64 " bytes): ", p->path,
		       p->size);
		if (!p->found) {
			printf("not found (runs of %" PRIu64 " bytes or more, at any alignment, whole device)\n",
			       p->min_run);
			continue;
		}
		printf("FOUND %" PRIu64 " time%s:", p->found,
		       p->found == 1 ? "" : "s");
		for (k = 0; k < p->found && k < EC_VERIFY_OFFSETS_MAX; k++)
			printf("%s byte %" PRIu64 " (%" PRIu64 " bytes, file offset %" PRIu64 ")",
			       k ? "," : "", p->match[k].dev_off,
			       p->match[k].len, p->match[k].file_off);
		if (p->found > EC_VERIFY_OFFSETS_MAX)
			printf(", ...");
		printf("\n");
	}
	for (i = 0; i < EC_HDR_SLOTS; i++) {
		const struct ec_wrap_slot *s = &v->hdr.slots[i];

		if (!v->slots[i].active)
			continue;
		printf("wrap slot %u:  CMK %s%s%s%s in %s: %s\n", i, s->cmk_id,
		       s->cmk_alias[0] ? " (" : "", s->cmk_alias,
		       s->cmk_alias[0] ? ")" : "", s->kms_uri,
		       v->slots[i].state);
	}
}

static void print_json(const struct verify *v, const char *verdict)
{
	const struct ec_verify_stats *st = &v->st;
	struct json j;
	char uuid[37];
	unsigned int i;
	uint64_t k;

	json_init(&j, stdout);
	json_object_begin(&j, NULL);
	json_string(&j, "device", v->device);
	json_int(&j, "size", v->size);
	json_bool(&j, "header", v->have_header);
	if (v->have_header) {
		ec_uuid_format(v->hdr.uuid, uuid);
		json_string(&j, "volume_uuid", uuid);
		json_string(&j, "cipher", v->hdr.cipher);
	} else {
		json_string(&j, "no_header", v->no_header);
	}
	json_int(&j, "sector_size", st->sector_size);
	json_int(&j, "data_start", st->start);
	json_int(&j, "data_sectors", st->sectors);
	json_int(&j, "sampled", st->sampled);
	json_int(&j, "evenly_spaced", st->spaced);
	json_int(&j, "random_picks", st->random_picks);
	json_int(&j, "unwritten", st->zero);
	json_int(&j, "written", st->written);
	json_double(&j, "entropy", st->entropy, 4);
	json_double(&j, "entropy_random", st->entropy_random, 4);
	json_double(&j, "chi_square", st->chi2, 1);
	json_double(&j, "p_value", st->written ? st->p : 1.0, -4);
	json_bool(&j, "aggregate_random", st->aggregate_random);
	json_int(&j, "nonrandom", st->nonrandom);
	json_array_begin(&j, "nonrandom_offsets");
	for (k = 0; k < st->nonrandom && k < EC_VERIFY_OFFSETS_MAX; k++)
		json_int(&j, NULL, st->nonrandom_off[k]);
	json_array_end(&j);
	json_array_begin(&j, "plaintext");
	for (i = 0; i < v->nplain; i++) {
		const struct ec_verify_plain *p = &v->plain[i];

		json_object_begin(&j, NULL);
		json_string(&j, "file", p->path);
		json_int(&j, "size", p->size);
		json_int(&j, "min_run", p->min_run);
		json_int(&j, "found", p->found);
		json_array_begin(&j, "matches");
		for (k = 0; k < p->found && k < EC_VERIFY_OFFSETS_MAX; k++) {
			json_object_begin(&j, NULL);
			json_int(&j, "offset", p->match[k].dev_off);
			json_int(&j, "length", p->match[k].len);
			json_int(&j, "file_offset", p->match[k].file_off);
			json_object_end(&j);
		}
		json_array_end(&j);
		json_object_end(&j);
	}
	json_array_end(&j);
	json_array_begin(&j, "wrap_slots");
	for (i = 0; i < EC_HDR_SLOTS; i++) {
		const struct ec_wrap_slot *s = &v->hdr.slots[i];

		if (!v->slots[i].active)
			continue;
		json_object_begin(&j, NULL);
		json_int(&j, "slot", i);
		json_string(&j, "kms", s->kms_uri);
		json_string(&j, "cmk_id", s->cmk_id);
		json_string(&j, "cmk_alias", s->cmk_alias);
		json_string(&j, v->slots[i].known ? "cmk_state" : "error",
			    v->slots[i].state);
		json_object_end(&j);
	}
	json_array_end(&j);
	json_string(&j, "verdict", verdict);
	json_object_end(&j);
}

/* "at bytes A, B, ... (and N more)" of what was found; the exit 2. */
static int refuse(const struct verify *v)
{
	const struct ec_verify_stats *st = &v->st;
	char msg[EC_ERR_MAX];
	size_t len = 0;
	unsigned int i;
	uint64_t k;

#define ADD(...)							\
	do {								\
		if (len < sizeof(msg))					\
			len += snprintf(msg + len, sizeof(msg) - len,	\
					__VA_ARGS__);			\
	} while (0)

	ADD("%s: not encrypted at rest:", v->device);
	for (i = 0; i < v->nplain; i++) {
		const struct ec_verify_plain *p = &v->plain[i];

		if (!p->found)
			continue;
		ADD(" %s is on the raw device at byte offset%s", p->path,
		    p->found == 1 ? "" : "s");
		for (k = 0; k < p->found && k < OFFSETS_SHOWN; k++)
			ADD("%s %" PRIu64, k ? "," : "", p->match[k].dev_off);
		if (p->found > OFFSETS_SHOWN)
			ADD(" and %" PRIu64 " more places", p->found - OFFSETS_SHOWN);
		ADD(";");
	}
	if (st->nonrandom) {
		ADD(" %" PRIu64 " of %" PRIu64 " written sectors sampled are not random (plaintext or low-entropy data), at byte offset%s",
		    st->nonrandom, st->written, st->nonrandom == 1 ? "" : "s");
		for (k = 0; k < st->nonrandom && k < OFFSETS_SHOWN; k++)
			ADD("%s %" PRIu64, k ? "," : "", st->nonrandom_off[k]);
		if (st->nonrandom > OFFSETS_SHOWN)
			ADD(" and %" PRIu64 " more", st->nonrandom - OFFSETS_SHOWN);
		ADD(";");
	} else if (!st->aggregate_random) {
		ADD(" the written sectors together are not random (chi-square %.1f, p = %.3g);",
		    st->chi2, st->p);
	}
	if (v->have_header)
		ADD(" what the volume writes is ciphertext: this was written around it, or was on the device before format (overwrite the volume through /dev/mapper, e.g. with zeros, to replace it)");
	else
		ADD(" the device has no envcrypt header (%.400s)", v->no_header);
#undef ADD
	return ec_err_set(-EILSEQ, "%s", msg);
}

int cmd_verify_at_rest(const struct cli_opts *o, int argc, char **argv)
{
	struct ec_blockdev dev = { .fd = -1 };
	unsigned int samples = o->samples ? o->samples :
					    EC_VERIFY_SAMPLES_DEFAULT;
	const char *verdict;
	struct verify *v;
	uint64_t start;
	uint32_t ss;
	unsigned int i;
	bool plain_found = false;
	int r;

	(void)argc;
	if (o->samples > EC_VERIFY_SAMPLES_MAX)
		return ec_err_set(-EINVAL, "verify-at-rest: --samples must be 1 to %u",
				  EC_VERIFY_SAMPLES_MAX);
	v = calloc(1, sizeof(*v));
	if (!v)
		return ec_err_set(-ENOMEM, "out of memory");
	v->device = argv[0];
	r = ec_blockdev_open(argv[0], false, false, &dev);
	if (r)
		goto out;
	v->size = dev.size;
	r = ec_header_read(dev.fd, &v->hdr, NULL);
	if (!r) {
		v->have_header = true;
		start = v->hdr.data_offset;
		ss = v->hdr.sector_size;
	} else if (r == -ENODATA || r == -EUCLEAN) {
		snprintf(v->no_header, sizeof(v->no_header), "%s",
			 r == -ENODATA ? "not an envcrypt volume (no header)" :
					 ec_err_msg());
		memset(&v->hdr, 0, sizeof(v->hdr));
		start = 0;
		ss = 512;
	} else {
		ec_err_prefix(r, "%s", argv[0]);
		goto out;
	}
	ec_err_clear();
	if (start > v->size)
		start = v->size;
	r = ec_verify_sample(dev.fd, argv[0], start, (v->size - start) / ss,
			     ss, samples, &v->st);
	if (r)
		goto out;
	for (i = 0; i < o->n_plaintext; i++) {
		v->plain[i].path = o->plaintext[i];
		r = ec_verify_plaintext(dev.fd, argv[0], v->size, &v->plain[i]);
		if (r)
			goto out;
		v->nplain++;
		plain_found |= v->plain[i].found > 0;
	}
	slot_states(v);

	if (plain_found || v->st.nonrandom || !v->st.aggregate_random)
		verdict = "not encrypted";
	else if (!v->have_header)
		verdict = "no envcrypt header";
	else if (!v->st.written)
		verdict = "encrypted (nothing written yet: every sampled sector is unwritten)";
	else
		verdict = "encrypted";
	if (o->json) {
		print_json(v, verdict);
	} else {
		print_text(v);
		printf("verdict:      %s\n", verdict);
	}
	if (plain_found || v->st.nonrandom || !v->st.aggregate_random)
		r = refuse(v);
	else if (!v->have_header)
		r = ec_err_set(-ENODATA, "%s: %s; no sampled sector looks like plaintext, but nothing shows that this device is encrypted",
			       argv[0], v->no_header);
out:
	ec_blockdev_close(&dev);
	free(v);
	return r;
}
