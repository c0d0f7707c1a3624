/* Attaching the responder to devices, as a pass of its own: the configured
 * devices present (once the agent started), the devices the core's entries
 * use, and the devices an attach failed on (retried with a backoff). A
 * device the responder cannot be attached to counts as down for the core. */
#include <stdio.h>

#include "agent-internal.h"
#include "bpf/responder.h"
#include "lib/log.h"
#include "lib/util.h"

struct attach_failure {
        uint64_t retry_at; /* mono */
        uint64_t backoff;
};

#define ATTACH_BACKOFF_MIN (1 * USEC_PER_SEC)
#define ATTACH_BACKOFF_MAX (300 * USEC_PER_SEC)

void agent_report_device(struct agent *a, const struct link_info *l)
{
        struct announcer_device dev = {
            .name = l->name,
            .ifindex = l->ifindex,
            .up =
                l->carrier && !g_hash_table_contains(a->attach_failed, GINT_TO_POINTER(l->ifindex)),
        };

        memcpy(dev.mac, l->mac, 6);
        (void)announcer_set_device(a->ann, &dev);
}

static void arm_attach_retry(struct agent *a)
{
        uint64_t first = UINT64_MAX;
        GHashTableIter it;
        gpointer v;

        g_hash_table_iter_init(&it, a->attach_failed);
        while (g_hash_table_iter_next(&it, NULL, &v)) {
                const struct attach_failure *f = v;

                if (f->retry_at < first)
                        first = f->retry_at;
        }
        if (first == UINT64_MAX) {
                (void)sd_event_source_set_enabled(a->attach_retry, SD_EVENT_OFF);
                return;
        }
        (void)sd_event_source_set_time(a->attach_retry, first);
        (void)sd_event_source_set_enabled(a->attach_retry, SD_EVENT_ONESHOT);
}

/* Attach the responder to ifindex unless it is. After a failure, attempts
 * wait for a backoff (1 s doubling to 5 min): the pass runs on every core
 * run, and a device held by another program stays refused until it goes. */
static void ensure_attached(struct agent *a, int ifindex)
{
        enum responder_xdp_mode mode = streq(a->cfg->xdp_mode, "generic")  ? RESPONDER_XDP_GENERIC
                                       : streq(a->cfg->xdp_mode, "native") ? RESPONDER_XDP_NATIVE
                                                                           : RESPONDER_XDP_AUTO;
        struct responder_attachment how, *h;
        struct attach_failure *f = g_hash_table_lookup(a->attach_failed, GINT_TO_POINTER(ifindex));
        struct link_info *l = g_hash_table_lookup(a->devices, GINT_TO_POINTER(ifindex));
        uint64_t now = agent_mono(a);
        char buf[IF_NAMESIZE];
        int r;

        if (g_hash_table_contains(a->attached, GINT_TO_POINTER(ifindex)))
                return;
        if (f && now < f->retry_at)
                return;
        r = responder_attach_report(a->resp, ifindex, mode, &how);
        if (r < 0) {
                bool first = !f;

                if (!f) {
                        f = xnew(struct attach_failure, 1);
                        f->backoff = ATTACH_BACKOFF_MIN;
                        g_hash_table_insert(a->attach_failed, GINT_TO_POINTER(ifindex), f);
                } else if (f->backoff < ATTACH_BACKOFF_MAX)
                        f->backoff = MIN(2 * f->backoff, ATTACH_BACKOFF_MAX);
                f->retry_at = now + f->backoff;
                log_error_errno(r, "cannot attach the responder: the device counts as down",
                                "device=%s retry_in_ms=%" PRIu64, agent_ifname(a, ifindex, buf),
                                f->backoff / 1000);
                if (first && l) {
                        agent_report_device(a, l);
                        agent_schedule_run(a);
                }
                arm_attach_retry(a);
                return;
        }
        h = xnew(struct responder_attachment, 1);
        *h = how;
        g_hash_table_insert(a->attached, GINT_TO_POINTER(ifindex), h);
        log_info("responder attached", "device=%s mode=%s reason=%s", agent_ifname(a, ifindex, buf),
                 responder_xdp_mode_name(how.mode), log_q(how.reason));
        if (f) {
                g_hash_table_remove(a->attach_failed, GINT_TO_POINTER(ifindex));
                arm_attach_retry(a);
                if (l) {
                        agent_report_device(a, l);
                        agent_schedule_run(a);
                }
        }
}

/* ensure_attached() on every ifindex in a snapshot of the set: an attempt
 * changes a->attach_failed. */
static void ensure_attached_all(struct agent *a, GHashTable *set)
{
        GList *keys = g_hash_table_get_keys(set);

        for (GList *k = keys; k; k = k->next)
                ensure_attached(a, GPOINTER_TO_INT(k->data));
        g_list_free(keys);
}

void agent_attach_pass(struct agent *a)
{
        GHashTableIter it;
        gpointer v;

        assert(a);
        if (a->started) {
                g_hash_table_iter_init(&it, a->devices);
                while (g_hash_table_iter_next(&it, NULL, &v)) {
                        const struct link_info *l = v;

                        if (agent_device_configured(a, l->name))
                                ensure_attached(a, l->ifindex);
                }
        }
        ensure_attached_all(a, a->entry_devices);
        ensure_attached_all(a, a->attach_failed);
}

void agent_attach_set_entries(struct agent *a, const struct announce_decisions *d)
{
        assert(a);
        assert(d);
        g_hash_table_remove_all(a->entry_devices);
        for (size_t i = 0; i < d->n_entries; i++)
                g_hash_table_add(a->entry_devices, GINT_TO_POINTER(d->entries[i].ifindex));
}

void agent_attach_forget(struct agent *a, int ifindex)
{
        assert(a);
        g_hash_table_remove(a->attached, GINT_TO_POINTER(ifindex));
        g_hash_table_remove(a->attach_failed, GINT_TO_POINTER(ifindex));
        g_hash_table_remove(a->entry_devices, GINT_TO_POINTER(ifindex));
}

static int on_attach_retry(sd_event_source *s, uint64_t usec, void *ud)
{
        struct agent *a = ud;
        GList *keys = g_hash_table_get_keys(a->attach_failed);

        (void)s;
        (void)usec;
        /* devices gone meanwhile are not retried */
        for (GList *k = keys; k; k = k->next)
                if (!g_hash_table_contains(a->devices, k->data))
                        g_hash_table_remove(a->attach_failed, k->data);
        g_list_free(keys);
        agent_attach_pass(a);
        arm_attach_retry(a);
        return 0;
}

int agent_attach_setup(struct agent *a)
{
        int r;

        assert(a);
        a->attached = g_hash_table_new_full(NULL, NULL, NULL, free);
        a->attach_failed = g_hash_table_new_full(NULL, NULL, NULL, free);
        a->entry_devices = g_hash_table_new(NULL, NULL);
        r = sd_event_add_time(a->event, &a->attach_retry, CLOCK_MONOTONIC, UINT64_MAX, 10000,
                              on_attach_retry, a);
        if (r < 0)
                return r;
        (void)sd_event_source_set_enabled(a->attach_retry, SD_EVENT_OFF);
        return 0;
}

void agent_attach_done(struct agent *a)
{
        assert(a);
        a->attach_retry = sd_event_source_disable_unref(a->attach_retry);
        g_clear_pointer(&a->attached, g_hash_table_unref);
        g_clear_pointer(&a->attach_failed, g_hash_table_unref);
        g_clear_pointer(&a->entry_devices, g_hash_table_unref);
}
