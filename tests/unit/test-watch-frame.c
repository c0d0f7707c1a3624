/* Watch framing: events split at newlines as bytes arrive, NULs in strings
 * kept, and a line that is not an event reported (never skipped). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "kube/watch-frame.h"
#include "lib/util.h"

static int next(const char *buf, size_t *pos, struct kube_watch_event *ev, char **err)
{
        return kube_watch_frame_next(buf, strlen(buf), pos, ev, err);
}

static void test_events(void **state)
{
        const char *buf = "{\"type\":\"ADDED\",\"object\":{\"metadata\":{\"name\":\"a\"}}}\n"
                          "\n"
                          "{\"type\":\"DELETED\",\"object\":{\"metadata\":{\"annotations\":"
                          "{\"note\":\"x\\u0000y\"}}}}\n"
                          "{\"type\":\"MODIF";
        struct kube_watch_event ev;
        char *err = NULL;
        size_t pos = 0, partial;
        json_t *note;

        (void)state;
        assert_int_equal(next(buf, &pos, &ev, &err), 1);
        assert_string_equal(ev.type, "ADDED");
        assert_string_equal(
            json_string_value(json_object_get(json_object_get(ev.object, "metadata"), "name")),
            "a");
        json_decref(ev.json);
        assert_int_equal(next(buf, &pos, &ev, &err), 1); /* the empty line is skipped */
        assert_string_equal(ev.type, "DELETED");
        note = json_object_get(
            json_object_get(json_object_get(ev.object, "metadata"), "annotations"), "note");
        assert_int_equal(json_string_length(note), 3);
        assert_memory_equal(json_string_value(note), "x\0y", 3);
        json_decref(ev.json);
        /* an incomplete line waits for more bytes, where it starts */
        partial = pos;
        assert_int_equal(next(buf, &pos, &ev, &err), 0);
        assert_int_equal(pos, partial);
        assert_string_equal(buf + pos, "{\"type\":\"MODIF");
        assert_null(err);
        pos = 0;
        assert_int_equal(kube_watch_frame_next("", 0, &pos, &ev, &err), 0);
}

static void expect_malformed(const char *line, const char *fragment)
{
        _cleanup_free_ char *buf = xasprintf("%s\n{\"type\":\"ADDED\",\"object\":{}}\n", line);
        struct kube_watch_event ev;
        char *err = NULL;
        size_t pos = 0;

        assert_int_equal(next(buf, &pos, &ev, &err), -EBADMSG);
        if (!err || !strstr(err, fragment))
                fail_msg("error \"%s\" lacks \"%s\" for %s", err, fragment, line);
        free(err);
        err = NULL;
        /* consumed: what follows is the next line */
        assert_int_equal(pos, strlen(line) + 1);
        assert_int_equal(next(buf, &pos, &ev, &err), 1);
        assert_string_equal(ev.type, "ADDED");
        json_decref(ev.json);
}

static void test_malformed(void **state)
{
        (void)state;
        expect_malformed("{\"type\":\"ADDED\",\"object\":", "");
        expect_malformed("not json", "");
        expect_malformed("{\"type\":\"ADDED\"}", "missing type or object");
        expect_malformed("{\"object\":{}}", "missing type or object");
        expect_malformed("{\"type\":\"ADDED\",\"object\":[]}", "missing type or object");
        expect_malformed("{\"type\":\"ADDED\\u0000\",\"object\":{}}", "type contains a NUL");
        expect_malformed("{\"type\":\"ADDED\",\"object\":{\"k\\u0000\":1}}", "NUL");
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_events),
            cmocka_unit_test(test_malformed),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
