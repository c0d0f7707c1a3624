/* l2lb: the command line. */
#include <stdio.h>

#include "lib/config.h"
#include "lib/log.h"
#include "lib/program.h"
#include "lib/util.h"
#include "version.h"

int main(int argc, char **argv)
{
        static const struct program_info info = {
                .name = "l2lb",
                .program = CONFIG_CLI,
                .summary = "inspect l2lb: configuration, leases, pools, responder",
                .usage = "  version        print the version\n"
                         "  config view    effective configuration (Cilium's key names)\n",
        };
        struct l2lb_config cfg;
        char **args = NULL;
        int r;

        r = program_init(&info, argc, argv, &cfg, &args);
        if (r != 0)
                return r > 0 ? 0 : 2;
        if (!args[0] || streq(args[0], "version")) {
                printf("l2lb version %s\n", L2LB_VERSION);
                r = 0;
        } else if (streq(args[0], "config") && args[1] && streq(args[1], "view")) {
                config_view(&cfg, CONFIG_CLI, stdout);
                r = 0;
        } else {
                fprintf(stderr, "l2lb: unknown command \"%s\" (see --help)\n", args[0]);
                r = 2;
        }
        strv_free(args);
        config_done(&cfg);
        return r;
}
