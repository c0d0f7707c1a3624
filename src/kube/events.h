/* Kubernetes Events (core/v1) with client-go's aggregation: the same event
 * (object, type, reason, message) within ten minutes bumps the existing
 * Event's count instead of creating another one, so `kubectl describe`
 * shows "x5 over 3m" rather than a wall of lines. Fire and forget: failures
 * are logged at debug level and never block the caller. */
#pragma once

#include "client.h"
#include "lib/util.h"

struct kube_recorder;

struct kube_object_ref {
        const char *api_version; /* "v1", "cilium.io/v2alpha1" */
        const char *kind;
        const char *namespace; /* NULL for cluster-scoped objects */
        const char *name;
        const char *uid;
};

int kube_recorder_new(struct kube_client *c, const char *component, const char *host,
                      struct kube_recorder **ret);
void kube_recorder_free(struct kube_recorder *r);

/* type: "Normal" or "Warning". Events of cluster-scoped objects go to the
 * "default" namespace, as kubectl expects. */
void kube_event(struct kube_recorder *r, const struct kube_object_ref *obj, const char *type,
                const char *reason, const char *fmt, ...) _printf_(5, 6);
