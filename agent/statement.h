/* SPDX-License-Identifier: Apache-2.0 */
#pragma once
/*
 * The approval statement officers sign (DESIGN.md, "Bundles, approvals,
 * access"; SSHSIG namespace ecluse-approval).  It is fixed at import, so
 * every officer signs the same bytes:
 *
 *   ecluse approval v1
 *   decision: apply                     (or downgrade)
 *   stack: office
 *   licensor: Example Cloud Inc.
 *   version: 2.4.1
 *   bundle: sha256:<64 lowercase hex>   (sha256 of bundle.yaml)
 *   imported: 2026-12-01T10:00:00Z
 *   nonce: <32 lowercase hex>
 *   approval-expires: 2026-12-04T10:00:00Z
 *
 * Every line ends with "\n" (no "\r", nothing after the last), keys in this
 * order, each once, one space after the colon, times in the UTC form of
 * rfc3339.h.  format() and parse() are exact inverses: parse() accepts only
 * what format() writes, so format(parse(x)) == x byte for byte.
 */
#include <stddef.h>
#include <stdint.h>

#include "macro.h"

#define AGENT_STATEMENT_HEADER "ecluse approval v1"
#define AGENT_STATEMENT_MAX 1024 /* bytes; a longer text is refused unread */
#define AGENT_NONCE_LEN 32       /* hex digits */

enum agent_decision { AGENT_DECISION_APPLY, AGENT_DECISION_DOWNGRADE };

/* "apply", "downgrade"; "?" for anything else. */
const char *agent_decision_to_string(enum agent_decision d);
/* 0, or -EINVAL for anything but those two words. */
int agent_decision_from_string(const char *s, enum agent_decision *ret);

struct agent_statement {
        enum agent_decision decision;
        char *stack;                     /* a stack name (stack-name.h); owned */
        char *licensor;                  /* 1..ECL_LICENSOR_MAX bytes, no unsafe character (yaml-doc.h); owned */
        char *version;                   /* agent_version_parse() accepts it; owned */
        uint8_t bundle[32];              /* sha256 of bundle.yaml */
        uint64_t imported;               /* seconds since the epoch, years 1970..9999 */
        char nonce[AGENT_NONCE_LEN + 1]; /* lowercase hex */
        uint64_t approval_expires;       /* as imported */
};

/*
 * The statement's exact text into *ret_text (caller frees).  -EINVAL with
 * *ret_reason when a field breaks the rules above (a line break, a control
 * or unsafe character, a bad name, version, nonce or time), -ENOMEM.
 */
int agent_statement_format(const struct agent_statement *s, char **ret_text, char **ret_reason);

/*
 * Parse text[0..len) strictly: the header line, then every key once in the
 * order above with a valid value, nothing else.  0 and *ret (to clear with
 * agent_statement_clear()); -EBADMSG with *ret_reason naming the line;
 * -EFBIG over AGENT_STATEMENT_MAX; -ENOMEM.  *ret is untouched on failure.
 */
int agent_statement_parse(const char *text, size_t len, struct agent_statement *ret, char **ret_reason);

/* Free the owned strings and zero *s. */
void agent_statement_clear(struct agent_statement *s);

/* 16 random bytes from getrandom(2) as 32 lowercase hex digits and a NUL. */
int agent_nonce_new(char ret[static AGENT_NONCE_LEN + 1], char **ret_reason);
