/* Shared-address groups: services whose address sets intersect, directly or
 * through other services, are one group (connected components, union-find).
 * One node announces a whole group, so two nodes never answer for one
 * address even when services share it (lbipam.cilium.io/sharing-key). */
#pragma once

#include <stddef.h>

#include "service.h"

/* sets[0..n) are the services' address sets, in canonical order (the lowest
 * index of a group is its canonical service). Fills group[i] with the group
 * of service i; groups are numbered 0.. in order of their canonical service.
 * Returns the number of groups. */
size_t groups_build(const struct announce_ip_list *const *sets, size_t n, size_t *group);
