/* SPDX-License-Identifier: Apache-2.0 */
#include <assert.h>
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fileio.h"
#include "officers.h"

void ecl_officers_free(struct ecl_officers *o) {
        if (!o)
                return;
        if (o->names)
                for (size_t i = 0; i < o->n_officers; i++)
                        free(o->names[i]);
        free(o->names);
        free(o->officer_of_line);
        ecl_allowed_signers_free(o->signers);
        free(o);
}

/* Start offsets of each line of text (line k, 1-based, starts at starts[k-1]). */
static int line_starts(const char *text, size_t len, size_t **ret, size_t *ret_n) {
        size_t n = 1;
        for (size_t i = 0; i < len; i++)
                if (text[i] == '\n')
                        n++;
        size_t *s = calloc(n, sizeof *s);
        if (!s)
                return -ENOMEM;
        size_t k = 1;
        for (size_t i = 0; i < len; i++)
                if (text[i] == '\n')
                        s[k++] = i + 1;
        *ret = s;
        *ret_n = n;
        return 0;
}

/*
 * Column (1-based) in the line as written of byte j of the principals field
 * as the allowed_signers parser kept it: that parser skips leading blanks
 * and removes one pair of quotes, the first of which sits at the first
 * '"' of the field.
 */
static unsigned raw_col(const char *line, size_t line_len, size_t j) {
        size_t lead = 0;
        while (lead < line_len && (line[lead] == ' ' || line[lead] == '\t' || line[lead] == '\r'))
                lead++;
        size_t plain = 0;
        while (lead + plain < line_len && !strchr(" \t\r\"", line[lead + plain]))
                plain++;
        bool quoted = lead + plain < line_len && line[lead + plain] == '"';
        size_t raw = quoted && j >= plain ? j + 1 : j;
        return (unsigned) (lead + raw + 1);
}

/* Check each principal of every line: no pattern characters, none empty. */
static int check_principals(const struct ecl_allowed_signers *s, const char *text, size_t len,
                            struct ecl_diags *diags) {
        _cleanup_free_ size_t *starts = NULL;
        size_t n_lines = 0;
        int r = line_starts(text, len, &starts, &n_lines), err = 0;
        if (r < 0)
                return r;
        for (size_t i = 0; i < s->n; i++) {
                const struct ecl_allowed_signer *a = &s->items[i];
                assert(a->line >= 1 && a->line <= n_lines);
                const char *line = text + starts[a->line - 1];
                const char *nl = memchr(line, '\n', len - starts[a->line - 1]);
                size_t line_len = nl ? (size_t) (nl - line) : len - starts[a->line - 1];
                const char *p = a->principals;
                for (;;) {
                        size_t n = strcspn(p, ",");
                        size_t at = (size_t) (p - a->principals);
                        const char *bad = NULL;
                        for (size_t k = 0; k < n && !bad; k++)
                                if (strchr("*?!", p[k]))
                                        bad = p + k;
                        struct ecl_pos pos = {a->line, 0};
                        int q = 0;
                        if (n == 0) {
                                pos.col = raw_col(line, line_len, at);
                                q = ecl_diags_add(diags, s->file, pos,
                                                  "list each principal of an officer, separated by single commas",
                                                  "empty principal in officers file");
                        } else if (bad) {
                                pos.col = raw_col(line, line_len, (size_t) (bad - a->principals));
                                q = ecl_diags_add(diags, s->file, pos,
                                                  "an officer's principal names one person: no '*', '?' or '!'",
                                                  "pattern principal \"%.*s\" in officers file",
                                                  (int) (n > 80 ? 80 : n), p);
                        }
                        if (q < 0)
                                return q;
                        if (n == 0 || bad)
                                err = -EBADMSG;
                        if (!p[n])
                                break;
                        p += n + 1;
                }
        }
        return err;
}

static size_t uf_find(size_t *parent, size_t x) {
        while (parent[x] != x) {
                parent[x] = parent[parent[x]];
                x = parent[x];
        }
        return x;
}

static void uf_union(size_t *parent, size_t a, size_t b) {
        a = uf_find(parent, a);
        b = uf_find(parent, b);
        /* The lower line is the root, so an officer's root is its first line. */
        if (a < b)
                parent[b] = a;
        else if (b < a)
                parent[a] = b;
}

struct principal_ref {
        const char *name; /* points into a line's principals, ends at ',' or NUL */
        size_t len;
        size_t line; /* index into items */
};

static int cmp_principal(const void *x, const void *y) {
        const struct principal_ref *a = x, *b = y;
        size_t n = a->len < b->len ? a->len : b->len;
        int c = memcmp(a->name, b->name, n);
        if (c)
                return c;
        return a->len < b->len ? -1 : a->len > b->len;
}

