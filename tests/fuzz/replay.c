/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Without libFuzzer, a fuzz target is linked with this driver and replays
 * every file of its seed corpus (a directory) or the files named, so the
 * targets are built and exercised by the ordinary test run.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int replay_file(int dirfd, const char *name) {
        int fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
        if (fd < 0) {
                fprintf(stderr, "replay: %s: %s\n", name, strerror(errno));
                return -1;
        }
        struct stat st;
        if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
                close(fd);
                return 0;
        }
        uint8_t *buf = malloc(st.st_size ? (size_t) st.st_size : 1);
        if (!buf) {
                close(fd);
                return -1;
        }
        ssize_t n = read(fd, buf, (size_t) st.st_size);
        close(fd);
        if (n < 0) {
                free(buf);
                return -1;
        }
        LLVMFuzzerTestOneInput(buf, (size_t) n);
        free(buf);
        return 1;
}

int main(int argc, char **argv) {
        int count = 0;
        /* The empty input always runs, so an empty corpus still exercises the target. */
        LLVMFuzzerTestOneInput((const uint8_t *) "", 0);
        for (int i = 1; i < argc; i++) {
                DIR *d = opendir(argv[i]);
                if (!d) {
                        int r = replay_file(AT_FDCWD, argv[i]);
                        if (r < 0)
                                return 1;
                        count += r;
                        continue;
                }
                struct dirent *de;
                while ((de = readdir(d))) {
                        if (de->d_name[0] == '.')
                                continue;
                        int r = replay_file(dirfd(d), de->d_name);
                        if (r < 0) {
                                closedir(d);
                                return 1;
                        }
                        count += r;
                }
                closedir(d);
        }
        printf("replayed %d inputs\n", count);
        return 0;
}
