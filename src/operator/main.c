/* l2lb-operator: LB-IPAM for LoadBalancer services (one leader among replicas). */
#include <signal.h>
#include <stdio.h>
#include <systemd/sd-event.h>

#include "lib/log.h"
#include "daemon/program.h"
#include "lib/util.h"
#include "operator.h"

static void shutdown_done(void *ud)
{
        sd_event_exit(ud, 0);
}

static int on_signal(sd_event_source *s, const struct signalfd_siginfo *si, void *ud)
{
        struct operator *o = ud;
        sd_event *e = sd_event_source_get_event(s);

        log_info("shutting down", "signal=%s", strsignal((int)si->ssi_signo));
        /* give the lease back so another replica takes over at once; do not
         * wait for ever on a dead apiserver */
        sd_event_add_time_relative(e, NULL, CLOCK_MONOTONIC, 3 * USEC_PER_SEC, 0, NULL,
                                   NULL);
        operator_shutdown(o, shutdown_done, e);
        return 0;
}

int main(int argc, char **argv)
{
        static const struct program_info info = {
                .name = "l2lb-operator",
                .program = CONFIG_OPERATOR,
                .summary = "assigns LoadBalancer IPs from CiliumLoadBalancerIPPools",
        };
        struct l2lb_config cfg;
        struct operator *o = NULL;
        sd_event *e = NULL;
        sigset_t ss;
        int r;

        r = program_init(&info, argc, argv, &cfg, NULL);
        if (r != 0)
                return r > 0 ? 0 : 2;
        sigemptyset(&ss);
        sigaddset(&ss, SIGTERM);
        sigaddset(&ss, SIGINT);
        sigprocmask(SIG_BLOCK, &ss, NULL);
        signal(SIGPIPE, SIG_IGN);
        r = sd_event_default(&e);
        if (r >= 0)
                r = operator_new(e, &cfg, &o);
        if (r >= 0) {
                sd_event_add_signal(e, NULL, SIGTERM, on_signal, o);
                sd_event_add_signal(e, NULL, SIGINT, on_signal, o);
                r = operator_start(o);
        }
        if (r >= 0)
                r = sd_event_loop(e);
        operator_free(o);
        sd_event_unref(e);
        config_done(&cfg);
        return r < 0 ? 1 : 0;
}
