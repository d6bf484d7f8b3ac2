/* SPDX-License-Identifier: Apache-2.0 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "agent-audit.h"
#include "allowed-signers.h"
#include "audit-log.h"
#include "bundles.h"
#include "fileio.h"
#include "hex.h"
#include "macro.h"
#include "manifest.h"
#include "officers.h"
#include "paths.h"
#include "quarantine.h"
#include "reason.h"
#include "rfc3339.h"
#include "sshsig.h"

void agent_bundle_done(struct agent_bundle *b) {
        if (!b)
                return;
        agent_record_clear(&b->rec);
        agent_bundle_meta_free(b->meta);
        free(b->statement);
        agent_statement_clear(&b->st);
        if (b->lock_fd >= 0)
                close(b->lock_fd);
        if (b->dirfd >= 0)
                close(b->dirfd);
        *b = (struct agent_bundle){.dirfd = -1, .lock_fd = -1};
}

static int read_at(int dirfd, const char *name, size_t max, char **ret, size_t *ret_len, char **ret_reason) {
        _cleanup_close_ int fd = -1;
        _cleanup_free_ char *why = NULL;
        int r = ecl_file_open_at(dirfd, name, max, &fd, NULL, &why);
        if (r >= 0)
                r = ecl_file_read_fd(fd, max, ret, ret_len, &why);
        if (r < 0)
                return ecl_reason(ret_reason, r, "%s: %s", name, ecl_reason_text(why, r));
        return 0;
}


int agent_vendor_verify(const char *root, const char *meta, size_t meta_len, const char *sig_text, size_t sig_len,
                        uint64_t now, struct ecl_sshsig_verdict *ret, char **ret_reason) {
        _cleanup_free_ char *vendors_path = NULL, *why = NULL;
        if (ecl_path(&vendors_path, root, ECL_VENDORS_FILE) < 0)
                return ecl_reason(ret_reason, -ENOMEM, "out of memory");
        _cleanup_(ecl_diags_clear) struct ecl_diags diags = {0};
        _cleanup_(ecl_allowed_signers_freep) struct ecl_allowed_signers *vendors = NULL;
        int r = ecl_allowed_signers_load(vendors_path, &vendors, &diags);
        if (r < 0) {
                _cleanup_free_ char *summary = ecl_diags_summary(&diags);
                if (summary)
                        return ecl_reason(ret_reason, r, "%s", summary);
                return ecl_reason_errno(ret_reason, r, "the vendors file %s", vendors_path);
        }
        _cleanup_(ecl_sshsig_freep) struct ecl_sshsig *sig = NULL;
        r = ecl_sshsig_parse_armor(sig_text, sig_len, &sig, &why);
        if (r < 0)
                return ecl_reason(ret_reason, r, "bundle.yaml.sig: %s", ecl_reason_text(why, r));
        struct ecl_sshsig_policy policy = {.now = now};
        r = ecl_sshsig_verify_buf(sig, meta, meta_len, AGENT_BUNDLE_NAMESPACE, vendors, NULL, &policy, ret);
        if (r < 0)
                return ecl_reason(ret_reason, r, "the vendor signature is refused: %s", ecl_reason_text(ret->reason, r));
        return 0;
}

/* The vendor's signature over the kept bundle.yaml, again: whoever can write in quarantine/ cannot make an
 * entry of their own pass as the vendor's. */
static int check_vendor(const char *root, int dirfd, const char *meta, size_t meta_len, char **ret_reason) {
        _cleanup_free_ char *sig_text = NULL;
        size_t sig_len = 0;
        int r = read_at(dirfd, AGENT_SIG_FILE, ECL_SSHSIG_MAX_SIZE, &sig_text, &sig_len, ret_reason);
        if (r < 0)
                return r;
        _cleanup_(ecl_sshsig_verdict_clear) struct ecl_sshsig_verdict v = {0};
        return agent_vendor_verify(root, meta, meta_len, sig_text, sig_len, 0, &v, ret_reason);
}

