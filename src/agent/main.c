/* l2lb-agent: announces this node's share of service IPs with ARP and NDP. */
#include "agent.h"
#include "daemon/program.h"
#include "lib/log.h"
#include "lib/util.h"

static int run_create(sd_event *e, struct l2lb_config *cfg, void **ret)
{
        struct agent *a = NULL;
        int r;

        if (!cfg->enable_l2_announcements) {
                log_info("L2 announcements disabled (enable-l2-announcements=false): exiting");
                return 1;
        }
        r = agent_new(e, cfg, &a);
        *ret = a;
        return r;
}

static int run_start(void *p)
{
        return agent_start(p);
}

static void run_shutdown(void *p, const struct l2lb_config *cfg, const char *signal,
                         void (*done)(void *), void *userdata)
{
        log_info("shutting down", "signal=%s leases=%s", signal,
                 cfg->release_on_shutdown ? "handed over" : "kept for a restart");
        agent_shutdown(p, cfg->release_on_shutdown, done, userdata);
}

static void run_free(void *p)
{
        agent_free(p);
}

int main(int argc, char **argv)
{
        static const struct program_info info = {
            .name = "l2lb-agent",
            .program = CONFIG_AGENT,
            .summary = "announces service IPs on this node with ARP and NDP",
        };
        static const struct program_ops ops = {
            .create = run_create,
            .start = run_start,
            .shutdown = run_shutdown,
            .free = run_free,
            /* the writes time out after one renew deadline */
            .shutdown_timeout = 5 * USEC_PER_SEC,
        };

        return program_run(&info, &ops, argc, argv);
}
