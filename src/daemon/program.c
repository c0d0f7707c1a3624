/* Command line → configuration → logging, identical for all programs; the
 * daemons' main loop. */
#include "program.h"

#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "commit.h"
#include "daemon/process-metrics.h"
#include "kube/connect.h"
#include "lib/log.h"
#include "lib/util.h"
#include "version.h"

char *program_version(const char *name)
{
        assert(name);
        return xasprintf("%s version %s (commit %s, %s)", name, L2LB_VERSION, L2LB_COMMIT,
                         L2LB_COMPILER);
}

struct metrics *program_metrics_new(void)
{
        static const char *const lbl[] = {"version", "commit", "compiler", NULL};
        struct metrics *m = metrics_new();

        metric_set(metrics_gauge(m, "l2lb_build_info",
                                 "Always 1; the labels say which build of l2lb this is.", lbl),
                   1, L2LB_VERSION, L2LB_COMMIT, L2LB_COMPILER);
        process_metrics_add(m);
        return m;
}

int program_init(const struct program_info *info, int argc, char **argv, struct l2lb_config *cfg,
                 char ***ret_args)
{
        _cleanup_free_ char *err = NULL;
        enum log_format fmt = LOG_FORMAT_LOGFMT;
        enum log_level lvl = LOG_LEVEL_INFO;
        int r;

        r = config_load(cfg, info->program, argc, argv, ret_args, &err);
        if (r == CONFIG_VERSION) {
                _cleanup_free_ char *v = program_version(info->name);

                printf("%s\n", v);
                return 1;
        }
        if (r == CONFIG_HELP) {
                printf("%s — %s\n\nUsage: %s [FLAGS]%s\n", info->name, info->summary, info->name,
                       info->usage ? " COMMAND" : "");
                if (info->usage)
                        printf("\nCommands:\n%s", info->usage);
                printf("\nFlags (each is also read from a file of the same name in "
                       "--config-dir):\n  --help\n        show this help\n  --version\n"
                       "        print the version, the git commit and the compiler\n");
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

char *program_default_name(const char *env_var, const char *fallback, bool unique)
{
        const char *env = getenv(env_var);
        char host[256] = "";

        assert(env_var);
        assert(fallback);
        if (!isempty(env))
                return xstrdup(env);
        (void)snprintf(host, sizeof(host), "%s", fallback);
        (void)gethostname(host, sizeof(host) - 1);
        return unique ? xasprintf("%s_%d", host, (int)getpid()) : xstrdup(host);
}

struct run {
        const struct program_ops *ops;
        struct l2lb_config *cfg;
        void *p;
};

static void stopped(void *ud)
{
        (void)sd_event_exit(ud, 0);
}

static int on_signal(sd_event_source *s, const struct signalfd_siginfo *si, void *ud)
{
        struct run *run = ud;
        sd_event *e = sd_event_source_get_event(s);

        /* never hang on a dead apiserver: the last resort (a timer without a
         * callback exits the loop) */
        (void)sd_event_add_time_relative(e, NULL, CLOCK_MONOTONIC, run->ops->shutdown_timeout, 0,
                                         NULL, NULL);
        run->ops->shutdown(run->p, run->cfg, strsignal((int)si->ssi_signo), stopped, e);
        return 0;
}

int program_run(const struct program_info *info, const struct program_ops *ops, int argc,
                char **argv)
{
        struct l2lb_config cfg;
        struct run run = {.ops = ops, .cfg = &cfg};
        sd_event *e = NULL;
        sigset_t ss;
        int r;

        assert(info);
        assert(ops);
        r = program_init(info, argc, argv, &cfg, NULL);
        if (r != 0)
                return r > 0 ? 0 : 2;
        (void)sigemptyset(&ss);
        (void)sigaddset(&ss, SIGTERM);
        (void)sigaddset(&ss, SIGINT);
        (void)sigprocmask(SIG_BLOCK, &ss, NULL);
        (void)signal(SIGPIPE, SIG_IGN);
        r = sd_event_default(&e);
        if (r >= 0)
                r = ops->create(e, &cfg, &run.p);
        if (r == 0) {
                (void)sd_event_add_signal(e, NULL, SIGTERM, on_signal, &run);
                (void)sd_event_add_signal(e, NULL, SIGINT, on_signal, &run);
                r = ops->start(run.p);
                if (r >= 0)
                        r = sd_event_loop(e);
        }
        if (run.p)
                ops->free(run.p);
        (void)sd_event_unref(e);
        config_done(&cfg);
        return r < 0 ? 1 : 0;
}
