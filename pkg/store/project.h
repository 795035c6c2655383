/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Records belong to a project, by uid (docs/store.md): every record table has namespace and project_uid,
 * and namespace_projects says which project owns a namespace now (migration 6, project.c).
 */
#pragma once

#include <libpq-fe.h>

#include "merr.h"
#include "store/store.h"

/* SQL, after a condition on namespace = $N: the record (a row with namespace and project_uid) belongs to
 * the project that owns that namespace now (migration 6), so a new project on an old namespace name sees
 * none of an old project's records; in a namespace without a project, the records written while it had
 * none. N is the parameter's number, as text. */
#define STORE_IN_PROJECT_NOW(n)                                                                              \
        " AND project_uid IS NOT DISTINCT FROM (SELECT project_uid FROM namespace_projects WHERE namespace " \
        "= $" n ")"
/* The project that owns namespace ns now (namespace_projects): 1 with its uid in ret_uid (and its name in
 * ret_name, unless NULL), 0 when none does, < 0 on failure ("reading the namespace's project: ..."). */
int store_namespace_project(PGconn *conn, const char *ns, char ret_uid[static 37], char *ret_name,
        size_t name_size, struct merr *err);
