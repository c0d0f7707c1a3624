/* Resource paths and verbs. Query values are percent-encoded. */
#include "api.h"

#include <curl/curl.h>
#include <glib.h>
#include <stdio.h>

#include "lib/util.h"

const struct kube_resource KUBE_SERVICES = {"", "v1", "services", "Service", true};
const struct kube_resource KUBE_NODES = {"", "v1", "nodes", "Node", false};
const struct kube_resource KUBE_NAMESPACES = {"", "v1", "namespaces", "Namespace", false};
const struct kube_resource KUBE_PODS = {"", "v1", "pods", "Pod", true};
const struct kube_resource KUBE_EVENTS = {"", "v1", "events", "Event", true};
const struct kube_resource KUBE_LEASES = {"coordination.k8s.io", "v1", "leases", "Lease", true};
const struct kube_resource KUBE_ENDPOINTSLICES_V1 = {"discovery.k8s.io", "v1", "endpointslices",
                                                     "EndpointSlice", true};
const struct kube_resource KUBE_ENDPOINTSLICES_V1BETA1 = {"discovery.k8s.io", "v1beta1",
                                                          "endpointslices", "EndpointSlice", true};
const struct kube_resource KUBE_IPPOOLS = {"cilium.io", "v2", "ciliumloadbalancerippools",
                                           "CiliumLoadBalancerIPPool", false};
const struct kube_resource KUBE_IPPOOLS_V2ALPHA1 = {
    "cilium.io", "v2alpha1", "ciliumloadbalancerippools", "CiliumLoadBalancerIPPool", false};
const struct kube_resource KUBE_L2POLICIES = {
    "cilium.io", "v2alpha1", "ciliuml2announcementpolicies", "CiliumL2AnnouncementPolicy", false};

char *kube_path(const struct kube_resource *r, const char *ns, const char *name, const char *sub)
{
        GString *s = g_string_new(NULL);

        if (isempty(r->group))
                g_string_append_printf(s, "/api/%s", r->version);
        else
                g_string_append_printf(s, "/apis/%s/%s", r->group, r->version);
        if (r->namespaced && !isempty(ns))
                g_string_append_printf(s, "/namespaces/%s", ns);
        g_string_append_printf(s, "/%s", r->plural);
        if (!isempty(name)) {
                g_string_append_printf(s, "/%s", name);
                if (!isempty(sub))
                        g_string_append_printf(s, "/%s", sub);
        }
        return g_string_free(s, FALSE);
}

static void add_query(GString *s, const char *key, const char *value)
{
        char *esc;

        if (isempty(value))
                return;
        esc = curl_easy_escape(NULL, value, 0);
        g_string_append_printf(s, "%c%s=%s", strchr(s->str, '?') ? '&' : '?', key, esc ? esc : "");
        curl_free(esc);
}

int kube_get(struct kube_client *c, const struct kube_resource *r, const char *ns, const char *name,
             kube_callback_t cb, void *ud, struct kube_call **ret)
{
        _cleanup_free_ char *path = kube_path(r, ns, name, NULL);

        return kube_call(c, "GET", path, NULL, NULL, 0, 0, cb, ud, ret);
}

int kube_list(struct kube_client *c, const struct kube_resource *r, const char *ns,
              const struct kube_list_opts *o, kube_callback_t cb, void *ud, struct kube_call **ret)
{
        char *base = kube_path(r, ns, NULL, NULL);
        GString *s = g_string_new(base);
        _cleanup_free_ char *path = NULL;
        char num[32];

        free(base);
        if (o) {
                add_query(s, "labelSelector", o->label_selector);
                add_query(s, "fieldSelector", o->field_selector);
                if (o->limit) {
                        (void)snprintf(num, sizeof(num), "%u", o->limit);
                        add_query(s, "limit", num);
                }
                add_query(s, "continue", o->continue_token);
                add_query(s, "resourceVersion", o->resource_version);
        }
        path = g_string_free(s, FALSE);
        return kube_call(c, "GET", path, NULL, NULL, o ? o->flags : 0, 0, cb, ud, ret);
}

int kube_create(struct kube_client *c, const struct kube_resource *r, const char *ns, json_t *obj,
                kube_callback_t cb, void *ud, struct kube_call **ret)
{
        _cleanup_free_ char *path = kube_path(r, ns, NULL, NULL);

        return kube_call(c, "POST", path, obj, "application/json", 0, 0, cb, ud, ret);
}

int kube_update(struct kube_client *c, const struct kube_resource *r, const char *ns,
                const char *name, const char *sub, json_t *obj, unsigned flags, kube_callback_t cb,
                void *ud, struct kube_call **ret)
{
        _cleanup_free_ char *path = kube_path(r, ns, name, sub);

        return kube_call(c, "PUT", path, obj, "application/json", flags, 0, cb, ud, ret);
}

int kube_patch(struct kube_client *c, const struct kube_resource *r, const char *ns,
               const char *name, const char *sub, enum kube_patch_type type, json_t *patch,
               kube_callback_t cb, void *ud, struct kube_call **ret)
{
        static const char *const types[] = {
            [KUBE_PATCH_MERGE] = "application/merge-patch+json",
            [KUBE_PATCH_JSON] = "application/json-patch+json",
            [KUBE_PATCH_STRATEGIC] = "application/strategic-merge-patch+json",
        };
        _cleanup_free_ char *path = kube_path(r, ns, name, sub);

        return kube_call(c, "PATCH", path, patch, types[type], 0, 0, cb, ud, ret);
}

int kube_delete(struct kube_client *c, const struct kube_resource *r, const char *ns,
                const char *name, json_t *options, kube_callback_t cb, void *ud,
                struct kube_call **ret)
{
        _cleanup_free_ char *path = kube_path(r, ns, name, NULL);

        return kube_call(c, "DELETE", path, options, options ? "application/json" : NULL, 0, 0, cb,
                         ud, ret);
}

int kube_watch(struct kube_client *c, const struct kube_resource *r, const char *ns,
               const struct kube_watch_opts *o, kube_watch_event_t on_event, kube_callback_t done,
               void *ud, struct kube_call **ret)
{
        char *base = kube_path(r, ns, NULL, NULL);
        GString *s = g_string_new(base);
        _cleanup_free_ char *path = NULL;
        char num[32];
        uint64_t timeout = 0;

        free(base);
        g_string_append(s, "?watch=1");
        if (o) {
                add_query(s, "resourceVersion", o->resource_version);
                if (o->bookmarks)
                        add_query(s, "allowWatchBookmarks", "true");
                if (o->timeout_seconds) {
                        (void)snprintf(num, sizeof(num), "%u", o->timeout_seconds);
                        add_query(s, "timeoutSeconds", num);
                        /* the server ends the stream; give it a margin */
                        timeout = ((uint64_t)o->timeout_seconds + 30) * USEC_PER_SEC;
                }
                add_query(s, "labelSelector", o->label_selector);
                add_query(s, "fieldSelector", o->field_selector);
        }
        path = g_string_free(s, FALSE);
        return kube_watch_call(c, path, timeout, on_event, done, ud, ret);
}
