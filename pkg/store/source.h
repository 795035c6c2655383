/* SPDX-License-Identifier: Apache-2.0 */
/*
 * How a table's records are read, as mbox-apiserver serves them (get, list, watch): rows numbered by a
 * version column, which is their resourceVersion. Each table's file describes its own (history.h,
 * taskoutput.h, artifact.h) beside its schema and its writes; the apiserver adds only conditions (a
 * selector's, a name's, a page's) and never names a column of its own.
 */
#pragma once

#include <stdbool.h>

/* A field a selector may name, and the SQL it compares: {"object.kind", "kind"}; a list ends with {NULL}. */
struct store_field {
        const char *name, *sql;
};

struct store_source {
        const char *select;   /* "SELECT ... WHERE true": the records (get, list), conditions follow */
        const char *events;   /* the same columns for every change (watch); the same as select for a
                             * history, where each record is a change */
        const char *rv;       /* the version column in both */
        const char *version;  /* a record's resourceVersion in select (its newest change), unless a history */
        const char *name_col; /* the column of metadata.name, or of its object's name (a history) */
        const char *newest;   /* SQL: the newest version */
        const struct store_field *fields; /* what field selectors may name */
        const char *labels;               /* SQL of the jsonb labels */
        const char *time;                 /* the column since/until select on, or NULL */
        int c_rv, c_type; /* result columns: the version; the watch event's type (-1: all are ADDED) */
        /* each record is a change, never modified: a watch's initial events are every change (not the
         * records a list shows), and the pages of a list are one snapshot */
        bool history;
};
