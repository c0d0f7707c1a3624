/* l2lb-operator: the LB-IPAM controller's effects. Informers on pools and
 * Services feed the pure core (src/ipam); while this replica leads, the
 * core's decisions become status patches and Events. */
#pragma once

#include <systemd/sd-event.h>

#include "daemon/config.h"

struct operator;

int operator_new(sd_event *e, struct l2lb_config *cfg, struct operator** ret);
int operator_start(struct operator* o);
/* Hand leadership over (if leading) and call done when finished. */
void operator_shutdown(struct operator* o, void (*done)(void *), void *userdata);
void operator_free(struct operator* o);
