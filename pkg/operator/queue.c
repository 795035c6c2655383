/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The controllers' work queues, as mappers and reconciles fill them: a key now, first, later, or every key
 * that an informer index or a namespace holds. Nothing here reads an object: keys only.
 */
#include <errno.h>

#include "jsonutil.h"
#include "log.h"
#include "operator/controller.h"

void op_enqueue(struct mbox_operator *op, enum op_ctl ctl, const char *key) {
        if (workqueue_add(op->queue[ctl], key) == -ENOMEM)
                log_error("out of memory queueing a key", "key", key);
}

void op_enqueue_first(struct mbox_operator *op, enum op_ctl ctl, const char *key) {
        if (workqueue_add_first(op->queue[ctl], key) == -ENOMEM)
                log_error("out of memory queueing a key", "key", key);
}

void op_enqueue_after(struct mbox_operator *op, enum op_ctl ctl, const char *key, int64_t delay_ns) {
        if (workqueue_add_after(op->queue[ctl], key, delay_ns) == -ENOMEM)
                log_error("out of memory queueing a key", "key", key);
}

void op_enqueue_index(
        struct mbox_operator *op, enum op_ctl ctl, enum op_res res, const char *index, const char *value) {
        char **keys = NULL;
        if (op->inf[res] && informer_index_keys(op->inf[res], index, value, &keys) > 0)
                for (char **k = keys; *k; k++)
                        op_enqueue(op, ctl, *k);
        informer_keys_free(keys);
}

struct enqueue_all {
        struct mbox_operator *op;
        enum op_ctl ctl;
};

static void enqueue_all_fn(const char *key, json_object *obj, void *ud) {
        struct enqueue_all *e = ud;
        (void) obj;
        op_enqueue(e->op, e->ctl, key);
}

void op_enqueue_all(struct mbox_operator *op, enum op_ctl ctl, enum op_res res, const char *ns) {
        struct enqueue_all e = {op, ctl};
        if (op->inf[res])
                informer_foreach(op->inf[res], ns, enqueue_all_fn, &e);
}

void op_map_own(const struct op_change *ch) {
        op_enqueue(ch->op, ch->ctl, ch->key);
}

bool op_spec_changed(json_object *old_obj, json_object *new_obj) {
        int64_t a = 0, b = 0;
        if (!old_obj)
                return true;
        json_get_int64(old_obj, "metadata.generation", JSON_OPTIONAL, &a, NULL);
        json_get_int64(new_obj, "metadata.generation", JSON_OPTIONAL, &b, NULL);
        return a != b || !kube_str(old_obj, "metadata.deletionTimestamp") !=
                                 !kube_str(new_obj, "metadata.deletionTimestamp");
}
