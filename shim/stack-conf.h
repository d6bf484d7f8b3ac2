/* SPDX-License-Identifier: Apache-2.0 */
#pragma once
/*
 * The configured stacks: one manifest per stack, ROOT/etc/ecluse/stacks/STACK.yaml
 * (DESIGN.md, "Paths").  The commands that take a manifest take a stack's
 * name for its configured one too, so that a unit ecluse-shim@STACK runs
 * `ecluse-shim run STACK`; and a manifest's file name must be its stack's,
 * so that the unit of one stack never starts another.
 *
 * Nothing here prints: reasons come back through ret_reason (reason.h).
 */

#define SHIM_STACK_CONF_SUFFIX ".yaml"

/* ROOT/etc/ecluse/stacks.  0 or -ENOMEM. */
int shim_stack_conf_dir(const char *root, char **ret);

/*
 * The manifest an operand names.  A valid stack name (ecl_stack_name_valid(),
 * so no '/') is the configured ROOT/etc/ecluse/stacks/NAME.yaml: returns 1.
 * Anything else ("./office", "office.yaml", a path) is a file path, *ret_path a
 * copy of it: returns 0.  -ENOMEM.  Whether the file exists is the loader's business.
 */
int shim_stack_conf_resolve(const char *root, const char *operand, char **ret_path);

/*
 * The configured stacks, sorted, NULL-terminated: the entries NAME.yaml of
 * ROOT/etc/ecluse/stacks whose NAME is a valid stack name, whatever they are:
 * one that is a symbolic link or a directory is the loader's to refuse (66,
 * as for `run STACK`), not skipped.  Every other entry but "." and ".." is skipped;
 * when ret_skipped is not NULL it gets one line per skipped entry, "PATH: why",
 * sorted, NULL-terminated (printable: control characters are '?').  Errors:
 *   -ENOENT   no such directory
 *   -ENOTDIR  not a directory
 *   -errno    it cannot be read
 * each with *ret_reason naming the directory; -ENOMEM.
 */
int shim_stack_conf_list(const char *root, char ***ret_stacks, char ***ret_skipped, char **ret_reason);

/*
 * Whether the manifest at path is named for its stack: the base name of path
 * is STACK.yaml.  0, or -EBADMSG with *ret_reason saying what it is and what
 * it must be.
 */
int shim_stack_conf_check_name(const char *path, const char *stack, char **ret_reason);
