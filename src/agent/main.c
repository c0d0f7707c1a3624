/* l2lb-agent: announces this node's share of service IPs with ARP and NDP. */
#include <signal.h>
#include <stdio.h>
#include <systemd/sd-event.h>

#include "agent.h"
#include "lib/log.h"
#include "daemon/program.h"
#include "lib/util.h"

struct ctx {
        struct agent *agent;
        struct l2lb_config *cfg;
};

static void stopped(void *ud)
{
        sd_event_exit(ud, 0);
}

static int on_signal(sd_event_source *s, const struct signalfd_siginfo *si, void *ud)
{
        struct ctx *c = ud;
        sd_event *e = sd_event_source_get_event(s);

        log_info("shutting down", "signal=%s leases=%s", strsignal((int)si->ssi_signo),
                 c->cfg->release_on_shutdown ? "handed over" : "kept for a restart");
        /* never hang on a dead apiserver: the writes time out after one renew
         * deadline; this is the last resort */
        sd_event_add_time_relative(e, NULL, CLOCK_MONOTONIC, 5 * USEC_PER_SEC, 0, NULL, NULL);
        agent_shutdown(c->agent, c->cfg->release_on_shutdown, stopped, e);
        return 0;
}

int main(int argc, char **argv)
{
        static const struct program_info info = {
                .name = "l2lb-agent",
                .program = CONFIG_AGENT,
                .summary = "announces service IPs on this node with ARP and NDP",
        };
        struct l2lb_config cfg;
        struct ctx ctx = {.cfg = &cfg};
        sd_event *e = NULL;
        sigset_t ss;
        int r;

        r = program_init(&info, argc, argv, &cfg, NULL);
        if (r != 0)
                return r > 0 ? 0 : 2;
        if (!cfg.enable_l2_announcements) {
                log_info("L2 announcements disabled (enable-l2-announcements=false): exiting");
                config_done(&cfg);
                return 0;
        }
        sigemptyset(&ss);
        sigaddset(&ss, SIGTERM);
        sigaddset(&ss, SIGINT);
        sigprocmask(SIG_BLOCK, &ss, NULL);
        signal(SIGPIPE, SIG_IGN);
        r = sd_event_default(&e);
        if (r >= 0)
                r = agent_new(e, &cfg, &ctx.agent);
        if (r >= 0) {
                sd_event_add_signal(e, NULL, SIGTERM, on_signal, &ctx);
                sd_event_add_signal(e, NULL, SIGINT, on_signal, &ctx);
                r = agent_start(ctx.agent);
        }
        if (r >= 0)
                r = sd_event_loop(e);
        agent_free(ctx.agent);
        sd_event_unref(e);
        config_done(&cfg);
        return r < 0 ? 1 : 0;
}
