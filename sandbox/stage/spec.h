/*
 * The stage's spec: what the host computed for one run (spec.go writes it), read by the stage
 * before any Go runtime exists. The command's own words are not in it: they follow it as the
 * stage's arguments, where the kernel already delimits them. The format is a fixed sequence of fields with no choices to make
 * while reading: every integer is 8 bytes little-endian, every string is its length, its bytes
 * and a NUL (so the stage uses it in place, and a NUL inside is refused), every list its count
 * first. Anything else, including a byte left over, is refused: the stage then exits 125.
 *
 * Everything here is static so the fuzz harness (specfuzz) compiles the very same parser.
 * Nothing is allocated but the two lists, each bounded by the input's own length.
 */
#ifndef SKILLRUN_STAGE_SPEC_H
#define SKILLRUN_STAGE_SPEC_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define SPEC_MAGIC "SRSTAGE1"
#define SPEC_NESTED 1u /* rootless: the command gets a nested user namespace */
#define SPEC_SHELL 2u  /* -c STRING: the first word is the string, the rest its $0, $1, ... */
#define SPEC_MAX_FD 65535
#define SPEC_MAX_INSNS 4096 /* the kernel's BPF_MAXINSNS */
#define SPEC_STR_MIN 9      /* the smallest string: its length and the NUL */

struct spec_pin {
	const char *path;
	uint64_t dev, ino;
};

struct spec_rule {
	const char *path;
	uint64_t access;
	int optional;
};

struct spec {
	uint64_t flags;
	const char *cwd;
	uint32_t map_uid, map_gid;
	int proxy_fd, notify_fd, guard_fd; /* 0: none; the lifeline is always 3 */
	uint32_t proxy_ip;                 /* host order */
	uint16_t proxy_port;
	uint64_t data_limit; /* 0: none */
	size_t npins;
	struct spec_pin *pins;
	/* The Landlock ruleset, compiled for the kernel's ABI by the host (landlock.Ruleset). */
	uint64_t min_abi, abi, handled_fs, handled_net, scoped, file_only, stdio_read, stdio_write,
	    stdio_device;
	size_t nrules;
	struct spec_rule *rules;
	const unsigned char *seccomp; /* struct sock_filter[], native order */
	size_t seccomp_len;           /* bytes */
};

struct spec_reader {
	const unsigned char *p;
	size_t left;
	const char *err; /* the first thing found wrong */
};

static int spec_bad(struct spec_reader *r, const char *what)
{
	if (!r->err)
		r->err = what;
	return -1;
}

static int spec_u64(struct spec_reader *r, uint64_t *v)
{
	if (r->err)
		return -1;
	if (r->left < 8)
		return spec_bad(r, "truncated");
	*v = 0;
	for (int i = 7; i >= 0; i--)
		*v = *v << 8 | r->p[i];
	r->p += 8;
	r->left -= 8;
	return 0;
}

/* spec_max reads an integer that must not exceed max. */
static int spec_max(struct spec_reader *r, uint64_t max, uint64_t *v, const char *what)
{
	if (spec_u64(r, v) < 0)
		return -1;
	return *v > max ? spec_bad(r, what) : 0;
}

static int spec_str(struct spec_reader *r, const char **s)
{
	uint64_t n;
	if (spec_u64(r, &n) < 0)
		return -1;
	if (n >= r->left) /* the NUL must fit too */
		return spec_bad(r, "truncated string");
	if (memchr(r->p, 0, n) || r->p[n] != 0)
		return spec_bad(r, "string not terminated where its length says");
	*s = (const char *)r->p;
	r->p += n + 1;
	r->left -= n + 1;
	return 0;
}

static int spec_abs(struct spec_reader *r, const char **s, const char *what)
{
	if (spec_str(r, s) < 0)
		return -1;
	return (*s)[0] == '/' ? 0 : spec_bad(r, what);
}

/* spec_count reads a list's length, which each entry of at least min bytes must back up: a lie
 * cannot make the caller allocate more than the input could hold. */
static int spec_count(struct spec_reader *r, size_t min, size_t *n)
{
	uint64_t v;
	if (spec_u64(r, &v) < 0)
		return -1;
	if (v > r->left / min)
		return spec_bad(r, "list longer than the spec");
	*n = (size_t)v;
	return 0;
}

static int spec_fd(struct spec_reader *r, int *fd)
{
	uint64_t v;
	if (spec_u64(r, &v) < 0)
		return -1;
	if (v != 0 && (v < 4 || v > SPEC_MAX_FD))
		return spec_bad(r, "bad descriptor");
	*fd = (int)v;
	return 0;
}

static int spec_mask(struct spec_reader *r, uint64_t within, uint64_t *v, const char *what)
{
	if (spec_u64(r, v) < 0)
		return -1;
	return (*v & ~within) ? spec_bad(r, what) : 0;
}

static void spec_free(struct spec *s)
{
	free(s->pins);
	free(s->rules);
	memset(s, 0, sizeof *s);
}

/* spec_parse reads buf into s, whose strings point into buf. On failure it returns -1 with *err
 * set, and s holds nothing to free. */
