/* SPDX-License-Identifier: Apache-2.0 */
#pragma once
/*
 * Reading a bundle (DESIGN.md, "Bundles, approvals, access"): a tar file,
 * ustar, pax or GNU tar, never compressed, whose first two entries are
 * bundle.yaml and bundle.yaml.sig and whose other entries are the payload
 * files bundle.yaml lists.  The whole bundle is read once, in order, from a
 * file descriptor (a file or a pipe), in blocks of AGENT_BUNDLE_TAR_BLOCK:
 *
 *         _cleanup_(agent_bundle_tar_freep) struct agent_bundle_tar *t = NULL;
 *         r = agent_bundle_tar_open(fd, "office-2.4.1.tar", &t, &why);
 *         r = agent_bundle_tar_read_head(t, &meta, &meta_len, &sig, &sig_len, &why);
 *         ... verify sig over meta, parse meta (bundle-meta.h) ...
 *         r = agent_bundle_tar_extract(t, m, quarantine_dirfd, progress, ud, &why);
 *
 * Every refusal is -EBADMSG with a one-line reason that names the entry.
 * Refused: compressed input (gzip, bzip2, xz, zstd, lz4, lzma, compress)
 * and anything libarchive's tar reader does not take; first entries other
 * than the regular files "bundle.yaml" (at most AGENT_BUNDLE_META_MAX_SIZE,
 * refused from its header, before its data is read) and "bundle.yaml.sig"
 * (at most ECL_SSHSIG_MAX_SIZE); then any entry whose final name (after pax
 * and GNU long-name records) has a control character, is absolute, has a
 * ".." component, is not listed in bundle.yaml or comes twice; symbolic
 * and hard links, devices, FIFOs, sockets and every other non-regular type;
 * sparse entries; an entry whose size (after pax) is not the listed one;
 * a sha256 that is not the listed one; a listed entry missing at the end.
 *
 * Directory entries: only "payload/" and the directories that lead to a
 * listed path ("payload/a/" for "payload/a/b"), each at most once, with no
 * data, are accepted, as `tar cf b.tar bundle.yaml bundle.yaml.sig payload`
 * writes them; they are skipped (nothing is created for them: the files go
 * flat into dirfd under their install names).  Any other directory entry is
 * refused.  Entry metadata (mode, owner, times, extended attributes) is
 * ignored: every file is created 0600.
 *
 * Failures that are not the bundle's fault keep their errno: -EIO and the
 * like reading fd, -EEXIST, -ENOSPC and the like writing into dirfd,
 * -ENOMEM.
 */
#include <stddef.h>
#include <stdint.h>

#include "bundle-meta.h"
#include "macro.h"

/* Bytes read from the bundle at a time. */
#define AGENT_BUNDLE_TAR_BLOCK (1024 * 1024)

struct agent_bundle_tar;

/*
 * Start reading a bundle from fd (kept open by the caller, read from where
 * it stands).  name is used in reasons (NULL: "bundle").  The first block is
 * read here, so compressed input is refused at once.
 */
int agent_bundle_tar_open(int fd, const char *name, struct agent_bundle_tar **ret, char **ret_reason);

/*
 * Read the first two entries, bundle.yaml and bundle.yaml.sig, whole, into
 * new NUL-terminated buffers (the lengths do not count the NUL).  Once,
 * right after open.
 */
int agent_bundle_tar_read_head(struct agent_bundle_tar *t, char **ret_meta, size_t *ret_meta_len, char **ret_sig,
                               size_t *ret_sig_len, char **ret_reason);

/* Called with the payload bytes written so far and the sum of the listed sizes. */
typedef void (*agent_progress_fn)(uint64_t done, uint64_t total, void *userdata);

/*
 * Stream every remaining entry once: each payload file is created in dirfd
 * as its install name (O_CREAT|O_EXCL|O_NOFOLLOW, mode 0600), written and
 * hashed (sha256) in the same pass, never beyond its listed size, and
 * fsync'd; its hash is compared at the end of the entry.  progress (may be
 * NULL) is called at most about 10 times a second, and once when every byte
 * is written.  Once, after read_head.  On failure the files already
 * created stay (the caller extracts into a directory of its own and removes
 * it); dirfd itself is not fsync'd.
 */
int agent_bundle_tar_extract(struct agent_bundle_tar *t, const struct agent_bundle_meta *meta, int dirfd,
                             agent_progress_fn progress, void *userdata, char **ret_reason);

void agent_bundle_tar_free(struct agent_bundle_tar *t);
DEFINE_TRIVIAL_CLEANUP_FUNC(struct agent_bundle_tar *, agent_bundle_tar_free);
