/* SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "strutil.h"
#include "yaml-doc.h"

struct scan {
        const char *name;
        const char *buf;
        size_t len;
        const struct ecl_yaml_limits *limits;
        struct ecl_diags *diags;
        unsigned n_errors;
        unsigned n_aliases;         /* anchors and aliases seen: the first is reported, then counted */
        struct ecl_pos first_alias;
        bool stop;
        int oom;
};

static void scan_error(struct scan *s, struct ecl_pos pos, const char *hint, const char *fmt, ...) _printf_(4, 5);
static void scan_error(struct scan *s, struct ecl_pos pos, const char *hint, const char *fmt, ...) {
        if (s->stop)
                return;
        if (s->n_errors >= s->limits->max_errors) {
                if (ecl_diags_add(s->diags, s->name, pos, NULL, "too many errors, stopping here") < 0)
                        s->oom = -ENOMEM;
                s->stop = true;
                return;
        }
        va_list ap;
        va_start(ap, fmt);
        int r = ecl_diags_addv(s->diags, s->name, pos, hint, fmt, ap);
        va_end(ap);
        if (r < 0) {
                s->oom = -ENOMEM;
                s->stop = true;
        }
        s->n_errors++;
}

static struct ecl_pos mark_pos(yaml_mark_t m) {
        return (struct ecl_pos){(unsigned) m.line + 1, (unsigned) m.column + 1};
}

/* Line and column (in characters) of a byte offset, for reader errors that carry only an offset. */
static struct ecl_pos offset_pos(const char *buf, size_t len, size_t offset) {
        struct ecl_pos p = {1, 1};
        if (offset > len)
                offset = len;
        for (size_t i = 0; i < offset; i++) {
                const unsigned char *u = (const unsigned char *) buf + i;
                /* libyaml's line breaks: LF, CR, CRLF (one break), NEL, LS, PS */
                if (u[0] == '\n' || (u[0] == '\r' && (i + 1 >= len || u[1] != '\n')) ||
                    (i + 1 < len && u[0] == 0xc2 && u[1] == 0x85) ||
                    (i + 2 < len && u[0] == 0xe2 && u[1] == 0x80 && (u[2] == 0xa8 || u[2] == 0xa9))) {
                        p.line++;
                        p.col = 1;
                } else if (((unsigned char) buf[i] & 0xc0) != 0x80)
                        p.col++;
        }
        return p;
}

static void report_parser_error(struct scan *s, const yaml_parser_t *p) {
        if (p->error == YAML_MEMORY_ERROR) {
                s->oom = -ENOMEM;
                return;
        }
        const char *problem = p->problem ? p->problem : "unknown problem";
        if (p->error == YAML_READER_ERROR) {
                char hint[32];
                snprintf(hint, sizeof hint, "0x%02x", (unsigned) p->problem_value);
                scan_error(s, offset_pos(s->buf, s->len, p->problem_offset), p->problem_value >= 0 ? hint : NULL,
                           "invalid text: %s", problem);
                return;
        }
        if (p->context) {
                char hint[160];
                snprintf(hint, sizeof hint, "%s at line %zu, column %zu", p->context, p->context_mark.line + 1,
                         p->context_mark.column + 1);
                scan_error(s, mark_pos(p->problem_mark), hint, "YAML syntax error: %s", problem);
        } else
                scan_error(s, mark_pos(p->problem_mark), NULL, "YAML syntax error: %s", problem);
}

static void note_alias(struct scan *s, yaml_mark_t m) {
        if (s->n_aliases++ == 0)
                s->first_alias = mark_pos(m);
}

static void report_aliases(struct scan *s) {
        if (s->n_aliases == 0 || s->oom || s->n_errors >= s->limits->max_errors)
                return;
        char hint[96];
        if (s->n_aliases == 1)
                snprintf(hint, sizeof hint, "write the value out in full");
        else
                snprintf(hint, sizeof hint, "write the value out in full; %u more in this file", s->n_aliases - 1);
        s->stop = false;
        scan_error(s, s->first_alias, hint, "anchors and aliases are not allowed in %s", s->limits->what);
}

