/* SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "libvirt-embed.h"
#include "log.h"
#include "paths.h"

int shim_mkdir_p(const char *path, mode_t mode) {
        _cleanup_free_ char *p = strdup(path);
        if (!p)
                return -ENOMEM;
        for (char *s = p + 1;; s++) {
                if (*s != '/' && *s != '\0')
                        continue;
                char c = *s;
                *s = '\0';
                if (mkdir(p, mode) < 0 && errno != EEXIST)
                        return log_error_errno(negative_errno(), "cannot create %s: %m", p);
                *s = c;
                if (c == '\0')
                        break;
        }
        struct stat st;
        if (lstat(path, &st) < 0)
                return log_error_errno(negative_errno(), "cannot stat %s: %m", path);
        if (!S_ISDIR(st.st_mode))
                return log_error_errno(ENOTDIR, "%s is not a directory", path);
        return 0;
}

static int write_atomic(const char *path, const char *text, mode_t mode) {
        _cleanup_free_ char *tmp = NULL;
        if (asprintf(&tmp, "%s.tmp.%d", path, (int) getpid()) < 0)
                return -ENOMEM;
        int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, mode);
        if (fd < 0)
                return log_error_errno(negative_errno(), "cannot create %s: %m", tmp);
        size_t len = strlen(text);
        ssize_t n = write(fd, text, len);
        int r = (n == (ssize_t) len && fsync(fd) == 0) ? 0 : (n < 0 ? negative_errno() : -EIO);
        if (close(fd) < 0 && r == 0)
                r = negative_errno();
        if (r == 0 && rename(tmp, path) < 0)
                r = negative_errno();
        if (r < 0) {
                (void) unlink(tmp);
                return log_error_errno(r, "cannot write %s: %m", path);
        }
        return 0;
}

int shim_embed_prepare(const char *root, const char *stack, char **ret_dir) {
        _cleanup_free_ char *dir = NULL, *etc = NULL, *conf = NULL;
        if (!stack || !*stack || strchr(stack, '/') || stack[0] == '.')
                return log_error_errno(EINVAL, "invalid stack name for the embedded root");
        if (ecl_path(&dir, root, ECL_LIBVIRT_DIR "/%s", stack) < 0 ||
            ecl_path(&etc, root, ECL_LIBVIRT_DIR "/%s/etc", stack) < 0 ||
            ecl_path(&conf, root, ECL_LIBVIRT_DIR "/%s/etc/qemu.conf", stack) < 0)
                return log_oom();
        int r = shim_mkdir_p(etc, 0755);
        if (r < 0)
                return r;
        /* QEMU runs as its own user and must traverse to lib/qemu/domain-N (libvirt's, 0750) */
        if (chmod(dir, 0711) < 0 || chmod(etc, 0700) < 0)
                return log_error_errno(negative_errno(), "cannot restrict %s: %m", dir);
        r = write_atomic(conf, SHIM_EMBED_QEMU_CONF, 0600);
        if (r < 0)
                return r;
        /* libvirt wants an absolute root; --root may be relative. */
        char *abs = realpath(dir, NULL);
        if (!abs)
                return log_error_errno(negative_errno(), "cannot resolve %s: %m", dir);
        *ret_dir = abs;
        return 0;
}

static bool unreserved(unsigned char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
               c == '.' || c == '_' || c == '~' || c == '/';
}

int shim_embed_uri(const char *dir, char **ret_uri) {
        static const char prefix[] = "qemu:///embed?root=";
        size_t n = strlen(dir);
        char *u = malloc(sizeof prefix + 3 * n);
        if (!u)
                return -ENOMEM;
        char *p = stpcpy(u, prefix);
        for (const unsigned char *s = (const unsigned char *) dir; *s; s++) {
                if (unreserved(*s))
                        *p++ = (char) *s;
                else
                        p += sprintf(p, "%%%02X", *s);
        }
        *p = '\0';
        *ret_uri = u;
        return 0;
}

bool shim_uri_is_embed(const char *uri) {
        return !uri || !*uri || strncmp(uri, "qemu:///embed", 13) == 0;
}

int shim_connect_uri(const char *root, const char *stack, const char *connect, char **ret_uri, bool *ret_embed) {
        if (connect && *connect) {
                if (shim_uri_is_embed(connect))
                        return log_error_errno(EINVAL, "--connect %s: the embedded driver is the default; "
                                                       "its root follows --root", connect);
                char *u = strdup(connect);
                if (!u)
                        return log_oom();
                *ret_uri = u;
                *ret_embed = false;
                return 0;
        }
        _cleanup_free_ char *dir = NULL;
        int r = shim_embed_prepare(root, stack, &dir);
        if (r < 0)
                return r;
        r = shim_embed_uri(dir, ret_uri);
        if (r < 0)
                return log_oom();
        *ret_embed = true;
        return 0;
}
