/* Spreading leases evenly over candidate nodes.
 *
 * Each node computes its fair share of the groups (one canonical lease per
 * group) it is a candidate for:
 *
 *     share = ceil( Σ over groups G this node is a candidate for of 1 / |cand(G)| )
 *
 * where cand(G) = this node plus the other nodes the model lists as
 * candidates, minus nodes believed dead (they hold a lease that has expired by
 * our own observation) and minus the node that just handed G's lease over
 * (it released it: it does not want it). A node holding or acquiring at least
 * its share acquires a free or expired lease only after a delay, which leaves
 * it to an under-share node — unless no other candidate is left for that
 * group, so a lone survivor, or the only other node after a handover, never
 * waits. Nodes consider acquirable leases in a node-specific order
 * (balance_order), so they do not all collide on the same lease first, and
 * over-share nodes spread what is left over a second delay by that order. */
#pragma once

#include <glib.h>
#include <stdint.h>

#include "model.h"

/* Other nodes that count as candidates of group g: the model's, minus the
 * dead ones (a set of names, may be NULL) and `released`, the node that just
 * handed the group's lease over (may be NULL). */
size_t balance_others(const struct model *m, size_t g, GHashTable *dead, const char *released);
/* released[g] as above for every group (the array may be NULL). */
size_t balance_share(const struct model *m, GHashTable *dead, const char *const *released);
/* A stable, node-specific order: hash of "node\nlease". */
uint64_t balance_order(const char *node, const char *lease);
