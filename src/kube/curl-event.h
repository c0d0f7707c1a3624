/* libcurl's multi interface driven by an sd-event loop.
 *
 * Owns the CURLM handle, one io source per socket libcurl asks to have
 * watched (CURLMOPT_SOCKETFUNCTION), the one timer libcurl asks for
 * (CURLMOPT_TIMERFUNCTION), and the pump that runs after libcurl returns
 * from an io or timer event. The multi handle multiplexes HTTP/2 streams
 * over one connection per server (easy handles that want to share it set
 * CURLOPT_PIPEWAIT).
 *
 * It knows nothing of requests: its owner adds and removes easy handles and
 * learns through struct curl_event_ops what arrived and what finished. The
 * ops never run inside libcurl (only write callbacks do, which should just
 * buffer), so they may add, remove and kick freely. */
#pragma once

#include <curl/curl.h>
#include <stdbool.h>
#include <systemd/sd-event.h>

struct curl_event;

/* The pump, after each curl_multi_socket_action of an io or timer event:
 * deliver(), then done() for every finished transfer, again and again until
 * a round finished nothing and pending() is false (the ops may have driven
 * libcurl again through curl_event_kick, which does not pump). */
struct curl_event_ops {
        /* Hand on what the write callbacks buffered. */
        void (*deliver)(void *userdata);
        /* Whether write callbacks buffered something since deliver(). */
        bool (*pending)(void *userdata);
        /* A transfer ended (result CURLE_OK or the transport error). The
         * easy handle is still added: remove it with curl_event_remove. */
        void (*done)(CURL *easy, CURLcode result, void *userdata);
};

/* ops is copied. -EIO when libcurl cannot be initialised. */
int curl_event_new(sd_event *event, const struct curl_event_ops *ops, void *userdata,
                   struct curl_event **ret);
/* Remove every easy handle first. */
void curl_event_free(struct curl_event *ce);

/* Start a transfer: libcurl begins on its next action (or curl_event_kick). */
CURLMcode curl_event_add(struct curl_event *ce, CURL *easy);
void curl_event_remove(struct curl_event *ce, CURL *easy);

/* Inside curl_multi_socket_action (only write callbacks run there). */
bool curl_event_busy(const struct curl_event *ce);
/* Let libcurl act on its timers and send what was added, now rather than on
 * its next event. Does not pump: what this finishes is reported by the pump
 * in progress, or after the next io or timer event. */
void curl_event_kick(struct curl_event *ce);