static int spec_parse(const unsigned char *buf, size_t len, struct spec *s, const char **err)
{
	struct spec_reader r = {buf, len, NULL};
	uint64_t v = 0, ip = 0, port = 0;
	memset(s, 0, sizeof *s);
	if (len < 8 || memcmp(buf, SPEC_MAGIC, 8) != 0) {
		*err = "not a stage spec of this binary";
		return -1;
	}
	r.p += 8;
	r.left -= 8;
	spec_max(&r, SPEC_NESTED | SPEC_SHELL, &s->flags, "unknown flags");
	spec_abs(&r, &s->cwd, "working directory not absolute");
	spec_max(&r, UINT32_MAX - 1, &v, "bad uid");
	s->map_uid = (uint32_t)v;
	spec_max(&r, UINT32_MAX - 1, &v, "bad gid");
	s->map_gid = (uint32_t)v;
	spec_fd(&r, &s->proxy_fd);
	spec_max(&r, UINT32_MAX, &ip, "bad proxy address");
	spec_max(&r, UINT16_MAX, &port, "bad proxy port");
	if (!r.err && (s->proxy_fd ? port == 0 : (ip | port) != 0))
		spec_bad(&r, "proxy address without its descriptor, or none with it");
	s->proxy_ip = (uint32_t)ip;
	s->proxy_port = (uint16_t)port;
	spec_fd(&r, &s->notify_fd);
	spec_fd(&r, &s->guard_fd);
	if (!r.err && ((s->proxy_fd && (s->proxy_fd == s->notify_fd || s->proxy_fd == s->guard_fd)) ||
		       (s->notify_fd && s->notify_fd == s->guard_fd)))
		spec_bad(&r, "one descriptor for two purposes");
	spec_u64(&r, &s->data_limit);
	if (spec_count(&r, SPEC_STR_MIN + 16, &s->npins) == 0) {
		s->pins = calloc(s->npins + 1, sizeof *s->pins);
		if (!s->pins)
			spec_bad(&r, "out of memory");
		for (size_t i = 0; i < s->npins && !r.err; i++) {
			spec_abs(&r, &s->pins[i].path, "pinned path not absolute");
			spec_u64(&r, &s->pins[i].dev);
			spec_u64(&r, &s->pins[i].ino);
		}
	}
	spec_max(&r, 64, &s->abi, "bad Landlock ABI");
	spec_max(&r, s->abi, &s->min_abi, "the plan's Landlock ABI is above the kernel's");
	if (!r.err && s->abi == 0)
		spec_bad(&r, "no Landlock ABI");
	spec_u64(&r, &s->handled_fs);
	if (!r.err && s->handled_fs == 0)
		spec_bad(&r, "a ruleset that handles no file access");
	spec_u64(&r, &s->handled_net);
	spec_u64(&r, &s->scoped);
	spec_mask(&r, s->handled_fs, &s->file_only, "file rights not handled");
	spec_mask(&r, s->handled_fs, &s->stdio_read, "stdio rights not handled");
	spec_mask(&r, s->handled_fs, &s->stdio_write, "stdio rights not handled");
	spec_mask(&r, s->handled_fs, &s->stdio_device, "stdio rights not handled");
	if (spec_count(&r, SPEC_STR_MIN + 16, &s->nrules) == 0) {
		s->rules = calloc(s->nrules + 1, sizeof *s->rules);
		if (!s->rules)
			spec_bad(&r, "out of memory");
		for (size_t i = 0; i < s->nrules && !r.err; i++) {
			spec_abs(&r, &s->rules[i].path, "Landlock path not absolute");
			spec_mask(&r, s->handled_fs, &s->rules[i].access, "rule rights not handled");
			spec_max(&r, 1, &v, "bad optional flag");
			s->rules[i].optional = (int)v;
		}
	}
	if (spec_max(&r, SPEC_MAX_INSNS * 8, &v, "seccomp program too long") == 0) {
		if (v == 0 || v % 8 != 0)
			spec_bad(&r, "no seccomp program");
		else if (v > r.left)
			spec_bad(&r, "truncated seccomp program");
		else {
			s->seccomp = r.p;
			s->seccomp_len = (size_t)v;
			r.p += v;
			r.left -= v;
		}
	}
	if (!r.err && r.left != 0)
		spec_bad(&r, "bytes after the end");
	if (r.err) {
		*err = r.err;
		spec_free(s);
		return -1;
	}
	return 0;
}

static int spec_hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/* spec_unhex decodes the stage's argument (lowercase hex: the spec holds NULs, an argument
 * cannot) into a new buffer. */
static unsigned char *spec_unhex(const char *hex, size_t *len, const char **err)
{
	size_t n = strlen(hex);
	if (n % 2 != 0) {
		*err = "odd length";
		return NULL;
	}
	unsigned char *out = malloc(n / 2 + 1);
	if (!out) {
		*err = "out of memory";
		return NULL;
	}
	for (size_t i = 0; i < n / 2; i++) {
		int hi = spec_hexval(hex[2 * i]), lo = spec_hexval(hex[2 * i + 1]);
		if (hi < 0 || lo < 0) {
			free(out);
			*err = "not hex";
			return NULL;
		}
		out[i] = (unsigned char)(hi << 4 | lo);
	}
	*len = n / 2;
	return out;
}

#endif
