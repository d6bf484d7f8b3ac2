/* SPDX-License-Identifier: Apache-2.0 */
/* SHA-256 of an open file (file-hash.h). */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "file-hash.h"
#include "macro.h"
#include "reason.h"
#include "ssl-cleanup.h"

int agent_sha256_fd(int fd, uint8_t out[AGENT_SHA256_LEN], uint64_t *ret_size, char **ret_reason) {
        _cleanup_free_ uint8_t *buf = malloc(AGENT_SHA256_BLOCK);
        _cleanup_(EVP_MD_CTX_freep) EVP_MD_CTX *ctx = EVP_MD_CTX_new();
        if (!buf || !ctx)
                return ecl_reason(ret_reason, -ENOMEM, "out of memory");
        if (EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) != 1)
                return ecl_reason(ret_reason, -ENOMEM, "cannot start a SHA-256 digest");
        (void) posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
        uint64_t off = 0;
        for (;;) {
                ssize_t n = pread(fd, buf, AGENT_SHA256_BLOCK, (off_t) off);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0)
                        return ecl_reason_errno(ret_reason, negative_errno(), "cannot read");
                if (n == 0)
                        break;
                if (EVP_DigestUpdate(ctx, buf, (size_t) n) != 1)
                        return ecl_reason(ret_reason, -ENOMEM, "SHA-256 digest failed");
                off += (uint64_t) n;
        }
        unsigned len = 0;
        if (EVP_DigestFinal_ex(ctx, out, &len) != 1 || len != AGENT_SHA256_LEN)
                return ecl_reason(ret_reason, -ENOMEM, "SHA-256 digest failed");
        if (ret_size)
                *ret_size = off;
        return 0;
}

void agent_sha256_hex(const uint8_t digest[AGENT_SHA256_LEN], char out[AGENT_SHA256_HEX_LEN + 1]) {
        static const char hex[] = "0123456789abcdef";
        for (size_t i = 0; i < AGENT_SHA256_LEN; i++) {
                out[2 * i] = hex[digest[i] >> 4];
                out[2 * i + 1] = hex[digest[i] & 0xf];
        }
        out[AGENT_SHA256_HEX_LEN] = '\0';
}
