/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Copy a directory tree from one directory fd into another, following
 * nothing: every entry is reached from its parent's fd with O_NOFOLLOW, so a
 * hostile source cannot lead the copy anywhere else. libc and kernel only.
 */
#pragma once

#include <stddef.h>

#define TREE_COPY_SPECIAL   (1u << 0) /* fifos and device nodes (an overlay whiteout: char 0/0) */
#define TREE_COPY_XATTRS    (1u << 1) /* extended attributes (trusted.overlay.opaque, ...) */
#define TREE_COPY_TIMES	    (1u << 2) /* access and modification times */
#define TREE_COPY_HARDLINKS (1u << 3) /* a file linked twice in src is linked twice in dst */
#define TREE_COPY_TOP	    (1u << 4) /* and then src's own owner, mode, xattrs, times on dst */
#define TREE_COPY_ALL	    (TREE_COPY_SPECIAL | TREE_COPY_XATTRS | TREE_COPY_TIMES | TREE_COPY_HARDLINKS)

/*
 * Copy what is in directory src into directory dst (both O_RDONLY directory
 * fds; dst should be empty: nothing is overwritten), keeping owners and
 * modes. Regular files, directories and symlinks always; with flags, the rest
 * above. Sockets, and without TREE_COPY_SPECIAL fifos and devices, are
 * skipped. An owner that does not map (EINVAL in a user namespace) is left to
 * the copier. Returns 0 or -errno, with the failing entry's path (relative
 * to src) in where.
 */
int tree_copy(int src, int dst, unsigned flags, char *where, size_t where_size);
