/* Generic informer objects: metadata decoded, the rest kept as JSON. */
#include "lab-obj.h"

#include <stdio.h>

#include "lib/util.h"

static char *dup_str(json_t *obj, const char *key)
{
        json_t *v = json_object_get(obj, key);

        return json_is_string(v) ? xstrdup(json_string_value(v)) : NULL;
}

static void lab_obj_free(void *p)
{
        struct lab_obj *o = p;

        if (!o)
                return;
        k8s_meta_done(&o->meta);
        json_decref(o->json);
        free(o);
}

static int lab_obj_decode(json_t *json, void **ret, char **ret_error)
{
        json_t *md = json_object_get(json, "metadata");
        struct lab_obj *o;

        if (!json_is_object(md) || !json_is_string(json_object_get(md, "name"))) {
                *ret_error = xstrdup("metadata.name: missing");
                return -EBADMSG;
        }
        o = xnew(struct lab_obj, 1);
        o->meta.name = dup_str(md, "name");
        o->meta.namespace = dup_str(md, "namespace");
        o->meta.uid = dup_str(md, "uid");
        o->meta.resource_version = dup_str(md, "resourceVersion");
        o->meta.deleting = json_is_string(json_object_get(md, "deletionTimestamp"));
        o->json = json_incref(json);
        *ret = o;
        return 0;
}

const struct k8s_type LAB_TYPE_OBJECT = {
    .kind = "Object",
    .decode = lab_obj_decode,
    .free = lab_obj_free,
};

const char *lab_obj_str(const struct lab_obj *o, const char *path)
{
        json_t *v = o->json;
        char key[128];

        while (v && *path) {
                const char *dot = strchr(path, '.');
                size_t n = dot ? (size_t)(dot - path) : strlen(path);

                if (n >= sizeof(key))
                        return NULL;
                memcpy(key, path, n);
                key[n] = 0;
                v = json_object_get(v, key);
                path += n + (dot ? 1 : 0);
        }
        return json_is_string(v) ? json_string_value(v) : NULL;
}
