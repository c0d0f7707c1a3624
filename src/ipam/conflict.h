/* Pool conflicts: overlapping address ranges between pools, or within one.
 *
 * Two ranges overlap when from1 <= to2 && from2 <= to1. Of two overlapping
 * pools the one created later (creationTimestamp, then name) is marked; a
 * pool whose own blocks overlap is marked too. A marked pool makes no new
 * allocations but keeps existing ones. Marks are sticky, as in Cilium, so
 * that marking never moves from pool to pool by itself: a marked pool is
 * unmarked once it overlaps no unmarked pool and none of its own blocks
 * overlap (so, in particular, once it overlaps nothing). Pools are visited
 * in age order, which makes the result independent of hash or event order.
 *
 * The message is Cilium's: "Pool conflicts since range '<from> - <to>'
 * overlaps range '<from> - <to>' from IP Pool '<name>'", the marked pool's
 * range first. It is kept while the pool stays marked. */
#pragma once

#include <glib.h>

#include "ipam/pool.h"

/* pools: every pool (struct ipam_pool *), any order. */
void conflicts_settle(GPtrArray *pools);