/* Read and cross-check the parts of entry full into b (whose dirfd is open). */
static int load_parts(struct agent_store *s, const char *full, struct agent_bundle *b, char **ret_reason) {
        _cleanup_free_ char *why = NULL, *meta = NULL;
        size_t meta_len = 0;
        int r = agent_record_read(s, full, &b->rec, &why);
        if (r >= 0)
                r = read_at(b->dirfd, AGENT_META_FILE, AGENT_BUNDLE_META_MAX_SIZE, &meta, &meta_len, &why);
        if (r >= 0)
                r = read_at(b->dirfd, AGENT_STATEMENT_FILE, AGENT_STATEMENT_MAX, &b->statement, &b->statement_len,
                            &why);
        if (r < 0)
                return ecl_reason(ret_reason, r, "bundle %s: %s", full, ecl_reason_text(why, r));
        uint8_t digest[32];
        unsigned dlen = 0;
        char dhex[65];
        if (EVP_Digest(meta, meta_len, digest, &dlen, EVP_sha256(), NULL) != 1 || dlen != 32)
                return ecl_reason(ret_reason, -EIO, "bundle %s: cannot hash bundle.yaml", full);
        ecl_hex_encode(digest, 32, dhex);
        if (strcmp(dhex, b->rec.digest) != 0)
                return ecl_reason(ret_reason, -EBADMSG, "bundle %s: its bundle.yaml changed since import (sha256 %s)",
                                  full, dhex);
        _cleanup_(ecl_diags_clear) struct ecl_diags diags = {0};
        r = agent_bundle_meta_parse(AGENT_META_FILE, meta, meta_len, &b->meta, &diags);
        if (r < 0)
                return ecl_reason(ret_reason, -EBADMSG, "bundle %s: its bundle.yaml no longer parses", full);
        r = agent_statement_parse(b->statement, b->statement_len, &b->st, &why);
        if (r < 0)
                return ecl_reason(ret_reason, -EBADMSG, "bundle %s: its statement: %s", full, ecl_reason_text(why, r));
        r = check_vendor(agent_store_root(s), b->dirfd, meta, meta_len, &why);
        if (r < 0)
                return ecl_reason(ret_reason, r, "bundle %s: %s", full, ecl_reason_text(why, r));
        if (strcmp(b->meta->stack, b->rec.stack) != 0 || strcmp(b->meta->version_text, b->rec.version) != 0 ||
            strcmp(b->meta->licensor, b->st.licensor) != 0 || b->meta->expires != b->rec.expires ||
            b->st.imported != b->rec.imported)
                return ecl_reason(ret_reason, -EBADMSG, "bundle %s: its bundle.yaml and its record disagree", full);
        if (memcmp(b->st.bundle, digest, 32) != 0 || strcmp(b->st.stack, b->rec.stack) != 0 ||
            strcmp(b->st.version, b->rec.version) != 0 ||
            (b->st.decision == AGENT_DECISION_DOWNGRADE) != b->rec.downgrade ||
            b->st.approval_expires != b->rec.approval_expires)
                return ecl_reason(ret_reason, -EBADMSG, "bundle %s: its statement and its record disagree", full);
        return 0;
}

int agent_bundle_load(struct agent_store *s, const char *id, struct agent_bundle *ret, char **ret_reason) {
        *ret = (struct agent_bundle){.dirfd = -1, .lock_fd = -1};
        char full[13];
        _cleanup_free_ char *why = NULL;
        int r = agent_store_resolve(s, id, full, &why);
        if (r < 0)
                return ecl_reason(ret_reason, r, "%s", ecl_reason_text(why, r));
        r = agent_store_open_entry(s, full, &ret->dirfd, &why);
        if (r < 0)
                return ecl_reason(ret_reason, r, "bundle %s: %s", full, ecl_reason_text(why, r));
        r = load_parts(s, full, ret, ret_reason);
        if (r < 0)
                agent_bundle_done(ret);
        return r;
}

static int lock(struct agent_bundle *b, bool wait, char **ret_reason) {
        if (b->lock_fd >= 0)
                return 0;
        int fd = openat(b->dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0)
                return ecl_reason_errno(ret_reason, -errno, "bundle %s: cannot open its directory", b->rec.id);
        if (flock(fd, LOCK_EX | (wait ? 0 : LOCK_NB)) < 0) {
                int r = errno == EWOULDBLOCK ? -EBUSY : -errno;
                close(fd);
                if (r == -EBUSY)
                        return ecl_reason(ret_reason, r, "bundle %s is being changed by another command", b->rec.id);
                return ecl_reason_errno(ret_reason, r, "bundle %s: cannot lock it", b->rec.id);
        }
        b->lock_fd = fd;
        return 0;
}

