/* `l2lb doctor`: gather the node's facts and print the checks' results. */
#pragma once

#include "cli/output.h"
#include "daemon/config.h"

/* 0 when every check is OK (or cannot run here), 1 when one warns or fails,
 * negative errno on errors. */
int cmd_doctor(const struct l2lb_config *cfg, enum output_format out);
