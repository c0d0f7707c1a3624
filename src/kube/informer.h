/* Informer: list, then watch from the list's resourceVersion, keeping a
 * local cache of typed objects keyed "namespace/name" (or "name") and
 * calling add/update/delete handlers on the event loop.
 *
 * On "410 Gone" / too old resource version it lists again and emits the
 * differences against the cache; on disconnect, 429 (API Priority and
 * Fairness) or 5xx it re-watches from the last seen resourceVersion after a
 * jittered exponential backoff or the server's Retry-After, whichever is
 * longer. The cache's
 * view never loses or duplicates an event: every transition a handler sees
 * is old cache state → new cache state. */
#pragma once

#include <stdbool.h>

#include "api.h"
#include "api/objects.h"

struct kube_informer;

struct kube_informer_handlers {
        void (*add)(void *userdata, const void *obj);
        void (*update)(void *userdata, const void *old_obj, const void *new_obj);
        void (*remove)(void *userdata, const void *obj);
        void (*synced)(void *userdata); /* after the first complete list */
};

struct kube_informer_options {
        const char *namespace; /* NULL: all namespaces */
        const char *label_selector;
        const char *field_selector;
        unsigned page_size;             /* default 500 */
        unsigned watch_timeout_seconds; /* default random 300..600 */
};

/* What to do after a watch ended abnormally. */
struct kube_informer_retry {
        bool relist;    /* list again (else watch again from the last resourceVersion) */
        uint64_t delay; /* usec; 0: at once */
};
/* The decision, pure. status: HTTP status or the watch ERROR event's code
 * (0: no response); error: the kube_result's negative errno; retry_after:
 * the server's Retry-After in usec (0: none; honoured up to 60 s); backoff:
 * this failure's backoff. 410 Gone lists again at once; an unreadable event
 * (-EBADMSG) or another 4xx lists again after the backoff; 429, 5xx and
 * transport errors watch again after max(backoff, Retry-After). */
struct kube_informer_retry kube_informer_watch_retry(long status, int error, uint64_t retry_after,
                                                     uint64_t backoff);

int kube_informer_new(struct kube_client *c, const struct kube_resource *res,
                      const struct k8s_type *type, const struct kube_informer_options *opts,
                      const struct kube_informer_handlers *h, void *userdata,
                      struct kube_informer **ret);
int kube_informer_start(struct kube_informer *inf);
void kube_informer_free(struct kube_informer *inf);

bool kube_informer_synced(const struct kube_informer *inf);
const void *kube_informer_get(const struct kube_informer *inf, const char *ns, const char *name);
size_t kube_informer_count(const struct kube_informer *inf);
/* Calls fn for each cached object (unspecified order). */
void kube_informer_foreach(const struct kube_informer *inf,
                           void (*fn)(const void *obj, void *userdata), void *userdata);
/* Snapshot of all cached objects, sorted by key; free() the array, not the
 * objects (they stay owned by the cache and change as events arrive). */
const void **kube_informer_list(const struct kube_informer *inf, size_t *ret_n);
const char *kube_informer_resource_version(const struct kube_informer *inf);

struct kube_informer_stats {
        unsigned lists;        /* complete lists (1 + relists) */
        unsigned watches;      /* watch requests started */
        unsigned watch_errors; /* watches that ended abnormally */
        unsigned decode_errors;
};
void kube_informer_get_stats(const struct kube_informer *inf, struct kube_informer_stats *ret);