int agent_bundle_lock(struct agent_bundle *b, char **ret_reason) {
        return lock(b, true, ret_reason);
}

int agent_bundle_trylock(struct agent_bundle *b, char **ret_reason) {
        return lock(b, false, ret_reason);
}

static int cmp_str(const void *a, const void *b) {
        return strcmp(*(char *const *) a, *(char *const *) b);
}

/* approvals/NNNNNN.sig, sorted. */
static int list_approvals(int dirfd, char ***ret, size_t *ret_n, char **ret_reason) {
        _cleanup_close_ int fd = openat(dirfd, AGENT_APPROVALS_DIR, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0)
                return ecl_reason_errno(ret_reason, -errno, "%s", AGENT_APPROVALS_DIR);
        DIR *d = fdopendir(fd);
        if (!d)
                return ecl_reason_errno(ret_reason, -errno, "%s", AGENT_APPROVALS_DIR);
        fd = -1;
        char **names = NULL;
        size_t n = 0;
        struct dirent *de;
        int r = 0;
        while ((de = readdir(d))) {
                size_t len = strlen(de->d_name);
                if (de->d_name[0] == '.' || len < 5 || strcmp(de->d_name + len - 4, ".sig") != 0)
                        continue;
                if (n >= AGENT_APPROVALS_MAX) {
                        r = ecl_reason(ret_reason, -E2BIG, "more than %d approvals", AGENT_APPROVALS_MAX);
                        break;
                }
                char **nn = realloc(names, (n + 2) * sizeof *names);
                if (!nn || !(nn[n] = strdup(de->d_name))) {
                        names = nn ? nn : names;
                        r = ecl_reason(ret_reason, -ENOMEM, "out of memory");
                        break;
                }
                names = nn;
                names[++n] = NULL;
        }
        closedir(d);
        if (r < 0) {
                strv_free(names);
                return r;
        }
        if (n)
                qsort(names, n, sizeof *names, cmp_str);
        *ret = names;
        *ret_n = n;
        return 0;
}

int agent_bundle_count(const char *root, const struct agent_bundle *b, uint64_t now, const char *extra,
                       struct ecl_quorum *ret, char **ret_reason) {
        _cleanup_free_ char *officers_path = NULL, *dir = NULL;
        if (ecl_path(&officers_path, root, ECL_OFFICERS_FILE) < 0 ||
            ecl_path(&dir, root, ECL_QUARANTINE_DIR "/%s/" AGENT_APPROVALS_DIR, b->rec.id) < 0)
                return ecl_reason(ret_reason, -ENOMEM, "out of memory");
        _cleanup_(ecl_diags_clear) struct ecl_diags diags = {0};
        _cleanup_(ecl_officers_freep) struct ecl_officers *officers = NULL;
        int r = ecl_officers_load(officers_path, &officers, &diags);
        if (r < 0) {
                _cleanup_free_ char *first = ecl_diags_summary(&diags);
                return ecl_reason(ret_reason, r, "the officers file: %s",
                                  first ? first : "cannot be read");
        }
        _cleanup_strv_free_ char **names = NULL;
        size_t n = 0;
        _cleanup_free_ char *why = NULL;
        r = list_approvals(b->dirfd, &names, &n, &why);
        if (r < 0)
                return ecl_reason(ret_reason, r, "bundle %s: %s", b->rec.id, ecl_reason_text(why, r));
        _cleanup_strv_free_ char **paths = calloc(n + 2, sizeof *paths);
        if (!paths)
                return ecl_reason(ret_reason, -ENOMEM, "out of memory");
        size_t k = 0;
        for (; k < n; k++)
                if (asprintf(&paths[k], "%s/%s", dir, names[k]) < 0) {
                        paths[k] = NULL;
                        return ecl_reason(ret_reason, -ENOMEM, "out of memory");
                }
        if (extra && !(paths[k++] = strdup(extra)))
                return ecl_reason(ret_reason, -ENOMEM, "out of memory");
        r = ecl_quorum_count(officers, AGENT_APPROVAL_NAMESPACE, b->statement, b->statement_len,
                             b->st.approval_expires, now, (const char *const *) paths, k, ret, &why);
        if (r < 0)
                return ecl_reason(ret_reason, r, "bundle %s: %s", b->rec.id, ecl_reason_text(why, r));
        return 0;
}

