// SPDX-License-Identifier: GPL-2.0
/*
 * The JSON reader: validate a text and index its values (json-read.h).
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "json-read.h"

/* Where the open container stands: before its first item, after one. */
enum slot_state {
	FIRST,
	AFTER_ITEM,
	AFTER_COMMA,
};

struct parser {
	const char *s;
	size_t len, pos;
	struct ec_json *doc;
	int stack[EC_JSON_DEPTH_MAX];		/* open containers */
	int last[EC_JSON_DEPTH_MAX];		/* their last child, or -1 */
	int depth;
};

/* ---- messages ---------------------------------------------------------- */

static int bad(const struct parser *p, size_t at, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int bad(const struct parser *p, size_t at, const char *fmt, ...)
{
	char what[160];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	(void)p;
	return ec_err_set(-EPROTO, "JSON byte %zu: %s", at, what);
}

static int truncated(const struct parser *p, const char *inside)
{
	return bad(p, p->pos, "the text ends inside %s (truncated)", inside);
}

/* A character for a message: 'c' or 0xNN. */
static const char *show_char(unsigned char c, char buf[8])
{
	if (c > 0x20 && c < 0x7f)
		snprintf(buf, 8, "'%c'", c);
	else
		snprintf(buf, 8, "0x%02x", c);
	return buf;
}

/* ---- nodes -------------------------------------------------------------- */

static int add_node(struct parser *p, enum ec_json_type type, size_t start,
		    size_t key_start, size_t key_len, bool key_escaped)
{
	struct ec_json *doc = p->doc;
	struct ec_json_node *node, *nodes;
	int parent, idx;
	size_t cap;

	if (doc->n == EC_JSON_NODES_MAX)
		return bad(p, start, "more than %d values", EC_JSON_NODES_MAX);
	if (doc->n == doc->cap) {
		cap = doc->cap ? doc->cap * 2 : 32;
		nodes = realloc(doc->nodes, cap * sizeof(*nodes));
		if (!nodes)
			return ec_err_set(-ENOMEM, "out of memory");
		doc->nodes = nodes;
		doc->cap = cap;
	}
	idx = (int)doc->n++;
	node = &doc->nodes[idx];
	memset(node, 0, sizeof(*node));
	node->type = type;
	node->start = (uint32_t)start;
	node->key_start = (uint32_t)key_start;
	node->key_len = (uint32_t)key_len;
	node->key_escaped = key_escaped;
	node->child = -1;
	node->next = -1;
	if (p->depth) {
		parent = p->stack[p->depth - 1];
		if (p->last[p->depth - 1] >= 0)
			doc->nodes[p->last[p->depth - 1]].next = idx;
		else
			doc->nodes[parent].child = idx;
		p->last[p->depth - 1] = idx;
		doc->nodes[parent].count++;
	}
	return idx;
}

/* ---- strings ------------------------------------------------------------ */

static int hex4(const char *s)
{
	int i, v = 0;

	for (i = 0; i < 4; i++) {
		char c = s[i];

		v <<= 4;
		if (c >= '0' && c <= '9')
			v |= c - '0';
		else if (c >= 'a' && c <= 'f')
			v |= c - 'a' + 10;
		else if (c >= 'A' && c <= 'F')
			v |= c - 'A' + 10;
		else
			return -1;
	}
	return v;
}

/*
 * The length of the UTF-8 sequence at @s (@avail bytes there): 2..4, 0 if
 * it is invalid, -1 if it is cut short by the end of the text.
 */
static int utf8_seq(const unsigned char *s, size_t avail)
{
	unsigned char lo = 0x80, hi = 0xbf;
	int n, i;

	if (s[0] >= 0xc2 && s[0] <= 0xdf) {
		n = 2;
	} else if (s[0] >= 0xe0 && s[0] <= 0xef) {
		n = 3;
		if (s[0] == 0xe0)
			lo = 0xa0;		/* overlong */
		else if (s[0] == 0xed)
			hi = 0x9f;		/* surrogates */
	} else if (s[0] >= 0xf0 && s[0] <= 0xf4) {
		n = 4;
		if (s[0] == 0xf0)
			lo = 0x90;		/* overlong */
		else if (s[0] == 0xf4)
			hi = 0x8f;		/* above U+10FFFF */
	} else {
		return 0;
	}
	for (i = 1; i < n; i++) {
		if ((size_t)i >= avail)
			return -1;
		if (s[i] < lo || s[i] > hi)
			return 0;
		lo = 0x80;
		hi = 0xbf;
	}
	return n;
}

/* Is the text from p->pos a \uXXXX escape cut short by its end? */
static bool cut_escape(const struct parser *p)
{
	size_t i, avail = p->len - p->pos;

	if (avail >= 6)
		return false;
	for (i = 0; i < avail; i++) {
		char c = p->s[p->pos + i];

		if ((i == 0 && c != '\\') || (i == 1 && c != 'u') ||
		    (i > 1 && !((c >= '0' && c <= '9') ||
				(c >= 'a' && c <= 'f') ||
				(c >= 'A' && c <= 'F'))))
			return false;
	}
	return true;
}

/*
 * A string at p->pos (the opening quote): check it and move past it.
 * @start, @len: its text between the quotes; @escaped: has a backslash.
 */
static int parse_string(struct parser *p, const char *what, size_t *start,
			size_t *len, bool *escaped)
{
	const unsigned char *s = (const unsigned char *)p->s;
	size_t at;
	int cp, lo, n;

	*escaped = false;
	*start = ++p->pos;
	for (;;) {
		if (p->pos >= p->len)
			return truncated(p, what);
		at = p->pos;
		if (s[at] == '"')
			break;
		if (s[at] < 0x20)
			return bad(p, at, "control character 0x%02x in %s",
				   s[at], what);
		if (s[at] >= 0x80) {
			n = utf8_seq(s + at, p->len - at);
			if (n < 0) {
				p->pos = p->len;
				return truncated(p, what);
			}
			if (!n)
				return bad(p, at, "invalid UTF-8 in %s", what);
			p->pos += n;
			continue;
		}
		if (s[at] != '\\') {
			p->pos++;
			continue;
		}
		*escaped = true;
		if (at + 1 >= p->len) {
			p->pos = p->len;
			return truncated(p, what);
		}
		switch (s[at + 1]) {
		case '"': case '\\': case '/': case 'b': case 'f': case 'n':
		case 'r': case 't':
			p->pos += 2;
			continue;
		case 'u':
			break;
		default:
			if (s[at + 1] > 0x20 && s[at + 1] < 0x7f)
				return bad(p, at, "bad escape '\\%c' in %s",
					   s[at + 1], what);
			return bad(p, at, "bad escape: 0x%02x after '\\' in %s",
				   s[at + 1], what);
		}
		if (at + 6 > p->len) {
			p->pos = p->len;
			return truncated(p, what);
		}
		cp = hex4(p->s + at + 2);
		if (cp < 0)
			return bad(p, at, "bad \\u escape in %s: four hex digits must follow \\u",
				   what);
		if (cp == 0)
			return bad(p, at, "\\u0000 in %s: strings may not hold NUL",
				   what);
		if (cp >= 0xdc00 && cp <= 0xdfff)
			return bad(p, at, "unpaired surrogate \\u%04x in %s",
				   cp, what);
		p->pos += 6;
		if (cp < 0xd800 || cp > 0xdbff)
			continue;
		/* a high surrogate: a low one must follow */
		if (cut_escape(p)) {
			p->pos = p->len;
			return truncated(p, what);
		}
		if (p->pos + 6 > p->len || s[p->pos] != '\\' ||
		    s[p->pos + 1] != 'u')
			return bad(p, at, "unpaired surrogate \\u%04x in %s",
				   cp, what);
		lo = hex4(p->s + p->pos + 2);
		if (lo < 0xdc00 || lo > 0xdfff)
			return bad(p, at, "unpaired surrogate \\u%04x in %s",
				   cp, what);
		p->pos += 6;
	}
	*len = p->pos - *start;
	p->pos++;			/* the closing quote */
	return 0;
}

/*
 * The next code point of a checked string's text @s[*i..len), moving *i
 * past it.
 */
static uint32_t next_code_point(const char *text, size_t len, size_t *i)
{
	const unsigned char *s = (const unsigned char *)text;
	uint32_t cp, lo;
	int n;

	if (s[*i] == '\\') {
		switch (s[*i + 1]) {
		case 'b':
			*i += 2;
			return '\b';
		case 'f':
			*i += 2;
			return '\f';
		case 'n':
			*i += 2;
			return '\n';
		case 'r':
			*i += 2;
			return '\r';
		case 't':
			*i += 2;
			return '\t';
		case 'u':
			cp = (uint32_t)hex4(text + *i + 2);
			*i += 6;
			if (cp >= 0xd800 && cp <= 0xdbff && *i + 6 <= len) {
				lo = (uint32_t)hex4(text + *i + 2);
				*i += 6;
				cp = 0x10000 + ((cp - 0xd800) << 10) +
				     (lo - 0xdc00);
			}
			return cp;
		default:			/* " \ / */
			*i += 2;
			return s[*i - 1];
		}
	}
	if (s[*i] < 0x80)
		return s[(*i)++];
	if (s[*i] < 0xe0) {
		n = 2;
		cp = s[*i] & 0x1f;
	} else if (s[*i] < 0xf0) {
		n = 3;
		cp = s[*i] & 0x0f;
	} else {
		n = 4;
		cp = s[*i] & 0x07;
	}
	while (--n) {
		(*i)++;
		cp = cp << 6 | (s[*i] & 0x3f);
	}
	(*i)++;
	return cp;
}

static size_t utf8_len(uint32_t cp)
{
	return cp < 0x80 ? 1 : cp < 0x800 ? 2 : cp < 0x10000 ? 3 : 4;
}

static size_t put_utf8(uint32_t cp, char out[4])
{
	if (cp < 0x80) {
		out[0] = (char)cp;
		return 1;
	}
	if (cp < 0x800) {
		out[0] = (char)(0xc0 | cp >> 6);
		out[1] = (char)(0x80 | (cp & 0x3f));
		return 2;
	}
	if (cp < 0x10000) {
		out[0] = (char)(0xe0 | cp >> 12);
		out[1] = (char)(0x80 | (cp >> 6 & 0x3f));
		out[2] = (char)(0x80 | (cp & 0x3f));
		return 3;
	}
	out[0] = (char)(0xf0 | cp >> 18);
	out[1] = (char)(0x80 | (cp >> 12 & 0x3f));
	out[2] = (char)(0x80 | (cp >> 6 & 0x3f));
	out[3] = (char)(0x80 | (cp & 0x3f));
	return 4;
}

/* Do two checked string texts decode to the same string? */
static bool same_string(const char *text, size_t a, size_t a_len,
			bool a_esc, size_t b, size_t b_len, bool b_esc)
{
	size_t i = a, j = b;

	if (!a_esc && !b_esc)
		return a_len == b_len && !memcmp(text + a, text + b, a_len);
	while (i < a + a_len && j < b + b_len)
		if (next_code_point(text, a + a_len, &i) !=
		    next_code_point(text, b + b_len, &j))
			return false;
	return i == a + a_len && j == b + b_len;
}

/* Does the text of a string equal the C string @s? */
static bool string_is(const char *text, size_t start, size_t len,
		      bool escaped, const char *s)
{
	size_t i = start, n = strlen(s), k = 0, m;
	char buf[4];

	if (!escaped)
		return len == n && !memcmp(text + start, s, n);
	while (i < start + len) {
		m = put_utf8(next_code_point(text, start + len, &i), buf);
		if (k + m > n || memcmp(s + k, buf, m))
			return false;
		k += m;
	}
	return k == n;
}

/* The key of a new member of the open object: refuse a duplicate. */
static int check_duplicate(struct parser *p, size_t start, size_t len,
			   bool escaped)
{
	const struct ec_json *doc = p->doc;
	int obj = p->stack[p->depth - 1], i;
	char key[48];
	size_t k;

	if (doc->nodes[obj].count >= EC_JSON_MEMBERS_MAX)
		return bad(p, start - 1, "more than %d members in an object",
			   EC_JSON_MEMBERS_MAX);
	for (i = doc->nodes[obj].child; i >= 0; i = doc->nodes[i].next) {
		const struct ec_json_node *m = &doc->nodes[i];

		if (!same_string(p->s, m->key_start, m->key_len,
				 m->key_escaped, start, len, escaped))
			continue;
		for (k = 0; k < len && k < 40; k++) {
			unsigned char c = (unsigned char)p->s[start + k];

			key[k] = c >= 0x20 && c < 0x7f ? (char)c : '?';
		}
		key[k] = '\0';
		return bad(p, start - 1, "duplicate key \"%s%s\"", key,
			   len > 40 ? "..." : "");
	}
	return 0;
}

/* ---- numbers and literals ---------------------------------------------- */

static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

/* A digit must be at @i of a number. */
static int need_digit(struct parser *p, size_t i)
{
	char ch[8];

	if (i >= p->len) {
		p->pos = i;
		return truncated(p, "a number");
	}
	if (!is_digit(p->s[i]))
		return bad(p, i, "%s in a number where a digit must be",
			   show_char((unsigned char)p->s[i], ch));
	return 0;
}

/* -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)? at p->pos */
static int parse_number(struct parser *p, size_t *len)
{
	size_t start = p->pos, i = p->pos;
	const char *s = p->s;
	int r;

	if (s[i] == '-')
		i++;
	r = need_digit(p, i);
	if (r)
		return r;
	if (s[i] == '0') {
		i++;
		if (i < p->len && is_digit(s[i]))
			return bad(p, start, "a number with a leading zero");
	} else {
		while (i < p->len && is_digit(s[i]))
			i++;
	}
	if (i < p->len && s[i] == '.') {
		r = need_digit(p, ++i);
		if (r)
			return r;
		while (i < p->len && is_digit(s[i]))
			i++;
	}
	if (i < p->len && (s[i] == 'e' || s[i] == 'E')) {
		i++;
		if (i < p->len && (s[i] == '+' || s[i] == '-'))
			i++;
		r = need_digit(p, i);
		if (r)
			return r;
		while (i < p->len && is_digit(s[i]))
			i++;
	}
	if (i - start > EC_JSON_NUMBER_MAX)
		return bad(p, start, "a number longer than %d characters",
			   EC_JSON_NUMBER_MAX);
	*len = i - start;
	p->pos = i;
	return 0;
}

static int parse_literal(struct parser *p, const char *word)
{
	size_t n = strlen(word), avail = p->len - p->pos;
	size_t cmp = avail < n ? avail : n;

	if (memcmp(p->s + p->pos, word, cmp))
		return bad(p, p->pos, "unexpected text where a value must be (did you mean %s?)",
			   word);
	if (avail < n) {
		p->pos = p->len;
		return truncated(p, "a literal");
	}
	p->pos += n;
	return 0;
}

/* ---- the parser --------------------------------------------------------- */

static void skip_space(struct parser *p)
{
	while (p->pos < p->len &&
	       (p->s[p->pos] == ' ' || p->s[p->pos] == '\t' ||
		p->s[p->pos] == '\n' || p->s[p->pos] == '\r'))
		p->pos++;
}

static const char *inside(const struct parser *p)
{
	return p->doc->nodes[p->stack[p->depth - 1]].type == EC_JSON_OBJECT ?
		"an object" : "an array";
}

/* One value at p->pos, a member of the open container (with its key). */
static int parse_value(struct parser *p, size_t key_start, size_t key_len,
		       bool key_escaped, enum slot_state *state)
{
	size_t start = p->pos, len = 0;
	enum ec_json_type type;
	bool escaped = false;
	char ch[8];
	int r, idx;

	switch (p->s[p->pos]) {
	case '{':
	case '[':
		if (p->depth == EC_JSON_DEPTH_MAX)
			return bad(p, start, "nested deeper than %d levels",
				   EC_JSON_DEPTH_MAX);
		type = p->s[p->pos] == '{' ? EC_JSON_OBJECT : EC_JSON_ARRAY;
		idx = add_node(p, type, start, key_start, key_len,
			       key_escaped);
		if (idx < 0)
			return idx;
		p->stack[p->depth] = idx;
		p->last[p->depth] = -1;
		p->depth++;
		p->pos++;
		*state = FIRST;
		return 0;
	case '"':
		type = EC_JSON_STRING;
		r = parse_string(p, "a string", &start, &len, &escaped);
		break;
	case 't':
		type = EC_JSON_TRUE;
		r = parse_literal(p, "true");
		len = 4;
		break;
	case 'f':
		type = EC_JSON_FALSE;
		r = parse_literal(p, "false");
		len = 5;
		break;
	case 'n':
		type = EC_JSON_NULL;
		r = parse_literal(p, "null");
		len = 4;
		break;
	default:
		if (p->s[p->pos] != '-' && !is_digit(p->s[p->pos]))
			return bad(p, start, "unexpected %s where a value must be",
				   show_char((unsigned char)p->s[p->pos], ch));
		type = EC_JSON_NUMBER;
		r = parse_number(p, &len);
		break;
	}
	if (r)
		return r;
	idx = add_node(p, type, start, key_start, key_len, key_escaped);
	if (idx < 0)
		return idx;
	p->doc->nodes[idx].len = (uint32_t)len;
	p->doc->nodes[idx].escaped = escaped;
	*state = AFTER_ITEM;
	return 0;
}

/* Close the open container at p->pos (its '}' or ']'). */
static void close_container(struct parser *p, enum slot_state *state)
{
	struct ec_json_node *node = &p->doc->nodes[p->stack[p->depth - 1]];

	p->pos++;
	node->len = (uint32_t)(p->pos - node->start);
	p->depth--;
	*state = AFTER_ITEM;
}

static int parse_items(struct parser *p)
{
	enum slot_state state = FIRST;
	size_t key_start = 0, key_len = 0;
	bool key_escaped = false, object;
	char ch[8], close;
	int r;

	while (p->depth) {
		object = p->doc->nodes[p->stack[p->depth - 1]].type ==
			 EC_JSON_OBJECT;
		close = object ? '}' : ']';
		skip_space(p);
		if (p->pos >= p->len)
			return truncated(p, inside(p));
		if (state != AFTER_COMMA && p->s[p->pos] == close) {
			close_container(p, &state);
			continue;
		}
		if (state == AFTER_ITEM) {
			if (p->s[p->pos] != ',')
				return bad(p, p->pos, "unexpected %s in %s: ',' or '%c' must follow an item",
					   show_char((unsigned char)p->s[p->pos], ch),
					   inside(p), close);
			p->pos++;
			state = AFTER_COMMA;
			continue;
		}
		if (object) {
			if (p->s[p->pos] != '"')
				return bad(p, p->pos, "unexpected %s in an object where a key must be",
					   show_char((unsigned char)p->s[p->pos], ch));
			r = parse_string(p, "a key", &key_start, &key_len,
					 &key_escaped);
			if (r)
				return r;
			r = check_duplicate(p, key_start, key_len,
					    key_escaped);
			if (r)
				return r;
			skip_space(p);
			if (p->pos >= p->len)
				return truncated(p, "an object");
			if (p->s[p->pos] != ':')
				return bad(p, p->pos, "unexpected %s in an object: ':' must follow a key",
					   show_char((unsigned char)p->s[p->pos], ch));
			p->pos++;
			skip_space(p);
			if (p->pos >= p->len)
				return truncated(p, "an object");
		}
		r = parse_value(p, key_start, key_len, key_escaped, &state);
		if (r)
			return r;
	}
	return 0;
}

int ec_json_parse(struct ec_json *doc, const char *text, size_t len)
{
	struct parser p = { .s = text, .len = len, .doc = doc };
	enum slot_state state;
	char ch[8];
	int r;

	memset(doc, 0, sizeof(*doc));
	doc->text = text;
	doc->len = len;
	if (len > EC_JSON_TEXT_MAX)
		return ec_err_set(-EPROTO,
				  "JSON text of %zu bytes is longer than %d bytes",
				  len, EC_JSON_TEXT_MAX);
	skip_space(&p);
	if (p.pos >= len) {
		r = ec_err_set(-EPROTO, "JSON text is empty");
		goto fail;
	}
	if (text[p.pos] != '{') {
		r = bad(&p, p.pos, "%s where the top-level object must start",
			show_char((unsigned char)text[p.pos], ch));
		goto fail;
	}
	r = parse_value(&p, 0, 0, false, &state);
	if (!r)
		r = parse_items(&p);
	if (r)
		goto fail;
	skip_space(&p);
	if (p.pos < len) {
		r = bad(&p, p.pos, "%s after the top-level object (trailing garbage)",
			show_char((unsigned char)text[p.pos], ch));
		goto fail;
	}
	return 0;
fail:
	ec_json_free(doc);
	return r;
}

void ec_json_free(struct ec_json *doc)
{
	free(doc->nodes);
	doc->nodes = NULL;
	doc->n = doc->cap = 0;
}

/* ---- access ------------------------------------------------------------- */

static bool valid_node(const struct ec_json *doc, int node)
{
	return node >= 0 && (size_t)node < doc->n;
}

int ec_json_get(const struct ec_json *doc, int node, const char *key)
{
	int i;

	if (!valid_node(doc, node) || doc->nodes[node].type != EC_JSON_OBJECT)
		return -1;
	for (i = doc->nodes[node].child; i >= 0; i = doc->nodes[i].next) {
		const struct ec_json_node *m = &doc->nodes[i];

		if (string_is(doc->text, m->key_start, m->key_len,
			      m->key_escaped, key))
			return i;
	}
	return -1;
}

int ec_json_first(const struct ec_json *doc, int node)
{
	return valid_node(doc, node) ? doc->nodes[node].child : -1;
}

int ec_json_next(const struct ec_json *doc, int node)
{
	return valid_node(doc, node) ? doc->nodes[node].next : -1;
}

enum ec_json_type ec_json_type(const struct ec_json *doc, int node)
{
	return valid_node(doc, node) ? doc->nodes[node].type : EC_JSON_NULL;
}

const char *ec_json_type_name(enum ec_json_type type)
{
	switch (type) {
	case EC_JSON_NULL:
		return "null";
	case EC_JSON_FALSE:
	case EC_JSON_TRUE:
		return "a boolean";
	case EC_JSON_NUMBER:
		return "a number";
	case EC_JSON_STRING:
		return "a string";
	case EC_JSON_ARRAY:
		return "an array";
	case EC_JSON_OBJECT:
		return "an object";
	}
	return "unknown";
}

static int wrong_type(const struct ec_json *doc, int node, const char *what,
		      const char *want)
{
	return ec_err_set(-EPROTO, "%s is %s, not %s", what,
			  valid_node(doc, node) ?
			  ec_json_type_name(doc->nodes[node].type) : "missing",
			  want);
}

int ec_json_string(const struct ec_json *doc, int node, const char *what,
		   char *buf, size_t size, size_t *len)
{
	const struct ec_json_node *s;
	size_t i, n = 0;
	uint32_t cp;

	if (!valid_node(doc, node) || doc->nodes[node].type != EC_JSON_STRING)
		return wrong_type(doc, node, what, "a string");
	s = &doc->nodes[node];
	/* straight into @buf: the caller's buffer may be locked memory */
	for (i = s->start; i < s->start + s->len; ) {
		cp = next_code_point(doc->text, s->start + s->len, &i);
		if (n + utf8_len(cp) >= size) {
			memset(buf, 0, n < size ? n : size);
			return ec_err_set(-ENOSPC,
					  "%s is longer than %zu bytes", what,
					  size ? size - 1 : 0);
		}
		n += put_utf8(cp, buf + n);
	}
	buf[n] = '\0';
	if (len)
		*len = n;
	return 0;
}

int ec_json_int(const struct ec_json *doc, int node, const char *what,
		int64_t min, int64_t max, int64_t *value)
{
	const struct ec_json_node *num;
	const char *s;
	uint64_t v = 0, limit;
	int64_t x;
	bool neg;
	size_t i;

	if (!valid_node(doc, node) || doc->nodes[node].type != EC_JSON_NUMBER)
		return wrong_type(doc, node, what, "an integer");
	num = &doc->nodes[node];
	s = doc->text + num->start;
	neg = s[0] == '-';
	/* the magnitude of INT64_MIN is INT64_MAX + 1 */
	limit = neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;
	for (i = neg; i < num->len; i++) {
		if (!is_digit(s[i]))
			return ec_err_set(-EPROTO,
					  "%s is %.*s, not an integer", what,
					  (int)num->len, s);
		if (v > (limit - (uint64_t)(s[i] - '0')) / 10)
			goto range;
		v = v * 10 + (uint64_t)(s[i] - '0');
	}
	/* -(v - 1) - 1 stays in range for v == INT64_MAX + 1 */
	x = neg ? (v ? -(int64_t)(v - 1) - 1 : 0) : (int64_t)v;
	if (x < min || x > max)
		goto range;
	*value = x;
	return 0;
range:
	return ec_err_set(-EPROTO,
			  "%s is %.*s, not an integer from %lld to %lld", what,
			  (int)num->len, s, (long long)min, (long long)max);
}

int ec_json_bool(const struct ec_json *doc, int node, const char *what,
		 bool *value)
{
	if (!valid_node(doc, node) ||
	    (doc->nodes[node].type != EC_JSON_TRUE &&
	     doc->nodes[node].type != EC_JSON_FALSE))
		return wrong_type(doc, node, what, "a boolean");
	*value = doc->nodes[node].type == EC_JSON_TRUE;
	return 0;
}
