/* libcurl multi ⇄ sd-event: the socket and timer callbacks libcurl calls,
 * the io and timer sources they maintain, and the pump that hands finished
 * transfers to the owner after libcurl returns (see curl-event.h). */
#include "curl-event.h"

#include "lib/log.h"
#include "lib/util.h"

struct curl_event {
        sd_event *event;
        CURLM *multi;
        sd_event_source *timer; /* libcurl's timeout */
        bool in_action;         /* inside curl_multi_socket_action */
        struct curl_event_ops ops;
        void *userdata;
};

/* Deliver buffered data and finished transfers until there is neither:
 * the ops may drive libcurl again (curl_event_kick). */
static void pump(struct curl_event *ce)
{
        for (;;) {
                bool finished = false;
                CURLMsg *msg;
                int left;

                ce->ops.deliver(ce->userdata);
                while ((msg = curl_multi_info_read(ce->multi, &left))) {
                        if (msg->msg != CURLMSG_DONE)
                                continue;
                        ce->ops.done(msg->easy_handle, msg->data.result, ce->userdata);
                        finished = true;
                }
                if (!finished && !ce->ops.pending(ce->userdata))
                        return;
        }
}

static void socket_action(struct curl_event *ce, curl_socket_t fd, int flags)
{
        int running;

        ce->in_action = true;
        (void)curl_multi_socket_action(ce->multi, fd, flags, &running);
        ce->in_action = false;
}

static int on_io(sd_event_source *s, int fd, uint32_t revents, void *userdata)
{
        struct curl_event *ce = userdata;
        int flags = 0;

        (void)s;
        if (revents & EPOLLIN)
                flags |= CURL_CSELECT_IN;
        if (revents & EPOLLOUT)
                flags |= CURL_CSELECT_OUT;
        if (revents & (EPOLLERR | EPOLLHUP))
                flags |= CURL_CSELECT_ERR;
        socket_action(ce, fd, flags);
        pump(ce);
        return 0;
}

static int on_timer(sd_event_source *s, uint64_t usec, void *userdata)
{
        struct curl_event *ce = userdata;

        (void)s;
        (void)usec;
        socket_action(ce, CURL_SOCKET_TIMEOUT, 0);
        pump(ce);
        return 0;
}

/* CURLMOPT_SOCKETFUNCTION: watch fd for what libcurl waits for. */
static int socket_cb(CURL *easy, curl_socket_t fd, int what, void *userp, void *socketp)
{
        struct curl_event *ce = userp;
        sd_event_source *src = socketp;
        uint32_t events = 0;

        (void)easy;
        if (what == CURL_POLL_REMOVE) {
                if (src) {
                        sd_event_source_disable_unref(src);
                        (void)curl_multi_assign(ce->multi, fd, NULL);
                }
                return 0;
        }
        if (what == CURL_POLL_IN || what == CURL_POLL_INOUT)
                events |= EPOLLIN;
        if (what == CURL_POLL_OUT || what == CURL_POLL_INOUT)
                events |= EPOLLOUT;
        if (src) {
                (void)sd_event_source_set_io_events(src, events);
                return 0;
        }
        if (sd_event_add_io(ce->event, &src, fd, events, on_io, ce) < 0) {
                log_error("cannot watch a socket of the API connection", "fd=%d", fd);
                return -1;
        }
        (void)sd_event_source_set_description(src, "kube-curl-io");
        (void)curl_multi_assign(ce->multi, fd, src);
        return 0;
}

/* CURLMOPT_TIMERFUNCTION: one timer, re-armed or stopped as libcurl asks. */
static int timer_cb(CURLM *multi, long timeout_ms, void *userp)
{
        struct curl_event *ce = userp;

        (void)multi;
        if (timeout_ms < 0)
                return sd_event_source_set_enabled(ce->timer, SD_EVENT_OFF) < 0 ? -1 : 0;
        (void)sd_event_source_set_time_relative(ce->timer, (uint64_t)timeout_ms * 1000);
        (void)sd_event_source_set_enabled(ce->timer, SD_EVENT_ONESHOT);
        return 0;
}

int curl_event_new(sd_event *event, const struct curl_event_ops *ops, void *userdata,
                   struct curl_event **ret)
{
        static bool curl_ready;
        struct curl_event *ce;
        int r;

        assert(event);
        assert(ops && ops->deliver && ops->pending && ops->done);
        assert(ret);
        if (!curl_ready) {
                if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
                        return -EIO;
                curl_ready = true;
        }
        ce = xnew(struct curl_event, 1);
        ce->event = sd_event_ref(event);
        ce->ops = *ops;
        ce->userdata = userdata;
        ce->multi = curl_multi_init();
        if (!ce->multi)
                oom(); /* its only failure */
        (void)curl_multi_setopt(ce->multi, CURLMOPT_SOCKETFUNCTION, socket_cb);
        (void)curl_multi_setopt(ce->multi, CURLMOPT_SOCKETDATA, ce);
        (void)curl_multi_setopt(ce->multi, CURLMOPT_TIMERFUNCTION, timer_cb);
        (void)curl_multi_setopt(ce->multi, CURLMOPT_TIMERDATA, ce);
        (void)curl_multi_setopt(ce->multi, CURLMOPT_PIPELINING, CURLPIPE_MULTIPLEX);
        (void)curl_multi_setopt(ce->multi, CURLMOPT_MAX_CONCURRENT_STREAMS, 200L);
        r = sd_event_add_time(event, &ce->timer, CLOCK_MONOTONIC, UINT64_MAX, 1000, on_timer, ce);
        if (r < 0) {
                curl_event_free(ce);
                return r;
        }
        (void)sd_event_source_set_enabled(ce->timer, SD_EVENT_OFF);
        *ret = ce;
        return 0;
}

void curl_event_free(struct curl_event *ce)
{
        if (!ce)
                return;
        curl_multi_cleanup(ce->multi);
        sd_event_source_disable_unref(ce->timer);
        sd_event_unref(ce->event);
        free(ce);
}

CURLMcode curl_event_add(struct curl_event *ce, CURL *easy)
{
        return curl_multi_add_handle(ce->multi, easy);
}

void curl_event_remove(struct curl_event *ce, CURL *easy)
{
        (void)curl_multi_remove_handle(ce->multi, easy);
}

bool curl_event_busy(const struct curl_event *ce)
{
        return ce->in_action;
}

void curl_event_kick(struct curl_event *ce)
{
        socket_action(ce, CURL_SOCKET_TIMEOUT, 0);
}
