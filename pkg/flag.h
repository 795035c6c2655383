/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The values of command-line flags, checked the same way in every mbox program: each parses arg for the
 * flag --name and returns 0, or -EINVAL with "--name: what is expected, got 'arg'" in err for the program
 * to print before it exits with 2.
 *
 *   if (flag_count("task-workers", optarg, 1, 1000, &n, &err) < 0) { fprintf(stderr, "%s\n", ...); }
 */
#pragma once

#include <stdint.h>

#include "merr.h"

/* A whole number in [min, max]. */
int flag_count(const char *name, const char *arg, long min, long max, long *ret, struct merr *err);
/* A duration (Go's syntax: 90s, 1h30m) in milliseconds, at least min_ms (0 allows 0; a positive duration
 * under a millisecond counts as 1). */
int flag_duration_ms(const char *name, const char *arg, int64_t min_ms, int64_t *ret, struct merr *err);
/* A whole number of bytes as a quantity (1048576, 512Ki, 16Mi) in [min, max]. */
int flag_bytes(const char *name, const char *arg, int64_t min, int64_t max, int64_t *ret, struct merr *err);
