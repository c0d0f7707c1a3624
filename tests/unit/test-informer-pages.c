/* A paged list whose second page is malformed: the informer must not take
 * the first page for the whole list (the objects of the other pages would
 * look deleted). It drops what it read and lists again from the first
 * page. The apiserver is a small local HTTP server, since a real one
 * cannot be made to send a malformed page. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

#include "kube/client.h"
#include "kube/informer.h"
#include "lib/util.h"

#define PAGE1                                                                                      \
        "{\"kind\":\"NodeList\",\"metadata\":{\"resourceVersion\":\"10\",\"continue\":\"c1\"},"    \
        "\"items\":[{\"metadata\":{\"name\":\"a\",\"resourceVersion\":\"1\"}}]}"
#define PAGE2                                                                                      \
        "{\"kind\":\"NodeList\",\"metadata\":{\"resourceVersion\":\"10\"},\"items\":["             \
        "{\"metadata\":{\"name\":\"b\",\"resourceVersion\":\"2\"}},"                               \
        "{\"metadata\":{\"name\":\"c\",\"resourceVersion\":\"3\"}}]}"

/* The server's script and what it saw (its thread writes, the test reads
 * after the informer synced: the client's callbacks follow the answers). */
static struct {
        const char *bad_page2; /* served the first time page 2 is asked */
        unsigned lists;
        char continues[8][8]; /* each list request's continue token, "" if none */
        unsigned adds, synced, count_at_sync;
        struct kube_informer *inf;
} t;

static enum MHD_Result serve(void *cls, struct MHD_Connection *conn, const char *url,
                             const char *method, const char *version, const char *upload_data,
                             size_t *upload_data_size, void **con_cls)
{
        const char *cont = MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, "continue");
        const char *watch = MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, "watch");
        const char *body = "";
        struct MHD_Response *r;
        enum MHD_Result ret;

        (void)cls;
        (void)version;
        (void)upload_data;
        (void)upload_data_size;
        (void)con_cls;
        if (!streq(method, "GET") || !streq(url, "/api/v1/nodes"))
                body = "{}";
        else if (!watch) {
                if (t.lists < ELEMENTSOF(t.continues))
                        (void)snprintf(t.continues[t.lists], sizeof(t.continues[0]), "%s",
                                       cont ? cont : "");
                t.lists++;
                if (!cont)
                        body = PAGE1;
                else if (t.bad_page2) {
                        body = t.bad_page2;
                        t.bad_page2 = NULL;
                } else
                        body = PAGE2;
        }
        /* a watch ends at once, empty: the test is over by then */
        r = MHD_create_response_from_buffer(strlen(body), (void *)body, MHD_RESPMEM_PERSISTENT);
        (void)MHD_add_response_header(r, "Content-Type", "application/json");
        ret = MHD_queue_response(conn, 200, r);
        MHD_destroy_response(r);
        return ret;
}

static void on_add(void *ud, const void *obj)
{
        (void)ud;
        (void)obj;
        t.adds++;
}

static void on_synced(void *ud)
{
        (void)ud;
        t.synced++;
        t.count_at_sync = (unsigned)kube_informer_count(t.inf);
}

static void list_with_bad_page2(const char *bad)
{
        struct MHD_Daemon *d;
        const union MHD_DaemonInfo *info;
        sd_event *e = NULL;
        struct kube_client *c = NULL;
        struct kube_informer_handlers h = {.add = on_add, .synced = on_synced};
        struct kube_informer_options o = {.page_size = 1};
        char server[64];
        struct kube_config cfg = {.server = server};
        struct sockaddr_in loopback = {.sin_family = AF_INET,
                                       .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
        uint64_t deadline;

        memset(&t, 0, sizeof(t));
        t.bad_page2 = bad;
        d = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD, 0, NULL, NULL, serve, NULL,
                             MHD_OPTION_SOCK_ADDR, &loopback, MHD_OPTION_END);
        assert_non_null(d);
        info = MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT);
        assert_non_null(info);
        (void)snprintf(server, sizeof(server), "http://127.0.0.1:%u", info->port);
        assert_int_equal(sd_event_new(&e), 0);
        assert_int_equal(kube_client_new(e, &cfg, NULL, &c), 0);
        assert_int_equal(kube_informer_new(c, &KUBE_NODES, &K8S_TYPE_NODE, &o, &h, NULL, &t.inf),
                         0);
        assert_int_equal(kube_informer_start(t.inf), 0);
        assert_true(sd_event_now(e, CLOCK_MONOTONIC, &deadline) >= 0);
        deadline += 10 * USEC_PER_SEC;
        for (uint64_t now = 0; !t.synced && now < deadline;)
                assert_true(sd_event_run(e, 100 * USEC_PER_MSEC) >= 0 &&
                            sd_event_now(e, CLOCK_MONOTONIC, &now) >= 0);
        /* one sync, with the whole list: a, and b and c of page 2 */
        assert_int_equal(t.synced, 1);
        assert_int_equal(t.count_at_sync, 3);
        assert_int_equal(t.adds, 3);
        assert_non_null(kube_informer_get(t.inf, NULL, "b"));
        /* page 1, the bad page 2, then the whole list again from page 1 */
        assert_int_equal(t.lists, 4);
        assert_string_equal(t.continues[0], "");
        assert_string_equal(t.continues[1], "c1");
        assert_string_equal(t.continues[2], "");
        assert_string_equal(t.continues[3], "c1");
        kube_informer_free(t.inf);
        kube_client_free(c);
        (void)sd_event_unref(e);
        MHD_stop_daemon(d);
}

static void test_page_not_an_object(void **state)
{
        (void)state;
        list_with_bad_page2("[]");
        list_with_bad_page2("\"NodeList\"");
}

static void test_page_items_not_a_list(void **state)
{
        (void)state;
        list_with_bad_page2("{\"kind\":\"NodeList\",\"metadata\":{},\"items\":{}}");
}

static void test_page_bad_metadata(void **state)
{
        (void)state;
        list_with_bad_page2("{\"kind\":\"NodeList\",\"metadata\":[],\"items\":[]}");
        list_with_bad_page2("{\"kind\":\"NodeList\",\"metadata\":{\"continue\":7},\"items\":[]}");
        list_with_bad_page2(
            "{\"kind\":\"NodeList\",\"metadata\":{\"resourceVersion\":11},\"items\":[]}");
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_page_not_an_object),
            cmocka_unit_test(test_page_items_not_a_list),
            cmocka_unit_test(test_page_bad_metadata),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
