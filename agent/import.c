/* SPDX-License-Identifier: Apache-2.0 */
/* Importing a vendor bundle into quarantine: the order of import.h, one step per function. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "allowed-signers.h"
#include "apply.h"
#include "bundle-meta.h"
#include "bundle-tar.h"
#include "bundles.h"
#include "disk-header.h"
#include "durable.h"
#include "fileio.h"
#include "hex.h"
#include "import.h"
#include "macro.h"
#include "manifest.h"
#include "quarantine.h"
#include "paths.h"
#include "reason.h"
#include "rfc3339.h"
#include "sshsig.h"
#include "statement.h"
#include "store.h"


void agent_import_result_clear(struct agent_import_result *r) {
        if (!r)
                return;
        free(r->stack);
        free(r->version);
        free(r->vendor);
        *r = (struct agent_import_result){0};
}

/* What one import holds while it runs. */
struct import {
        const char *root;
        const char *path;           /* the bundle, for messages */
        const struct agent_import_options *o;
        uint64_t now;
        struct agent_import_result *res;
        char *meta_text;
        size_t meta_len;
        char *sig_text;
        size_t sig_len;
        struct agent_bundle_meta *meta;
        struct ecl_manifest *manifest;
        struct agent_store *store;
        int entry_fd;               /* the temporary quarantine entry */
        int bundle_fd;              /* the bundle, read by the tar reader */
        char *entry_tmp;
};

static void import_done(struct import *im) {
        free(im->meta_text);
        free(im->sig_text);
        agent_bundle_meta_free(im->meta);
        ecl_manifest_free(im->manifest);
        if (im->entry_tmp)
                (void) agent_store_import_abort(im->store, im->entry_tmp);
        free(im->entry_tmp);
        if (im->entry_fd >= 0)
                close(im->entry_fd);
        if (im->bundle_fd >= 0)
                close(im->bundle_fd);
        agent_store_free(im->store);
}


/* The problems of a file as one line (diag.h), or "bad data" when none was recorded. */
static int diags_reason(char **ret_reason, int err, const struct ecl_diags *d) {
        _cleanup_free_ char *summary = ecl_diags_summary(d);
        return ecl_reason(ret_reason, err, "%s", summary ? summary : "bad data");
}

/* A reason of the tar reader, naming the bundle once (some of its reasons name it already). */
static int tar_reason(char **ret_reason, int r, const char *path, const char *why) {
        const char *text = ecl_reason_text(why, r);
        size_t n = strlen(path);
        if (strncmp(text, path, n) == 0 && text[n] == ':')
                return ecl_reason(ret_reason, r, "%s", text);
        return ecl_reason(ret_reason, r, "%s: %s", path, text);
}

/* Steps 1 and 2: the file, the tar, its two first entries. */
static int read_head(struct import *im, struct agent_bundle_tar **ret_tar, char **ret_reason) {
        _cleanup_free_ char *why = NULL;
        int r = ecl_file_open_at(AT_FDCWD, im->path, 0, &im->bundle_fd, NULL, &why);
        if (r < 0)
                return ecl_reason(ret_reason, r, "%s: %s", im->path, ecl_reason_text(why, r));
        _cleanup_(agent_bundle_tar_freep) struct agent_bundle_tar *t = NULL;
        r = agent_bundle_tar_open(im->bundle_fd, im->path, &t, &why);
        if (r < 0)
                return tar_reason(ret_reason, r, im->path, why);
        r = agent_bundle_tar_read_head(t, &im->meta_text, &im->meta_len, &im->sig_text, &im->sig_len, &why);
        if (r < 0)
                return tar_reason(ret_reason, r, im->path, why);
        uint8_t digest[32];
        unsigned dlen = 0;
        if (EVP_Digest(im->meta_text, im->meta_len, digest, &dlen, EVP_sha256(), NULL) != 1 || dlen != 32)
                return ecl_reason(ret_reason, -EIO, "%s: cannot hash bundle.yaml", im->path);
        ecl_hex_encode(digest, 32, im->res->digest);
        memcpy(im->res->id, im->res->digest, 12);
        im->res->id[12] = '\0';
        *ret_tar = TAKE_PTR(t);
        return 0;
}