static void check_properties(struct scan *s, const yaml_event_t *ev, const yaml_char_t *anchor,
                             const yaml_char_t *tag) {
        if (anchor)
                note_alias(s, ev->start_mark);
        if (tag) {
                static const char std[] = "tag:yaml.org,2002:";
                const char *t = (const char *) tag;
                _cleanup_free_ char *shown = NULL;
                if (strncmp(t, std, sizeof std - 1) == 0)
                        shown = ecl_yaml_excerpt(t + sizeof std - 1, strlen(t + sizeof std - 1), 40);
                else
                        shown = ecl_yaml_excerpt(t, strlen(t), 40);
                if (!shown) {
                        s->oom = -ENOMEM;
                        s->stop = true;
                        return;
                }
                scan_error(s, mark_pos(ev->start_mark), "write plain values; the schema gives each its type",
                           "YAML tag '%s%s' is not allowed in %s", strncmp(t, std, sizeof std - 1) == 0 ? "!!" : "",
                           shown, s->limits->what);
        }
}

/* Walk the event stream once; every problem found goes to diags. */
static int scan_events(struct scan *s) {
        yaml_parser_t p;
        if (!yaml_parser_initialize(&p))
                return -ENOMEM;
        yaml_parser_set_input_string(&p, (const unsigned char *) s->buf, s->len);
        yaml_parser_set_encoding(&p, YAML_UTF8_ENCODING);
        unsigned depth = 0, docs = 0;
        bool done = false;
        while (!done && !s->stop) {
                yaml_event_t ev;
                if (!yaml_parser_parse(&p, &ev)) {
                        report_parser_error(s, &p);
                        break;
                }
                switch (ev.type) {
                case YAML_STREAM_END_EVENT:
                        done = true;
                        break;
                case YAML_DOCUMENT_START_EVENT:
                        if (++docs > 1) {
                                scan_error(s, mark_pos(ev.start_mark), NULL,
                                           "more than one YAML document (%s is a single document)",
                                           s->limits->what);
                                s->stop = true;
                        } else if (ev.data.document_start.tag_directives.start !=
                                   ev.data.document_start.tag_directives.end)
                                scan_error(s, mark_pos(ev.start_mark), NULL,
                                           "YAML tag directives are not allowed in %s", s->limits->what);
                        break;
                case YAML_ALIAS_EVENT:
                        note_alias(s, ev.start_mark);
                        break;
                case YAML_SCALAR_EVENT:
                        check_properties(s, &ev, ev.data.scalar.anchor, ev.data.scalar.tag);
                        break;
                case YAML_SEQUENCE_START_EVENT:
                case YAML_MAPPING_START_EVENT:
                        if (ev.type == YAML_SEQUENCE_START_EVENT)
                                check_properties(s, &ev, ev.data.sequence_start.anchor, ev.data.sequence_start.tag);
                        else
                                check_properties(s, &ev, ev.data.mapping_start.anchor, ev.data.mapping_start.tag);
                        if (++depth > s->limits->max_depth) {
                                scan_error(s, mark_pos(ev.start_mark), NULL, "nesting too deep (at most %u levels)",
                                           s->limits->max_depth);
                                s->stop = true;
                        }
                        break;
                case YAML_SEQUENCE_END_EVENT:
                case YAML_MAPPING_END_EVENT:
                        depth--;
                        break;
                default:
                        break;
                }
                yaml_event_delete(&ev);
        }
        yaml_parser_delete(&p);
        report_aliases(s);
        if (s->oom)
                return s->oom;
        return s->n_errors > 0 ? -EBADMSG : 0;
}

int ecl_yaml_doc_load(struct ecl_yaml_doc *doc, const char *name, const char *buf, size_t len,
                      const struct ecl_yaml_limits *limits, struct ecl_diags *diags) {
        *doc = (struct ecl_yaml_doc){0};
        /* A UTF-8 byte order mark is allowed (libyaml keeps it when the encoding is forced). */
        if (len >= 3 && memcmp(buf, "\xef\xbb\xbf", 3) == 0) {
                buf += 3;
                len -= 3;
        }
        struct scan s = {.name = name, .buf = buf, .len = len, .limits = limits, .diags = diags};
        int r = scan_events(&s);
        if (r < 0)
                return r;
        /* The stream is clean: no aliases, bounded depth, one document.  Build it. */
        yaml_parser_t p;
        if (!yaml_parser_initialize(&p))
                return -ENOMEM;
        yaml_parser_set_input_string(&p, (const unsigned char *) buf, len);
        yaml_parser_set_encoding(&p, YAML_UTF8_ENCODING);
        if (!yaml_parser_load(&p, &doc->doc)) {
                s.n_errors = 0;
                report_parser_error(&s, &p);
                yaml_parser_delete(&p);
                return s.oom ? s.oom : -EBADMSG;
        }
        yaml_parser_delete(&p);
        doc->loaded = true;
        return 0;
}