int agent_stack_manifest(const char *root, const char *stack, struct ecl_manifest **ret, char **ret_reason) {
        _cleanup_free_ char *path = NULL;
        if (ecl_path(&path, root, ECL_STACKS_CONF_DIR "/%s.yaml", stack) < 0)
                return ecl_reason(ret_reason, -ENOMEM, "out of memory");
        _cleanup_(ecl_diags_clear) struct ecl_diags diags = {0};
        int r = ecl_manifest_load_file(path, ret, &diags);
        if (r < 0) {
                _cleanup_free_ char *first = ecl_diags_summary(&diags);
                return ecl_reason(ret_reason, r, "stack %s: %s", stack, first ? first : "its manifest does not load");
        }
        return 0;
}

int agent_stack_quorum(const char *root, const char *stack, unsigned *ret, char **ret_reason) {
        _cleanup_manifest_ struct ecl_manifest *m = NULL;
        int r = agent_stack_manifest(root, stack, &m, ret_reason);
        if (r < 0)
                return r;
        *ret = m->updates_quorum;
        return 0;
}

int agent_bundle_save(struct agent_store *s, struct agent_bundle *b, uint64_t now, char **ret_reason) {
        b->rec.changed = now;
        return agent_record_write(s, &b->rec, ret_reason);
}

int agent_bundle_refresh(struct agent_store *s, struct agent_bundle *b, uint64_t now, const char *root,
                         const char *log, char **ret_warning, char **ret_reason) {
        if (b->rec.state != AGENT_BUNDLE_QUARANTINED && b->rec.state != AGENT_BUNDLE_APPROVED)
                return 0;
        if (now < b->rec.approval_expires && now < b->rec.expires)
                return 0;
        char t[ECL_RFC3339_TEXT_MAX];
        bool window = now >= b->rec.approval_expires;
        json_auto_t *d = json_pack("{s:s, s:s, s:s, s:s}", "id", b->rec.id, "version", b->rec.version, "was",
                                   agent_bundle_state_to_string(b->rec.state), window ? "approval_expires" : "expires",
                                   ecl_rfc3339_text(window ? b->rec.approval_expires : b->rec.expires, t));
        if (!d)
                return ecl_reason(ret_reason, -ENOMEM, "out of memory");
        /* the record first: a bundle is never shown expired without the log saying so */
        int r = agent_audit(root, log, ECL_AUDIT_SELF_ACTOR, "expired", b->rec.stack, d, ret_warning, ret_reason);
        if (r < 0)
                return r;
        b->rec.state = AGENT_BUNDLE_EXPIRED;
        r = agent_bundle_save(s, b, now, ret_reason);
        return r < 0 ? r : 1;
}

const char *agent_current_name(const char *stack, const char *path) {
        static const char base[] = ECL_STACKS_STATE_DIR "/";
        size_t n = strlen(stack);
        if (strncmp(path, base, sizeof base - 1) != 0)
                return NULL;
        path += sizeof base - 1;
        if (strncmp(path, stack, n) != 0 || strncmp(path + n, "/current/", 9) != 0)
                return NULL;
        return path + n + 9;
}

int agent_bundle_provides(const struct ecl_manifest *m, const struct agent_bundle_meta *b, char **ret_reason) {
        const char *needed[2 + ECL_DISKS_MAX];
        size_t n = 0;
        if (m->vm.kernel)
                needed[n++] = m->vm.kernel;
        if (m->vm.initrd)
                needed[n++] = m->vm.initrd;
        for (size_t i = 0; i < m->vm.n_disks && n < ELEMENTSOF(needed); i++)
                needed[n++] = m->vm.disks[i].path;
        for (size_t i = 0; i < n; i++) {
                const char *name = agent_current_name(m->stack, needed[i]);
                if (!name)
                        continue;
                bool found = false;
                for (size_t k = 0; k < b->n_payload && !found; k++)
                        found = strcmp(b->payload[k].install, name) == 0;
                if (!found)
                        return ecl_reason(ret_reason, -EBADMSG,
                                          "the release does not provide %s, which the manifest of stack '%s' boots "
                                          "(no payload entry installs '%s')",
                                          needed[i], m->stack, name);
        }
        return 0;
}
