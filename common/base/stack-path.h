/* SPDX-License-Identifier: Apache-2.0 */
#pragma once
/*
 * The files a VM opens (kernel, initrd, disks) lie in its stack's own tree
 * (DESIGN.md, "What cut means", 1):
 *
 *         /var/lib/ecluse/stacks/STACK/current/...   the release
 *         /var/lib/ecluse/stacks/STACK/data/...      persistent disks
 *
 * and resolve there without leaving it through a link.  The one link allowed
 * is `current` itself, and only as `current -> releases/VERSION` (DESIGN.md,
 * "Paths"); `current` may also be a plain directory.
 */

/*
 * Lexically: path is normalised (absolute, no '.' or '..' component, no "//",
 * no trailing '/') and names a file below one of the two trees of stack.
 * 0 or -EINVAL.
 */
int ecl_stack_path_check(const char *stack, const char *path);

/*
 * Resolve path (a manifest path, read under root) from
 * ROOT/var/lib/ecluse/stacks/STACK component by component, following no link
 * but `current` as above, and check that it names a regular file.  The
 * directories above the stack's own one are the host's layout and followed
 * as they are.  On success 0 and, when ret_fd is not NULL, an O_PATH
 * descriptor of the file.  Otherwise a negative errno and, when ret_problem
 * is not NULL, what is wrong in words naming the manifest path (caller frees;
 * NULL when memory ran out):
 *   -EINVAL   not lexically in the tree (ecl_stack_path_check), or not a
 *             regular file
 *   -ELOOP    a symbolic link other than `current`
 *   -EXDEV    `current` points elsewhere than releases/VERSION
 *   -ENOTDIR  a component above the file is not a directory
 *   -ENOENT   a component does not exist
 *   -ENOMEM, or what the kernel said (-EACCES...) when a component cannot be looked at
 */
int ecl_stack_path_open(const char *root, const char *stack, const char *path, int *ret_fd, char **ret_problem);