struct key_ref {
        const struct ecl_sshkey *key;
        size_t line;
};

static int cmp_key(const void *x, const void *y) {
        const struct key_ref *a = x, *b = y;
        size_t n = a->key->blob_len < b->key->blob_len ? a->key->blob_len : b->key->blob_len;
        int c = memcmp(a->key->blob, b->key->blob, n);
        if (c)
                return c;
        return a->key->blob_len < b->key->blob_len ? -1 : a->key->blob_len > b->key->blob_len;
}

static int group(struct ecl_officers *o) {
        const struct ecl_allowed_signers *s = o->signers;
        _cleanup_free_ size_t *parent = calloc(s->n ? s->n : 1, sizeof *parent);
        _cleanup_free_ struct key_ref *keys = calloc(s->n ? s->n : 1, sizeof *keys);
        if (!parent || !keys)
                return -ENOMEM;
        size_t n_principals = 0;
        for (size_t i = 0; i < s->n; i++) {
                parent[i] = i;
                keys[i] = (struct key_ref){s->items[i].key, i};
                n_principals++;
                for (const char *p = s->items[i].principals; *p; p++)
                        if (*p == ',')
                                n_principals++;
        }
        _cleanup_free_ struct principal_ref *pr = calloc(n_principals ? n_principals : 1, sizeof *pr);
        if (!pr)
                return -ENOMEM;
        size_t k = 0;
        for (size_t i = 0; i < s->n; i++)
                for (const char *p = s->items[i].principals;; p++) {
                        size_t n = strcspn(p, ",");
                        pr[k++] = (struct principal_ref){p, n, i};
                        p += n;
                        if (!*p)
                                break;
                }
        assert(k == n_principals);

        qsort(pr, n_principals, sizeof *pr, cmp_principal);
        for (size_t i = 1; i < n_principals; i++)
                if (cmp_principal(&pr[i - 1], &pr[i]) == 0)
                        uf_union(parent, pr[i - 1].line, pr[i].line);
        qsort(keys, s->n, sizeof *keys, cmp_key);
        for (size_t i = 1; i < s->n; i++)
                if (ecl_sshkey_equal(keys[i - 1].key, keys[i].key))
                        uf_union(parent, keys[i - 1].line, keys[i].line);

        /* Number the officers in the order of their first line. */
        if (!(o->officer_of_line = calloc(s->n ? s->n : 1, sizeof *o->officer_of_line)))
                return -ENOMEM;
        for (size_t i = 0; i < s->n; i++) {
                size_t root = uf_find(parent, i);
                o->officer_of_line[i] = root == i ? o->n_officers++ : o->officer_of_line[root];
        }
        if (!(o->names = calloc(o->n_officers ? o->n_officers : 1, sizeof *o->names)))
                return -ENOMEM;
        /* pr is sorted: the first principal seen for an officer is its smallest. */
        for (size_t i = 0; i < n_principals; i++) {
                size_t off = o->officer_of_line[pr[i].line];
                if (!o->names[off] && !(o->names[off] = strndup(pr[i].name, pr[i].len)))
                        return -ENOMEM;
        }
        return 0;
}

int ecl_officers_parse(const char *text, size_t len, const char *file, struct ecl_officers **ret,
                       struct ecl_diags *diags) {
        _cleanup_(ecl_officers_freep) struct ecl_officers *o = calloc(1, sizeof *o);
        if (!o)
                return -ENOMEM;
        int r = ecl_allowed_signers_parse(text, len, file ? file : "<officers>", &o->signers, diags);
        if (r < 0)
                return r;
        if ((r = check_principals(o->signers, text, len, diags)) < 0)
                return r;
        if ((r = group(o)) < 0)
                return r;
        *ret = TAKE_PTR(o);
        return 0;
}

int ecl_officers_load(const char *path, struct ecl_officers **ret, struct ecl_diags *diags) {
        _cleanup_free_ char *buf = NULL, *why = NULL;
        size_t len = 0;
        int r = ecl_file_read(path, ECL_ALLOWED_SIGNERS_MAX_SIZE, &buf, &len, &why);
        if (r < 0) {
                if (ecl_diags_add(diags, path, (struct ecl_pos){0, 0}, NULL, "officers file: %s",
                                  why ? why : strerror(-r)) < 0)
                        return -ENOMEM;
                return r;
        }
        return ecl_officers_parse(buf, len, path, ret, diags);
}

int ecl_officers_of_key(const struct ecl_officers *o, const struct ecl_sshkey *key, size_t *ret) {
        for (size_t i = 0; i < o->signers->n; i++)
                if (ecl_sshkey_equal(o->signers->items[i].key, key)) {
                        *ret = o->officer_of_line[i];
                        return 0;
                }
        return -ENOKEY;
}
