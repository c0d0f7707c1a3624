/* l2lb-operator: LB-IPAM for LoadBalancer services (one leader among replicas). */
#include "daemon/program.h"
#include "lib/log.h"
#include "lib/util.h"
#include "operator.h"

static int run_create(sd_event *e, struct l2lb_config *cfg, void **ret)
{
        struct operator* o = NULL;
        int r;

        r = operator_new(e, cfg, &o);
        *ret = o;
        return r;
}

static int run_start(void *p)
{
        return operator_start(p);
}

static void run_shutdown(void *p, const struct l2lb_config *cfg, const char *signal,
                         void (*done)(void *), void *userdata)
{
        (void)cfg;
        log_info("shutting down", "signal=%s", signal);
        /* give the lease back so another replica takes over at once */
        operator_shutdown(p, done, userdata);
}

static void run_free(void *p)
{
        operator_free(p);
}

int main(int argc, char **argv)
{
        static const struct program_info info = {
            .name = "l2lb-operator",
            .program = CONFIG_OPERATOR,
            .summary = "assigns LoadBalancer IPs from CiliumLoadBalancerIPPools",
        };
        static const struct program_ops ops = {
            .create = run_create,
            .start = run_start,
            .shutdown = run_shutdown,
            .free = run_free,
            .shutdown_timeout = 3 * USEC_PER_SEC,
        };

        return program_run(&info, &ops, argc, argv);
}
