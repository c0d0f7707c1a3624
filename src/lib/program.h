/* Start-up shared by the l2lb programs: configuration, --help, --version
 * and logging, so every program behaves the same way on the command line. */
#pragma once

#include "config.h"

struct program_info {
        const char *name;     /* "l2lb-agent" */
        unsigned program;     /* CONFIG_AGENT, ... */
        const char *summary;  /* one line: what the program does */
        const char *usage;    /* extra usage lines (subcommands), may be NULL */
};

/* Returns 0 to continue, 1 if the program should exit successfully
 * (--help/--version printed), or a negative errno after printing why. */
int program_init(const struct program_info *info, int argc, char **argv,
                 struct l2lb_config *cfg, char ***ret_args);
