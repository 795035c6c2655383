/* SPDX-License-Identifier: Apache-2.0 */
#include "kube/objpack.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <zstd.h>

#define LEVEL     1 /* the fastest: a cache packs every object it sees */
#define MIN_PACK  64
#define DCTX_KEEP 4 /* idle decompression contexts kept for the next unpack, by all packs together */

struct objpack {
        pthread_mutex_t lock; /* guards everything below */
        ZSTD_CCtx *cctx;
        ZSTD_CDict *cdict; /* NULL until the first text worth packing */
        ZSTD_DDict *ddict;
};

/* A decompression context is 94 KiB and serves any dictionary. An unpack takes microseconds, so a few
 * contexts serve every thread of the process; one per pack and per thread would add up to megabytes. */
static pthread_mutex_t idle_lock = PTHREAD_MUTEX_INITIALIZER;
static ZSTD_DCtx *idle[DCTX_KEEP];
static size_t nidle;

int objpack_new(struct objpack **ret) {
        struct objpack *p = calloc(1, sizeof(*p));

        if (!p)
                return -ENOMEM;
        pthread_mutex_init(&p->lock, NULL);
        *ret = p;
        return 0;
}

struct objpack *objpack_free(struct objpack *p) {
        if (!p)
                return NULL;
        ZSTD_freeCCtx(p->cctx);
        ZSTD_freeCDict(p->cdict);
        ZSTD_freeDDict(p->ddict);
        pthread_mutex_destroy(&p->lock);
        free(p);
        return NULL;
}

size_t objpack_bound(size_t len) {
        size_t z = ZSTD_compressBound(len);

        return z > len ? z : len;
}

int64_t objpack_pack(struct objpack *p, void *dst, const char *text, size_t len) {
        size_t z = 0;

        if (len > UINT32_MAX)
                return -EINVAL;
        if (len >= MIN_PACK) {
                pthread_mutex_lock(&p->lock);
                if (!p->cdict) {
                        /* the first text is the dictionary of all that follow (zstd takes a dictionary without
                         * its magic number as raw content) */
                        p->cctx = ZSTD_createCCtx();
                        p->cdict = ZSTD_createCDict(text, len, LEVEL);
                        p->ddict = ZSTD_createDDict(text, len);
                        if (!p->cctx || !p->cdict || !p->ddict) {
                                ZSTD_freeCCtx(p->cctx);
                                ZSTD_freeCDict(p->cdict);
                                ZSTD_freeDDict(p->ddict);
                                p->cctx = NULL;
                                p->cdict = NULL;
                                p->ddict = NULL;
                                pthread_mutex_unlock(&p->lock);
                                return -ENOMEM;
                        }
                }
                z = ZSTD_compress_usingCDict(p->cctx, dst, objpack_bound(len), text, len, p->cdict);
                pthread_mutex_unlock(&p->lock);
                if (ZSTD_isError(z))
                        z = 0; /* kept as it is */
        }
        if (z == 0 || z >= len) {
                memcpy(dst, text, len);
                return (int64_t) len;
        }
        return (int64_t) z;
}

int objpack_unpack(struct objpack *p, const void *packed, size_t packed_size, char *dst, size_t len) {
        ZSTD_DCtx *d = NULL;
        size_t n;

        if (packed_size == len) {
                memcpy(dst, packed, len);
                dst[len] = '\0';
                return 0;
        }
        if (packed_size > len)
                return -EINVAL;
        pthread_mutex_lock(&p->lock);
        const ZSTD_DDict *ddict = p->ddict;
        pthread_mutex_unlock(&p->lock);
        if (!ddict)
                return -EINVAL;
        pthread_mutex_lock(&idle_lock);
        if (nidle > 0)
                d = idle[--nidle];
        pthread_mutex_unlock(&idle_lock);
        if (!d && !(d = ZSTD_createDCtx()))
                return -ENOMEM;
        /* the dictionary never changes once made: using it needs no lock */
        n = ZSTD_decompress_usingDDict(d, dst, len, packed, packed_size, ddict);
        pthread_mutex_lock(&idle_lock);
        if (nidle < DCTX_KEEP) {
                idle[nidle++] = d;
                d = NULL;
        }
        pthread_mutex_unlock(&idle_lock);
        ZSTD_freeDCtx(d);
        if (ZSTD_isError(n) || n != len)
                return -EINVAL;
        dst[len] = '\0';
        return 0;
}
