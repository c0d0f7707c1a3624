/* Gratuitous announcements: when this node starts answering for an address
 * on an interface, the shell sends a gratuitous ARP (request and reply
 * forms) or an unsolicited Neighbor Advertisement at once and then every
 * GARP_INTERVAL, GARP_COUNT times in all (MetalLB sends for 5 s), so
 * neighbours that missed the first one, or cached the old holder's MAC,
 * switch over. An (address, interface) that stops being announced and comes
 * back starts a new series, and so does every address of an interface whose
 * MAC changes. */
#pragma once

#include <glib.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/addr.h"

#define GARP_INTERVAL (UINT64_C(1000000)) /* µs */
#define GARP_COUNT    5

struct garp_key {
        struct ipaddr ip;
        int ifindex;
};

struct garp_table {
        GHashTable *t; /* struct garp_key → struct garp_state */
};

void garp_table_init(struct garp_table *g);
void garp_table_done(struct garp_table *g);

/* Marks a pinned (already announced) pair as done: no series for it. */
void garp_table_quiet(struct garp_table *g, const struct garp_key *k);
/* Starts the series of every pair on ifindex again, as if new: its MAC
 * changed, and neighbours must learn the new one at once. */
void garp_table_restart(struct garp_table *g, int ifindex);
/* current[0..n): the pairs announced now. Appends the pairs due now to *due
 * (realloc'ed, *n_due updated), forgets pairs no longer announced, and
 * lowers *next_wakeup to the next send. */
void garp_table_update(struct garp_table *g, const struct garp_key *current, size_t n, uint64_t now,
                       struct garp_key **due, size_t *n_due, uint64_t *next_wakeup);
