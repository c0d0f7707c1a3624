/* A fake API server and operator shell around the LB-IPAM core for tests.
 *
 * Objects are written as JSON with single quotes ('{'metadata':{...}}'),
 * decoded with the real decoders and fed to the core. After every input
 * the harness does what the operator shell does: it takes the dirty sets,
 * merges the desired status into the stored object (with the real
 * condition helpers) and feeds the patched object back to the core as the
 * watch echo would — so tests observe what `kubectl get` would show.
 *
 * Like the apiserver, it sets creationTimestamp on creation (a fake clock
 * ticking one second per object), bumps metadata.generation when the spec
 * changes and keeps status across spec updates. */
#pragma once

#include <jansson.h>
#include <stdbool.h>

#include "ipam/ipam.h"

struct api {
        struct ipam_options o;
        struct ipam *ipam;
        json_t *pools;    /* name → object */
        json_t *services; /* "ns/name" → object */
        long clock;       /* seconds since 2024-01-01 */
        bool autosync;    /* run the shell after every input (default) */
        char *events;     /* every Event so far, one per line */
        unsigned patches; /* status writes so far */
};

struct ipam_options opts(bool v4, bool v6);
json_t *sq_json(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

struct api *api_new(const struct ipam_options *o);
/* Started at once (the common case) or not (restart tests). */
struct api *api_new_started(bool v4, bool v6);
void api_free(struct api *api);

/* Create or update (spec and metadata replaced, status kept). Returns the
 * core's result (pools: -EINVAL when rejected). */
int api_pool(struct api *api, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int api_svc(struct api *api, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void api_delete_pool(struct api *api, const char *name);
void api_delete_svc(struct api *api, const char *ns, const char *name);
/* Patch a service's labels / annotations / spec fields (JSON merge). */
void api_patch_svc(struct api *api, const char *ns, const char *name, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
void api_patch_pool(struct api *api, const char *name, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* The operator shell: apply dirty status until the core is content. */
void api_sync(struct api *api);
/* A new core (the operator restarted, or another replica took over) fed the
 * stored objects, pools first or services first, then started. */
void api_restart(struct api *api, bool services_first);

/* What the API shows (strings owned by the api, valid until the next call). */
const char *svc_ips(struct api *api, const char *ns, const char *name);    /* "a,b" or "" */
const char *svc_reason(struct api *api, const char *ns, const char *name); /* "" if none */
const char *svc_status(struct api *api, const char *ns, const char *name);
const char *svc_message(struct api *api, const char *ns, const char *name);
int svc_n_conditions(struct api *api, const char *ns, const char *name);
int64_t svc_cond_generation(struct api *api, const char *ns, const char *name);
const char *pool_cond(struct api *api, const char *name, const char *type, const char *field);
int64_t pool_cond_generation(struct api *api, const char *name, const char *type);
/* "ns/name=ips" lines for every service, to compare before and after. */
char *api_ip_map(struct api *api);
/* The whole state as text, to compare runs. */
char *api_dump(struct api *api);
/* Drains events; returns the log of all events so far. */
const char *api_events(struct api *api);
bool events_contain(struct api *api, const char *needle);