void ecl_yaml_doc_done(struct ecl_yaml_doc *doc) {
        if (doc->loaded)
                yaml_document_delete(&doc->doc);
        doc->loaded = false;
}

yaml_node_t *ecl_yaml_root(struct ecl_yaml_doc *doc) {
        return doc->loaded ? yaml_document_get_root_node(&doc->doc) : NULL;
}

yaml_node_t *ecl_yaml_node(struct ecl_yaml_doc *doc, int index) {
        return doc->loaded ? yaml_document_get_node(&doc->doc, index) : NULL;
}

bool ecl_yaml_is_null(const yaml_node_t *n) {
        if (n->type != YAML_SCALAR_NODE || n->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
                return false;
        const char *v = (const char *) n->data.scalar.value;
        size_t len = n->data.scalar.length;
        return len == 0 || (len == 1 && v[0] == '~') ||
               (len == 4 && (memcmp(v, "null", 4) == 0 || memcmp(v, "Null", 4) == 0 || memcmp(v, "NULL", 4) == 0));
}

const char *ecl_yaml_kind(const yaml_node_t *n) {
        switch (n->type) {
        case YAML_MAPPING_NODE:
                return "a mapping";
        case YAML_SEQUENCE_NODE:
                return "a list";
        case YAML_SCALAR_NODE:
                return ecl_yaml_is_null(n) ? "nothing" : "a single value";
        default:
                return "nothing";
        }
}

size_t ecl_utf8_unsafe_char(const char *s, size_t len) {
        const unsigned char *u = (const unsigned char *) s;
        if (len >= 1 && ecl_is_control(u[0]))
                return 1;
        if (len >= 2 && u[0] == 0xc2 && u[1] >= 0x80 && u[1] <= 0x9f)
                return 2;
        if (len >= 3 && u[0] == 0xe2 && u[1] == 0x80 && u[2] >= 0xa8 && u[2] <= 0xae)
                return 3; /* U+2028..U+202E */
        if (len >= 3 && u[0] == 0xe2 && u[1] == 0x81 && u[2] >= 0xa6 && u[2] <= 0xa9)
                return 3; /* U+2066..U+2069 */
        return 0;
}

char *ecl_yaml_excerpt(const char *s, size_t len, size_t max) {
        char *out = NULL;
        size_t size = 0;
        FILE *f = open_memstream(&out, &size);
        if (!f)
                return NULL;
        size_t i = 0;
        for (; i < len; i++) {
                unsigned char c = (unsigned char) s[i];
                /* Cut only before the first byte of a character. */
                if (ftell(f) >= (long) max && (c & 0xc0) != 0x80)
                        break;
                size_t bad = ecl_utf8_unsafe_char(s + i, len - i);
                if (c == '\\')
                        fputs("\\\\", f);
                else if (bad == 1)
                        fprintf(f, "\\x%02x", c);
                else if (bad == 2) {
                        fprintf(f, "\\u{%04x}", (unsigned) ((c & 0x1f) << 6 | ((unsigned char) s[i + 1] & 0x3f)));
                        i++;
                } else if (bad == 3) {
                        fprintf(f, "\\u{%04x}", (unsigned) ((c & 0x0f) << 12 | ((unsigned char) s[i + 1] & 0x3f) << 6 |
                                                          ((unsigned char) s[i + 2] & 0x3f)));
                        i += 2;
                } else
                        fputc(c, f);
        }
        if (i < len)
                fputs("...", f);
        if (fclose(f) != 0) {
                free(out);
                return NULL;
        }
        return out;
}
