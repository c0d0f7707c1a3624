/* One block of a pool as an allocator.
 *
 * The free addresses of an inclusive range are kept as disjoint free
 * intervals in a GTree ordered by their first address. A fresh range is a
 * single interval, so an IPv6 /64 or an IPv4 /8 costs one tree node until it
 * is used; taking an address splits at most one interval and giving one back
 * merges at most two, so memory is O(allocations + free intervals), never
 * O(range size). The lowest free address is the start of the first interval.
 * Every operation is O(log intervals).
 *
 * The range does not know who holds an address: it only knows which
 * addresses are free. The reconciler takes an address out of every range
 * containing it when a service gets it and gives it back when the last
 * holder lets go (ranges of overlapping pools see the same address).
 *
 * Reserved addresses (the first and last of a cidr block with
 * allowFirstLastIPs: No) are never free. Reserving an address that a service
 * holds leaves it with the service; when it is given back it stays out of
 * the free set — that is how "turning allowFirstLastIPs to No does not take
 * them from services holding them" works. */
#pragma once

#include <glib.h>
#include <stdbool.h>

#include "lib/addr.h"

struct ipam_pool;

struct ipam_range {
        struct iprange r;
        bool from_cidr;     /* a cidr block (first/last may be reserved) */
        bool reserve_first; /* r.from is reserved */
        bool reserve_last;  /* r.to is reserved */
        GTree *free;        /* struct free_interval * → itself, by first address */
        u128 taken;         /* addresses of r not in the free set */
        struct ipam_pool *pool;
};

struct ipam_range *range_new(const struct iprange *r, bool from_cidr, struct ipam_pool *pool);
void range_free(struct ipam_range *range);

/* For g_ptr_array_sort() of struct ipam_range *: by address (iprange_cmp). */
gint range_cmp_addr(gconstpointer a, gconstpointer b);

bool range_contains(const struct ipam_range *range, const struct ipaddr *a);
bool range_is_free(const struct ipam_range *range, u128 v);
bool range_is_reserved(const struct ipam_range *range, u128 v);
/* Removes v from the free set; false if it was not free. */
bool range_take(struct ipam_range *range, u128 v);
/* Returns v to the free set unless it is reserved (or already free). */
void range_give(struct ipam_range *range, u128 v);
bool range_lowest_free(const struct ipam_range *range, u128 *ret);

/* Whether first/last can be reserved at all: blocks of more than two
 * addresses (not /31, /32, /127, /128). */
bool range_can_reserve(const struct ipam_range *range);
/* Sets the reservation of first and last. held(v, userdata) tells whether a
 * service holds v: unreserving an address nobody holds frees it. */
void range_set_reserved(struct ipam_range *range, bool first, bool last,
                        bool (*held)(const struct ipam_range *range, u128 v, void *userdata),
                        void *userdata);

struct bigcount range_total(const struct ipam_range *range);
struct bigcount range_available(const struct ipam_range *range);
/* Number of free intervals (memory accounting, tests). */
size_t range_n_intervals(const struct ipam_range *range);
