/* REST operations on Kubernetes resources: paths, query strings and the verbs
 * (get, list, watch, create, update, patch, delete), on top of client.h. */
#pragma once

#include <stdbool.h>

#include "client.h"

struct kube_resource {
        const char *group; /* "" for the core group */
        const char *version;
        const char *plural;
        const char *kind;
        bool namespaced;
};

extern const struct kube_resource KUBE_SERVICES;
extern const struct kube_resource KUBE_NODES;
extern const struct kube_resource KUBE_LEASES;
extern const struct kube_resource KUBE_EVENTS;
extern const struct kube_resource KUBE_NAMESPACES;
extern const struct kube_resource KUBE_PODS;
extern const struct kube_resource KUBE_ENDPOINTSLICES_V1;
extern const struct kube_resource KUBE_ENDPOINTSLICES_V1BETA1;
extern const struct kube_resource KUBE_IPPOOLS;          /* cilium.io/v2 */
extern const struct kube_resource KUBE_IPPOOLS_V2ALPHA1; /* cilium.io/v2alpha1 */
extern const struct kube_resource KUBE_L2POLICIES;       /* cilium.io/v2alpha1 */

/* "/api/v1/namespaces/NS/services/NAME/status"; ns NULL/"" for cluster-wide
 * (or cluster-scoped), name NULL for the collection, sub NULL for none. */
char *kube_path(const struct kube_resource *r, const char *ns, const char *name, const char *sub);

struct kube_list_opts {
        const char *label_selector;
        const char *field_selector;
        unsigned limit;
        const char *continue_token;
        const char *resource_version;
        unsigned flags; /* enum kube_call_flags */
};

struct kube_watch_opts {
        const char *resource_version;
        bool bookmarks;
        unsigned timeout_seconds;
        const char *label_selector;
        const char *field_selector;
};

enum kube_patch_type {
        KUBE_PATCH_MERGE,     /* application/merge-patch+json */
        KUBE_PATCH_JSON,      /* application/json-patch+json */
        KUBE_PATCH_STRATEGIC, /* application/strategic-merge-patch+json (built-in types) */
};

int kube_get(struct kube_client *c, const struct kube_resource *r, const char *ns, const char *name,
             kube_callback_t cb, void *ud, struct kube_call **ret);
int kube_list(struct kube_client *c, const struct kube_resource *r, const char *ns,
              const struct kube_list_opts *o, kube_callback_t cb, void *ud, struct kube_call **ret);
int kube_create(struct kube_client *c, const struct kube_resource *r, const char *ns, json_t *obj,
                kube_callback_t cb, void *ud, struct kube_call **ret);
/* PUT; obj must carry metadata.resourceVersion for optimistic concurrency
 * (a stale one gives 409 Conflict). sub may be "status". */
int kube_update(struct kube_client *c, const struct kube_resource *r, const char *ns,
                const char *name, const char *sub, json_t *obj, unsigned flags, kube_callback_t cb,
                void *ud, struct kube_call **ret);
int kube_patch(struct kube_client *c, const struct kube_resource *r, const char *ns,
               const char *name, const char *sub, enum kube_patch_type type, json_t *patch,
               kube_callback_t cb, void *ud, struct kube_call **ret);
/* options may be NULL or a DeleteOptions object (e.g. preconditions). */
int kube_delete(struct kube_client *c, const struct kube_resource *r, const char *ns,
                const char *name, json_t *options, kube_callback_t cb, void *ud,
                struct kube_call **ret);
int kube_watch(struct kube_client *c, const struct kube_resource *r, const char *ns,
               const struct kube_watch_opts *o, kube_watch_event_t on_event, kube_callback_t done,
               void *ud, struct kube_call **ret);