/* Step 3: the vendor's signature, before anything of bundle.yaml is believed. */
static int check_vendor(struct import *im, char **ret_reason) {
        _cleanup_free_ char *why = NULL;
        _cleanup_(ecl_sshsig_verdict_clear) struct ecl_sshsig_verdict v = {0};
        int r = agent_vendor_verify(im->root, im->meta_text, im->meta_len, im->sig_text, im->sig_len, im->now, &v,
                                    &why);
        snprintf(im->res->vendor_fingerprint, sizeof im->res->vendor_fingerprint, "%s", v.fingerprint);
        if (r < 0)
                return ecl_reason(ret_reason, r, "%s: %s", im->path, ecl_reason_text(why, r));
        im->res->vendor = strdup(v.principal);
        if (!im->res->vendor)
                return ecl_reason(ret_reason, -ENOMEM, "out of memory");
        return 0;
}

/* Step 4. */
static int parse_meta(struct import *im, char **ret_reason) {
        _cleanup_free_ char *name = NULL;
        if (asprintf(&name, "%s:bundle.yaml", im->path) < 0)
                return ecl_reason(ret_reason, -ENOMEM, "out of memory");
        _cleanup_(ecl_diags_clear) struct ecl_diags diags = {0};
        int r = agent_bundle_meta_parse(name, im->meta_text, im->meta_len, &im->meta, &diags);
        if (r < 0)
                return diags_reason(ret_reason, r == -ENOMEM ? r : -EBADMSG, &diags);
        im->res->stack = strdup(im->meta->stack);
        im->res->version = strdup(im->meta->version_text);
        if (!im->res->stack || !im->res->version)
                return ecl_reason(ret_reason, -ENOMEM, "out of memory");
        im->res->n_payload = im->meta->n_payload;
        for (size_t i = 0; i < im->meta->n_payload; i++)
                im->res->payload_bytes += im->meta->payload[i].size;
        return 0;
}

/* Step 5: what this host says of the bundle. */
static int check_host(struct import *im, char **ret_reason) {
        const struct agent_bundle_meta *b = im->meta;
        _cleanup_free_ char *mpath = NULL;
        if (ecl_path(&mpath, im->root, ECL_STACKS_CONF_DIR "/%s.yaml", b->stack) < 0)
                return ecl_reason(ret_reason, -ENOMEM, "out of memory");
        if (access(mpath, F_OK) < 0 && errno == ENOENT)
                return ecl_reason(ret_reason, -EBADMSG,
                                  "%s: the bundle is for stack '%s', which is not configured on this host (no %s)",
                                  im->path, b->stack, mpath);
        _cleanup_(ecl_diags_clear) struct ecl_diags diags = {0};
        int r = ecl_manifest_load_file(mpath, &im->manifest, &diags);
        if (r < 0) {
                _cleanup_free_ char *why = NULL;
                (void) diags_reason(&why, r, &diags);
                return ecl_reason(ret_reason, r == -ENOMEM ? r : -EBADMSG,
                                  "%s: the manifest of stack '%s' does not load: %s", im->path, b->stack,
                                  ecl_reason_text(why, r));
        }
        const struct ecl_manifest *m = im->manifest;
        if (strcmp(m->stack, b->stack) != 0)
                return ecl_reason(ret_reason, -EBADMSG, "%s: %s is the manifest of stack '%s', not '%s'", im->path,
                                  mpath, m->stack, b->stack);
        if (strcmp(m->licensor, b->licensor) != 0)
                return ecl_reason(ret_reason, -EBADMSG,
                                  "%s: the bundle's licensor is '%s', stack '%s' is licensed from '%s'", im->path,
                                  b->licensor, b->stack, m->licensor);
        if (im->now >= b->expires) {
                char t[ECL_RFC3339_TEXT_MAX];
                return ecl_reason(ret_reason, -EBADMSG, "%s: the bundle expired at %s", im->path,
                                  ecl_rfc3339_text(b->expires, t));
        }

        /* The floor, once nothing is in flight on the stack. */
        _cleanup_(agent_stack_state_clear) struct agent_stack_state st = {0};
        _cleanup_free_ char *why = NULL;
        struct agent_apply_options ao = {.root = im->root, .log = im->o->log, .now = im->now};
        r = agent_stack_settle(im->store, b->stack, &ao, &why);
        if (r < 0)
                return ecl_reason(ret_reason, r, "stack %s: %s", b->stack, ecl_reason_text(why, r));
        r = agent_stack_state_read(im->store, b->stack, &st, &why);
        if (r < 0)
                return ecl_reason(ret_reason, r, "stack %s: %s", b->stack, ecl_reason_text(why, r));
        im->res->decision = AGENT_DECISION_APPLY;
        if (st.floor) {
                struct agent_version floor;
                r = agent_version_parse(st.floor, &floor, &why);
                if (r < 0)
                        return ecl_reason(ret_reason, -EBADMSG, "stack %s: its state has a bad floor: %s", b->stack,
                                          ecl_reason_text(why, r));
                if (agent_version_compare(&b->version, &floor) <= 0) {
                        if (!im->o->downgrade)
                                return ecl_reason(ret_reason, -EBADMSG,
                                                  "%s: version %s is not newer than %s, the floor of stack '%s' (a "
                                                  "downgrade is imported with --downgrade and needs its own quorum)",
                                                  im->path, b->version_text, st.floor, b->stack);
                        im->res->decision = AGENT_DECISION_DOWNGRADE;
                }
        }

        /* Every file the manifest boots from current/ comes with the release. */
        r = agent_bundle_provides(m, b, &why);
        if (r < 0)
                return ecl_reason(ret_reason, r, "%s: %s", im->path, ecl_reason_text(why, r));

        /* Not imported already. */
        _cleanup_close_ int efd = -1;
        r = agent_store_open_entry(im->store, im->res->id, &efd, NULL);
        if (r >= 0)
                return ecl_reason(ret_reason, -EBADMSG, "%s: already imported as %s", im->path, im->res->id);
        return 0;
}

