/* The shard codec of the node-heartbeat election (docs/l2announce.md,
 * "Node-heartbeat election"): the l2lb.io/bindings annotation of the
 * l2lb-assign-<k> Leases, a JSON object
 *
 *     {"<ip>": "<node>/<epoch>/<uid8>", ...}
 *
 * ip in canonical text (inet_ntop), node a Kubernetes node name, epoch the
 * leaseTransitions of the node's heartbeat Lease (decimal, 0..INT32_MAX),
 * uid8 the first 8 characters of that Lease's metadata.uid. Parsing is
 * strict: an annotation that is not a JSON object (or repeats a key) is
 * malformed as a whole; an entry with a non-canonical or unparseable
 * address, a value that is not a string of that form, or an address of
 * another shard, is malformed on its own. Malformed parts bind nothing; the
 * parser says what it dropped, for the caller to report. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/addr.h"

#define ANNOUNCE_UID8 8

struct binding {
        struct ipaddr ip;
        char *node;
        int32_t epoch;
        char uid8[ANNOUNCE_UID8 + 1];
};

struct bindings {
        struct binding *items; /* sorted by address, no duplicates */
        size_t n;
};

void bindings_done(struct bindings *b);
void bindings_copy(struct bindings *dst, const struct bindings *src);
/* The binding of ip, or NULL. */
const struct binding *bindings_get(const struct bindings *b, const struct ipaddr *ip);
/* Sets (inserts or replaces) the binding of ip. */
void bindings_set(struct bindings *b, const struct ipaddr *ip, const char *node, int32_t epoch,
                  const char *uid8);
/* Removes the binding of ip; returns whether there was one. */
bool bindings_remove(struct bindings *b, const struct ipaddr *ip);

/* text: the annotation, NULL when absent (no bindings). shard: the index of
 * the Lease (entries hashing to another shard are malformed), or -1 to accept
 * any. Returns the number of malformed parts (0: all good); *ret_error is the
 * first one's description (malloc'ed, NULL when 0). *ret holds the good
 * entries. */
size_t bindings_parse(const char *text, int shard, struct bindings *ret, char **ret_error);
/* The canonical annotation text: keys in address order, compact. */
char *bindings_format(const struct bindings *b);

/* FNV-1a-32 of the address's canonical text, mod ANNOUNCE_SHARDS. */
unsigned announce_shard_of(const struct ipaddr *ip);
/* The first ANNOUNCE_UID8 characters of a uid ("" if NULL), into buf. */
void announce_uid8(const char *uid, char buf[ANNOUNCE_UID8 + 1]);
/* ANNOUNCE_HEARTBEAT_PREFIX + node; a name that would exceed 253 characters
 * is cut and ends in "-" + 8 hex digits of FNV-1a-32(node). malloc'ed. */
char *announce_heartbeat_name(const char *node);
/* ANNOUNCE_SHARD_PREFIX + k. malloc'ed. */
char *announce_shard_name(unsigned k);
uint32_t announce_fnv1a(const char *s);
