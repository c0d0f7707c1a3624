/* l2lb-agent: start-up skeleton — configuration, API connection, event loop. */
#include <signal.h>
#include <stdio.h>
#include <systemd/sd-event.h>

#include "kube/connect.h"
#include "lib/log.h"
#include "lib/program.h"
#include "lib/util.h"

int main(int argc, char **argv)
{
        static const struct program_info info = {
                .name = "l2lb-agent",
                .program = CONFIG_AGENT,
                .summary = "announces service IPs on this node with ARP and NDP",
        };
        struct l2lb_config cfg;
        struct kube_client *client = NULL;
        sd_event *e = NULL;
        _cleanup_free_ char *version = NULL;
        int r;

        r = program_init(&info, argc, argv, &cfg, NULL);
        if (r != 0)
                return r > 0 ? 0 : 2;
        r = sd_event_default(&e);
        if (r < 0)
                goto out;
        r = kube_connect(e, &cfg, info.name, &client);
        if (r < 0)
                goto out;
        r = kube_server_version(client, &version, 10 * USEC_PER_SEC);
        if (r < 0)
                goto out;
        log_info("connected to the Kubernetes API", "version=%s", version);
        sigprocmask(SIG_BLOCK, &(sigset_t){0}, NULL);
        {
                sigset_t ss;

                sigemptyset(&ss);
                sigaddset(&ss, SIGTERM);
                sigaddset(&ss, SIGINT);
                sigprocmask(SIG_BLOCK, &ss, NULL);
        }
        sd_event_add_signal(e, NULL, SIGTERM, NULL, NULL);
        sd_event_add_signal(e, NULL, SIGINT, NULL, NULL);
        r = sd_event_loop(e);
out:
        kube_client_free(client);
        sd_event_unref(e);
        config_done(&cfg);
        return r < 0 ? 1 : 0;
}
