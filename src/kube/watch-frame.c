/* Splitting a watch response into events; see watch-frame.h. */
#include "watch-frame.h"

#include <errno.h>
#include <string.h>

#include "lib/util.h"

int kube_watch_frame_next(const char *buf, size_t len, size_t *pos, struct kube_watch_event *ret,
                          char **ret_error)
{
        assert(buf || len == 0);
        assert(pos);
        assert(ret);
        assert(ret_error);
        while (*pos < len) {
                const char *start = buf + *pos;
                const char *nl = memchr(start, '\n', len - *pos);
                json_error_t jerr;
                json_t *ev, *type, *obj;

                if (!nl)
                        return 0;
                *pos = (size_t)(nl - buf) + 1;
                if (nl == start)
                        continue;
                ev = json_loadb(start, (size_t)(nl - start), JSON_ALLOW_NUL, &jerr);
                if (!ev) {
                        *ret_error = xstrdup(jerr.text);
                        return -EBADMSG;
                }
                type = json_object_get(ev, "type");
                obj = json_object_get(ev, "object");
                if (!json_is_string(type) || !json_is_object(obj)) {
                        json_decref(ev);
                        *ret_error = xstrdup("missing type or object");
                        return -EBADMSG;
                }
                if (json_string_length(type) != strlen(json_string_value(type))) {
                        json_decref(ev);
                        *ret_error = xstrdup("type contains a NUL byte");
                        return -EBADMSG;
                }
                *ret = (struct kube_watch_event){
                    .json = ev, .type = json_string_value(type), .object = obj};
                return 1;
        }
        return 0;
}
