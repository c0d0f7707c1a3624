/* Command line → configuration → logging, identical for all programs. */
#include "program.h"

#include <stdio.h>

#include "kube/connect.h"
#include "lib/log.h"
#include "lib/util.h"
#include "version.h"

int program_init(const struct program_info *info, int argc, char **argv,
                 struct l2lb_config *cfg, char ***ret_args)
{
        _cleanup_free_ char *err = NULL;
        enum log_format fmt = LOG_FORMAT_LOGFMT;
        enum log_level lvl = LOG_LEVEL_INFO;
        int r;

        r = config_load(cfg, info->program, argc, argv, ret_args, &err);
        if (r == CONFIG_VERSION) {
                printf("%s version %s\n", info->name, L2LB_VERSION);
                return 1;
        }
        if (r == CONFIG_HELP) {
                printf("%s — %s\n\nUsage: %s [FLAGS]%s\n", info->name, info->summary, info->name,
                       info->usage ? " COMMAND" : "");
                if (info->usage)
                        printf("\nCommands:\n%s", info->usage);
                printf("\nFlags (each is also read from a file of the same name in "
                       "--config-dir):\n  --help\n        show this help\n  --version\n"
                       "        print the version\n");
                config_help(info->program, stdout);
                return 1;
        }
        if (r < 0) {
                fprintf(stderr, "%s: %s\n", info->name, err ? err : strerror(-r));
                return r;
        }
        /* both were validated against their choices by config_load */
        (void)log_parse_format(cfg->log_format, &fmt);
        (void)log_parse_level(cfg->log_level, &lvl);
        log_setup(info->name, fmt, lvl);
        return 0;
}

int program_kube_connect(sd_event *e, const struct l2lb_config *cfg, const char *user_agent,
                         struct kube_client **ret)
{
        const struct kube_connect_options o = {
                .kubeconfig = cfg->kubeconfig,
                .qps = cfg->k8s_client_qps,
                .burst = (unsigned)cfg->k8s_client_burst,
                .user_agent = user_agent,
        };

        assert(cfg);
        return kube_connect(e, &o, ret);
}
