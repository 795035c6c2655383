/* SPDX-License-Identifier: Apache-2.0 */
#include "api/kind.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define AT(o, off)  ((void *) ((char *) (o) + (off)))
#define CAT(o, off) ((const void *) ((const char *) (o) + (off)))

static struct api_meta *meta_of(void *o) {
        return o;
}

static bool *has_status_of(const struct api_kind *k, void *o) {
        return AT(o, k->has_status_offset);
}

void *api_object_free(const struct api_kind *k, void *o) {
        if (!o)
                return NULL;
        api_meta_release(meta_of(o));
        k->spec_release(AT(o, k->spec_offset));
        k->status_release(AT(o, k->status_offset));
        free(o);
        return NULL;
}

int api_object_from_json(const struct api_kind *k, json_object *obj, void **ret, struct merr *err) {
        struct api_errors e = API_ERRORS_INIT;
        void *o = calloc(1, k->size);
        json_object *spec = NULL, *st = NULL;
        int r;

        if (!o)
                return merr_set(err, -ENOMEM, "out of memory");
        if (api_meta_from_json(obj, k->kind, k->name_rule, k->name_max, k->namespaced, meta_of(o), &e) > 0) {
                if (api_get_obj(obj, "spec", "", k->spec_required, &spec, &e) > 0 || !k->spec_required)
                        k->spec_parse(spec, AT(o, k->spec_offset), &e);
                if (api_get_obj(obj, "status", "", false, &st, &e) > 0) {
                        *has_status_of(k, o) = true;
                        k->status_parse(st, AT(o, k->status_offset), &e);
                }
        }
        r = api_errors_to_merr(&e, err);
        api_errors_release(&e);
        if (r < 0) {
                api_object_free(k, o);
                return r;
        }
        *ret = o;
        return 0;
}

int api_object_status_from_json(const struct api_kind *k, json_object *obj, void *ret, struct merr *err) {
        struct api_errors e = API_ERRORS_INIT;
        json_object *st = NULL;
        int r;

        memset(ret, 0, k->status_size); /* all zero: the empty status */
        if (api_get_obj(obj, "status", "", false, &st, &e) > 0)
                k->status_parse(st, ret, &e);
        r = api_errors_to_merr(&e, err);
        api_errors_release(&e);
        if (r < 0)
                k->status_release(ret);
        return r;
}

int api_object_to_json(const struct api_kind *k, const void *o, json_object **ret) {
        json_object *j = json_object_new_object();

        if (!j)
                return -ENOMEM;
        if (api_meta_to_json(o, k->kind, j) < 0 ||
                api_put_obj(j, "spec", k->spec_emit(CAT(o, k->spec_offset))) < 0) {
                json_object_put(j);
                return -ENOMEM;
        }
        *ret = j;
        return 0;
}

int api_object_status_to_json(const struct api_kind *k, const void *o, json_object **ret) {
        return k->status_emit(CAT(o, k->status_offset), ret);
}

void *api_object_new(const struct api_kind *k, const char *name, const char *namespace) {
        void *o = calloc(1, k->size);
        struct api_meta *m = o;

        if (!o)
                return NULL;
        if (!(m->name = strdup(name)) ||
                (k->namespaced && namespace && !(m->namespace = strdup(namespace))) ||
                (k->spec_defaults && k->spec_defaults(AT(o, k->spec_offset)) < 0))
                return api_object_free(k, o);
        return o;
}
