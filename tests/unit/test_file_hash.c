/* SPDX-License-Identifier: Apache-2.0 */
/* agent/file-hash: SHA-256 of an open file, from its start, whatever its offset. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "file-hash.h"
#include "testlib.h"

static void hash_of(const char *path, char hex[AGENT_SHA256_HEX_LEN + 1], uint64_t *size) {
        _cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
        assert_true(fd >= 0);
        uint8_t d[AGENT_SHA256_LEN];
        _cleanup_free_ char *why = NULL;
        assert_int_equal(agent_sha256_fd(fd, d, size, &why), 0);
        agent_sha256_hex(d, hex);
}

static void test_known(void **state) {
        (void) state;
        _cleanup_free_ char *dir = tl_mkdtemp();
        _cleanup_free_ char *empty = tl_strf("%s/empty", dir), *abc = tl_strf("%s/abc", dir);
        tl_write_file(empty, "", 0);
        tl_write_file(abc, "abc", 3);
        char hex[AGENT_SHA256_HEX_LEN + 1];
        uint64_t size = 99;
        hash_of(empty, hex, &size);
        assert_string_equal(hex, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
        assert_int_equal(size, 0);
        hash_of(abc, hex, &size);
        assert_string_equal(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
        assert_int_equal(size, 3);
        tl_rm_rf(dir);
}

/* Several blocks and a partial one; the descriptor's offset neither used nor moved. */
static void test_large_and_offset(void **state) {
        (void) state;
        _cleanup_free_ char *dir = tl_mkdtemp();
        _cleanup_free_ char *path = tl_strf("%s/big", dir);
        size_t len = 2 * AGENT_SHA256_BLOCK + 12345;
        _cleanup_free_ uint8_t *data = malloc(len);
        assert_non_null(data);
        for (size_t i = 0; i < len; i++)
                data[i] = (uint8_t) (i * 7 + i / 4099);
        tl_write_file(path, data, len);
        uint8_t want[AGENT_SHA256_LEN];
        unsigned wl = 0;
        assert_int_equal(EVP_Digest(data, len, want, &wl, EVP_sha256(), NULL), 1);

        _cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
        assert_true(fd >= 0);
        assert_int_equal(lseek(fd, 1000, SEEK_SET), 1000);
        uint8_t d[AGENT_SHA256_LEN];
        uint64_t size = 0;
        assert_int_equal(agent_sha256_fd(fd, d, &size, NULL), 0);
        assert_memory_equal(d, want, sizeof d);
        assert_int_equal(size, len);
        assert_int_equal(lseek(fd, 0, SEEK_CUR), 1000);
        /* NULL size is fine */
        assert_int_equal(agent_sha256_fd(fd, d, NULL, NULL), 0);
        assert_memory_equal(d, want, sizeof d);
        tl_rm_rf(dir);
}

static void test_unreadable(void **state) {
        (void) state;
        _cleanup_free_ char *dir = tl_mkdtemp();
        _cleanup_free_ char *path = tl_strf("%s/f", dir);
        tl_write_file(path, "x", 1);
        _cleanup_close_ int fd = open(path, O_WRONLY | O_CLOEXEC);
        assert_true(fd >= 0);
        uint8_t d[AGENT_SHA256_LEN];
        _cleanup_free_ char *why = NULL;
        assert_int_equal(agent_sha256_fd(fd, d, NULL, &why), -EBADF);
        assert_non_null(strstr(why, "cannot read: "));
        /* a directory cannot be read either */
        _cleanup_close_ int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        assert_true(dfd >= 0);
        assert_int_equal(agent_sha256_fd(dfd, d, NULL, NULL), -EISDIR);
        tl_rm_rf(dir);
}

static void test_hex(void **state) {
        (void) state;
        uint8_t d[AGENT_SHA256_LEN];
        for (size_t i = 0; i < sizeof d; i++)
                d[i] = (uint8_t) (i * 8 + 0x0f);
        char hex[AGENT_SHA256_HEX_LEN + 1];
        memset(hex, 'z', sizeof hex);
        agent_sha256_hex(d, hex);
        assert_string_equal(hex, "0f171f272f373f474f575f676f777f878f979fa7afb7bfc7cfd7dfe7eff7ff07");
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_known),
                cmocka_unit_test(test_large_and_offset),
                cmocka_unit_test(test_unreadable),
                cmocka_unit_test(test_hex),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
