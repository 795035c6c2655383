/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Compact keeping of the JSON texts of one kind of object, as the informer's cache keeps them.
 *
 * Each text is compressed with zstd against a dictionary: the first text packed, taken as raw content.
 * Objects of one kind share most of what is not their data (keys, apiVersion and kind, labels, managers,
 * the shape of managedFields), so that part costs a few bytes; the rest goes through zstd's entropy coder.
 * A text that does not get smaller is kept as it is. Unpacking is a few microseconds for an object of a
 * few KiB, well under what parsing its JSON costs.
 *
 * Thread-safe: one thread may pack while others unpack (each unpack borrows a decompression context from
 * a small pool).
 */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "macro.h"

struct objpack;

int objpack_new(struct objpack **ret);
struct objpack *objpack_free(struct objpack *p);
DEFINE_TRIVIAL_CLEANUP_FUNC(struct objpack *, objpack_free);

/* The most bytes objpack_pack() writes for a text of len bytes. */
size_t objpack_bound(size_t len);

/* Packs text (len bytes, at most UINT32_MAX) into dst (objpack_bound(len) bytes). Returns the packed size:
 * equal to len when the text is kept as it is (dst holds a copy), smaller when compressed; -ENOMEM. */
int64_t objpack_pack(struct objpack *p, void *dst, const char *text, size_t len);

/* The text of len bytes that packed (packed_size bytes, as returned by objpack_pack()) holds: written to
 * dst (len + 1 bytes, NUL-terminated). 0, -ENOMEM, or -EINVAL when packed is not what p packed. */
int objpack_unpack(struct objpack *p, const void *packed, size_t packed_size, char *dst, size_t len);
