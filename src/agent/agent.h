/* l2lb-agent: the L2 announcer's effects on one node. Informers, netlink
 * and write results feed the pure core (src/announce); its decisions become
 * responder map entries, gratuitous announcements, Lease writes, policy
 * status patches and Events. */
#pragma once

#include <stdbool.h>
#include <systemd/sd-event.h>

#include "daemon/config.h"

struct agent;

/* cfg must outlive the agent. */
int agent_new(sd_event *e, const struct l2lb_config *cfg, struct agent **ret);
int agent_start(struct agent *a);
/* SIGTERM: renew once more and keep the pinned state for a restart, or
 * (release) hand every lease over and fall silent; then call done. */
void agent_shutdown(struct agent *a, bool release, void (*done)(void *), void *userdata);
void agent_free(struct agent *a);
