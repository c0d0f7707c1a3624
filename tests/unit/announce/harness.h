/* Test harness for the L2 announcement core: object builders, a tiny
 * in-memory Lease store with the apiserver's optimistic concurrency
 * (resourceVersion preconditions, AlreadyExists, NotFound), and a "world"
 * that drives one announcer against it with a fake clock.
 *
 * This is test code for the pure core's unit tests, not a mock of the API for
 * integration tests (those run against a real kube-apiserver). */
#pragma once

#include <glib.h>
#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "announce/announce.h"
#include "api/objects.h"

#define SEC  UINT64_C(1000000)
#define MSEC UINT64_C(1000)
/* With the harness's 3s/1s/500ms: an entry answers until the last
 * successful renewal's send + renew deadline + retry period, and the holder
 * renews one renew deadline after that send. */
#define LIFETIME (1500 * MSEC)
#define RENEW_AT (1000 * MSEC)
/* ... except the first renewal after an acquisition (or a re-adoption), which
 * falls in the second half of the renew deadline, at a point fixed by the
 * lease's name, so that leases acquired together are not renewed together. */
uint64_t first_renew_at(const char *lease);
#define LEASE_NS "kube-system"

/* ---- objects (JSON text → typed object → announcer) ---- */

json_t *J(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* labels: JSON object or NULL; ext: JSON array or NULL; ingress: JSON array
 * of ingress objects or NULL; extra: more "spec" members or NULL. */
void feed_service(struct announcer *a, const char *ns, const char *name, const char *labels,
                  const char *ext, const char *ingress, const char *extra);
void feed_policy(struct announcer *a, const char *json);
/* A Node object: labels a JSON object or NULL, condition Ready. */
json_t *node_json(const char *name, const char *labels, bool ready, bool unschedulable);
void feed_node(struct announcer *a, const char *name, const char *labels, bool ready,
               bool unschedulable);
/* endpoints: JSON array of endpoint objects. */
void feed_slice(struct announcer *a, const char *ns, const char *name, const char *service,
                const char *endpoints);
void feed_device(struct announcer *a, const char *name, int ifindex, bool up);
struct k8s_l2policy *decode_policy(const char *json);

/* ---- in-memory Lease store ---- */

struct fake_api {
        GHashTable *leases; /* name → json_t (with metadata.resourceVersion) */
        uint64_t rv;
        uint64_t creates, updates, deletes;
};

void fake_api_init(struct fake_api *f);
void fake_api_done(struct fake_api *f);
/* Applies a lease action. On success *ret_obj is the stored object (new
 * reference; NULL after a delete) and *ret_changed true. */
enum announce_write_result fake_api_apply(struct fake_api *f,
                                          const struct announce_lease_action *act, json_t **ret_obj,
                                          bool *ret_changed);
/* Stores a lease written by someone else (holder may be ""). */
json_t *fake_api_put(struct fake_api *f, const char *name, const char *holder, int duration_s,
                     int transitions);
json_t *fake_api_get(struct fake_api *f, const char *name);
const char *lease_holder(json_t *lease);
struct k8s_lease *lease_decode(json_t *j);

/* ---- one announcer, actions applied at once ---- */

struct world {
        struct announcer *a;
        struct fake_api api;
        uint64_t now;     /* monotonic µs */
        int64_t wall;     /* µs since the epoch */
        bool hold_writes; /* do not apply actions: leave them in `held_actions` */
        struct announce_lease_action *held_actions; /* copies (body owned) */
        size_t n_held_actions;
        /* Outputs accumulated since the last world_clear(). */
        struct announce_entry *entries; /* of the last run */
        size_t n_entries;
        struct announce_garp *garps;
        size_t n_garps;
        struct announce_event *events;
        size_t n_events;
        struct announce_policy_status *statuses;
        size_t n_statuses;
        size_t n_actions;
        size_t n_by_op[3];
        size_t n_heartbeat_actions; /* to l2lb-node-* Leases */
        uint64_t next_wakeup;
        bool seen_first_action_kind;
        enum announce_lease_op first_op;
        char *first_reason;
};

struct announcer_config world_config(const char *node);
void world_init(struct world *w, const char *node);
void world_init_config(struct world *w, const struct announcer_config *c);
void world_done(struct world *w);
/* Run, apply the actions (unless hold_writes), feed results and the
 * watch events back, and run again until nothing is left to do. */
void world_settle(struct world *w);
/* Move the clock forward, waking at every next_wakeup on the way. */
void world_advance(struct world *w, uint64_t dt);
void world_clear(struct world *w);
/* A lease written by another party, delivered through the watch now. */
void world_put_lease(struct world *w, const char *name, const char *holder, int duration_s,
                     int transitions);
/* Feed the result of a held action (and its effect on the store). */
void world_answer(struct world *w, size_t i, enum announce_write_result forced);
/* The held action reaches the store (and the watch), but its result is
 * lost: a retried request reports 409. */
void world_answer_lost(struct world *w, size_t i);

bool world_has_entry(const struct world *w, const char *ip, int ifindex);
/* The entries are exactly these "ip@ifindex" strings (NULL-terminated). */
void world_expect_entries(const struct world *w, const char *const *expected);
#define EXPECT_ENTRIES(w, ...) world_expect_entries((w), (const char *const[]){__VA_ARGS__, NULL})
#define EXPECT_NO_ENTRIES(w)   world_expect_entries((w), (const char *const[]){NULL})
size_t world_count_events(const struct world *w, enum announce_event_kind k, const char *reason);
const char *world_holder(struct world *w, const char *lease);
