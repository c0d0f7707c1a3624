/* A generic informer object for the lab node agent: the metadata every
 * informer needs plus the whole JSON object, for the few fields the agent
 * reads from Nodes and Pods (the project's typed decoders keep only what
 * l2lb itself uses). */
#pragma once

#include <jansson.h>

#include "api/objects.h"

struct lab_obj {
        struct k8s_meta meta; /* first: the informer reads it */
        json_t *json;         /* owned reference */
};

extern const struct k8s_type LAB_TYPE_OBJECT;

/* A string at a dotted path ("spec.nodeName"), or NULL. */
const char *lab_obj_str(const struct lab_obj *o, const char *path);
