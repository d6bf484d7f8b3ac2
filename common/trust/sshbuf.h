/* SPDX-License-Identifier: Apache-2.0 */
#pragma once
/*
 * SSH wire format (RFC 4251 section 5): a bounded reader over untrusted bytes
 * and a small growable writer.
 *
 * The reader never reads past its end: every getter checks the remaining
 * length first and returns -EBADMSG (leaving the reader unchanged) when the
 * data is short or malformed.  Strings are returned as views into the input,
 * never copied, except ecl_sshbuf_get_cstring().
 *
 * The writer records the first allocation failure and ignores later puts;
 * check it once with ecl_sshbuf_w_error() (0 or -ENOMEM).
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "macro.h"

/* Largest mpint accepted: 16384-bit magnitude plus a sign byte (as OpenSSH). */
#define ECL_SSHBUF_MAX_MPINT 2049

struct ecl_sshbuf {
        const uint8_t *p; /* next unread byte */
        size_t len;       /* bytes left */
};

static inline struct ecl_sshbuf ecl_sshbuf_init(const void *data, size_t len) {
        return (struct ecl_sshbuf){.p = data, .len = len};
}
static inline bool ecl_sshbuf_empty(const struct ecl_sshbuf *b) {
        return b->len == 0;
}

int ecl_sshbuf_get_u8(struct ecl_sshbuf *b, uint8_t *v);
int ecl_sshbuf_get_u32(struct ecl_sshbuf *b, uint32_t *v);
int ecl_sshbuf_get_u64(struct ecl_sshbuf *b, uint64_t *v);
/* n raw bytes (no length prefix). */
int ecl_sshbuf_get_raw(struct ecl_sshbuf *b, size_t n, const uint8_t **p);
/* uint32 length + bytes; *p points into the input. p and len may be NULL. */
int ecl_sshbuf_get_string(struct ecl_sshbuf *b, const uint8_t **p, size_t *len);
/* A string as a sub-reader. */
int ecl_sshbuf_get_sub(struct ecl_sshbuf *b, struct ecl_sshbuf *sub);
/* A string that must hold text without NUL bytes; *ret is a new NUL-terminated
 * copy (caller frees).  -EBADMSG for embedded NUL, -ENOMEM. */
int ecl_sshbuf_get_cstring(struct ecl_sshbuf *b, char **ret);
/* A string equal to the literal s?  Consumes it only when equal; returns 1
 * when equal, 0 when different (not consumed), -EBADMSG when short. */
int ecl_sshbuf_get_string_eq(struct ecl_sshbuf *b, const char *s);
/*
 * An mpint (RFC 4251): refused when negative or longer than
 * ECL_SSHBUF_MAX_MPINT.  The result (p, len) is the unsigned magnitude with leading zero
 * bytes removed (so equal numbers give equal views; zero has length 0).
 */
int ecl_sshbuf_get_mpint(struct ecl_sshbuf *b, const uint8_t **p, size_t *len);

struct ecl_sshbuf_w {
        uint8_t *data;
        size_t len;
        size_t cap;
        int error; /* first failure, sticky */
};

void ecl_sshbuf_w_put_raw(struct ecl_sshbuf_w *w, const void *p, size_t n);
void ecl_sshbuf_w_put_u8(struct ecl_sshbuf_w *w, uint8_t v);
void ecl_sshbuf_w_put_u32(struct ecl_sshbuf_w *w, uint32_t v);
void ecl_sshbuf_w_put_string(struct ecl_sshbuf_w *w, const void *p, size_t n);
void ecl_sshbuf_w_put_cstring(struct ecl_sshbuf_w *w, const char *s);
/* Unsigned big-endian magnitude (leading zeros allowed) as a minimal mpint. */
void ecl_sshbuf_w_put_mpint(struct ecl_sshbuf_w *w, const uint8_t *p, size_t n);
static inline int ecl_sshbuf_w_error(const struct ecl_sshbuf_w *w) {
        return w->error;
}
void ecl_sshbuf_w_free(struct ecl_sshbuf_w *w);
/* Hand the bytes over (caller frees); the writer is left empty. */
uint8_t *ecl_sshbuf_w_steal(struct ecl_sshbuf_w *w, size_t *len);

/*
 * Strict base64 as OpenSSH's b64_pton: whitespace anywhere is skipped,
 * padding is required and must be canonical, the unused bits of the last
 * quantum must be zero.  *ret is a new buffer (caller frees; never NULL on
 * success).  -EBADMSG for bad input, -ENOMEM.
 */
int ecl_sshbuf_b64decode(const char *s, size_t n, uint8_t **ret, size_t *len);