/* Step 6, after the stream: each disk of the manifest under current/ has the header of its declared format. */
static int check_disks(struct import *im, int payload_fd, char **ret_reason) {
        const struct ecl_manifest *m = im->manifest;
        for (size_t i = 0; i < m->vm.n_disks; i++) {
                const char *name = agent_current_name(m->stack, m->vm.disks[i].path);
                if (!name)
                        continue;
                _cleanup_close_ int fd = openat(payload_fd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
                if (fd < 0)
                        return ecl_reason_errno(ret_reason, -errno, "%s: payload file %s", im->path, name);
                _cleanup_free_ char *why = NULL;
                int r = agent_disk_header_check(fd, m->vm.disks[i].format, &why);
                if (r < 0)
                        return ecl_reason(ret_reason, r, "%s: %s (declared %s in the manifest): %s", im->path, name,
                                          ecl_disk_format_to_string(m->vm.disks[i].format), ecl_reason_text(why, r));
        }
        return 0;
}

static int write_file(int dirfd, const char *name, const void *data, size_t len, char **ret_reason) {
        _cleanup_free_ char *why = NULL;
        int r = ecl_write_atomic_at(dirfd, name, data, len, 0640, &why);
        if (r < 0)
                return ecl_reason(ret_reason, r, "quarantine: %s: %s", name, ecl_reason_text(why, r));
        return 0;
}

/* Step 7: statement and record, then the entry becomes quarantine/ID. */
static int seal(struct import *im, char **ret_reason) {
        const struct agent_bundle_meta *b = im->meta;
        struct agent_statement s = {
                .decision = im->res->decision,
                .stack = b->stack,
                .licensor = b->licensor,
                .version = b->version_text,
                .imported = im->now,
                .approval_expires = im->now + AGENT_APPROVAL_WINDOW_S < b->expires ? im->now + AGENT_APPROVAL_WINDOW_S
                                                                                 : b->expires,
        };
        if (!ecl_hex_decode(im->res->digest, 64, s.bundle, sizeof s.bundle))
                return ecl_reason(ret_reason, -EINVAL, "bad digest");
        _cleanup_free_ char *why = NULL;
        int r = agent_nonce_new(s.nonce, &why);
        if (r < 0)
                return ecl_reason(ret_reason, r, "%s", ecl_reason_text(why, r));
        _cleanup_free_ char *text = NULL;
        r = agent_statement_format(&s, &text, &why);
        if (r < 0)
                return ecl_reason(ret_reason, r, "%s: the statement: %s", im->path, ecl_reason_text(why, r));
        im->res->approval_expires = s.approval_expires;

        r = write_file(im->entry_fd, AGENT_META_FILE, im->meta_text, im->meta_len, ret_reason);
        if (r >= 0)
                r = write_file(im->entry_fd, AGENT_SIG_FILE, im->sig_text, im->sig_len, ret_reason);
        if (r >= 0)
                r = write_file(im->entry_fd, AGENT_STATEMENT_FILE, text, strlen(text), ret_reason);
        if (r < 0)
                return r;
        if (mkdirat(im->entry_fd, AGENT_APPROVALS_DIR, 0750) < 0)
                return ecl_reason_errno(ret_reason, -errno, "quarantine: %s", AGENT_APPROVALS_DIR);
        struct agent_bundle_record rec = {
                .stack = b->stack,
                .version = b->version_text,
                .state = AGENT_BUNDLE_QUARANTINED,
                .downgrade = im->res->decision == AGENT_DECISION_DOWNGRADE,
                .imported = im->now,
                .expires = b->expires,
                .approval_expires = s.approval_expires,
                .changed = im->now,
        };
        memcpy(rec.id, im->res->id, sizeof rec.id);
        memcpy(rec.digest, im->res->digest, sizeof rec.digest);
        r = agent_record_write_at(im->entry_fd, &rec, &why);
        if (r < 0)
                return ecl_reason(ret_reason, r, "quarantine: %s", ecl_reason_text(why, r));
        r = ecl_fsync_dir_at(im->entry_fd, NULL, &why);
        if (r < 0)
                return ecl_reason(ret_reason, r, "quarantine: %s", ecl_reason_text(why, r));
        if (im->o->before_commit && (r = im->o->before_commit(im->res, im->o->userdata, ret_reason)) < 0)
                return r;
        r = agent_store_import_commit(im->store, im->entry_tmp, im->res->id, &why);
        if (r < 0)
                return ecl_reason(ret_reason, r, "%s: %s", im->path, ecl_reason_text(why, r));
        free(im->entry_tmp); /* it is quarantine/ID now: nothing to remove */
        im->entry_tmp = NULL;
        return 0;
}

/* Steps 1 to 7 on the open store. */
static int import_run(struct import *im, char **ret_reason) {
        _cleanup_free_ char *why = NULL;
        /* one import at a time, and what a crash left removed first: never a partial entry */
        int r = agent_store_lock(im->store, true, &why);
        if (r < 0)
                return ecl_reason(ret_reason, r, "%s", ecl_reason_text(why, r));
        (void) agent_store_recover(im->store, NULL);

        _cleanup_(agent_bundle_tar_freep) struct agent_bundle_tar *tar = NULL;
        r = read_head(im, &tar, ret_reason);
        if (r >= 0)
                r = check_vendor(im, ret_reason);
        if (r >= 0)
                r = parse_meta(im, ret_reason);
        if (r >= 0)
                r = check_host(im, ret_reason);
        if (r < 0)
                return r;

        r = agent_store_import_begin(im->store, &im->entry_fd, &im->entry_tmp, &why);
        if (r < 0)
                return ecl_reason(ret_reason, r, "quarantine: %s", ecl_reason_text(why, r));
        if (mkdirat(im->entry_fd, AGENT_PAYLOAD_DIR, 0750) < 0)
                return ecl_reason_errno(ret_reason, -errno, "quarantine: %s", AGENT_PAYLOAD_DIR);
        _cleanup_close_ int pfd = openat(im->entry_fd, AGENT_PAYLOAD_DIR, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (pfd < 0)
                return ecl_reason_errno(ret_reason, -errno, "quarantine: %s", AGENT_PAYLOAD_DIR);
        r = agent_bundle_tar_extract(tar, im->meta, pfd, im->o->progress, im->o->userdata, &why);
        if (r < 0)
                return tar_reason(ret_reason, r, im->path, why);
        r = check_disks(im, pfd, ret_reason);
        if (r < 0)
                return r;
        r = ecl_fsync_dir_at(pfd, NULL, &why);
        if (r < 0)
                return ecl_reason(ret_reason, r, "quarantine: %s", ecl_reason_text(why, r));
        return seal(im, ret_reason);
}

int agent_import(const char *root, const char *path, const struct agent_import_options *o,
                 struct agent_import_result *ret, char **ret_reason) {
        struct import im = {
                .root = root,
                .path = path,
                .o = o,
                .now = o->now ? o->now : (uint64_t) time(NULL),
                .res = ret,
                .entry_fd = -1,
                .bundle_fd = -1,
        };
        _cleanup_free_ char *why = NULL;
        int r = agent_store_open(root, &im.store, &why);
        if (r < 0)
                r = ecl_reason(ret_reason, r, "%s", ecl_reason_text(why, r));
        else
                r = import_run(&im, ret_reason);
        import_done(&im);
        return r;
}
