/* Structured log lines on stderr. Fields are written by the caller in
 * logfmt; JSON output re-reads them (log_fields_to_json) so that both formats
 * carry exactly the same information. */
#include "log.h"

#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

static const char *log_component = "l2lb";
static enum log_format log_fmt = LOG_FORMAT_LOGFMT;
static enum log_level log_min = LOG_LEVEL_INFO;

static const char *const level_names[] = {
    [LOG_LEVEL_DEBUG] = "debug",
    [LOG_LEVEL_INFO] = "info",
    [LOG_LEVEL_WARN] = "warn",
    [LOG_LEVEL_ERROR] = "error",
};

void log_setup(const char *component, enum log_format format, enum log_level level)
{
        if (component)
                log_component = component;
        log_fmt = format;
        log_min = level;
}

bool log_enabled(enum log_level level)
{
        return level >= log_min;
}

int log_parse_level(const char *s, enum log_level *ret)
{
        for (size_t i = 0; i < ELEMENTSOF(level_names); i++)
                if (streq(s, level_names[i])) {
                        *ret = (enum log_level)i;
                        return 0;
                }
        if (streq(s, "warning")) {
                *ret = LOG_LEVEL_WARN;
                return 0;
        }
        return -EINVAL;
}

int log_parse_format(const char *s, enum log_format *ret)
{
        if (streq(s, "logfmt") || streq(s, "text")) {
                *ret = LOG_FORMAT_LOGFMT;
                return 0;
        }
        if (streq(s, "json")) {
                *ret = LOG_FORMAT_JSON;
                return 0;
        }
        return -EINVAL;
}

static bool needs_quotes(const char *s)
{
        if (!*s)
                return true;
        for (const char *p = s; *p; p++)
                if (*p <= ' ' || *p == '"' || *p == '=' || *p == '\\' || *p == 0x7f)
                        return true;
        return false;
}

const char *log_q(const char *s)
{
        static char bufs[8][1024];
        static unsigned next;
        char *b = bufs[next++ % ELEMENTSOF(bufs)];
        size_t o = 0, max = sizeof(bufs[0]) - 8;

        if (!s)
                s = "";
        if (!needs_quotes(s))
                return s;
        b[o++] = '"';
        for (const char *p = s; *p && o < max; p++) {
                unsigned char c = (unsigned char)*p;

                if (c == '"' || c == '\\') {
                        b[o++] = '\\';
                        b[o++] = (char)c;
                } else if (c == '\n') {
                        b[o++] = '\\';
                        b[o++] = 'n';
                } else if (c < ' ' || c == 0x7f) {
                        b[o++] = '?';
                } else
                        b[o++] = (char)c;
        }
        b[o++] = '"';
        b[o] = 0;
        return b;
}

/* Parse "k=v k2="quoted \"v\"" into JSON members of obj. */
static void log_fields_to_json(json_t *obj, const char *f)
{
        while (*f) {
                const char *k, *eq;
                char val[1024];
                size_t o = 0;

                while (*f == ' ')
                        f++;
                if (!*f)
                        break;
                k = f;
                eq = strchr(f, '=');
                if (!eq)
                        break;
                f = eq + 1;
                if (*f == '"') {
                        f++;
                        while (*f && *f != '"' && o < sizeof(val) - 1) {
                                if (*f == '\\' && f[1]) {
                                        f++;
                                        val[o++] = *f == 'n' ? '\n' : *f;
                                } else
                                        val[o++] = *f;
                                f++;
                        }
                        if (*f == '"')
                                f++;
                } else
                        while (*f && *f != ' ' && o < sizeof(val) - 1)
                                val[o++] = *f++;
                val[o] = 0;
                {
                        char key[128];
                        size_t kl = (size_t)(eq - k);

                        if (kl >= sizeof(key))
                                kl = sizeof(key) - 1;
                        memcpy(key, k, kl);
                        key[kl] = 0;
                        json_object_set_new(obj, key, json_string(val));
                }
        }
}

int log_emit(enum log_level level, int err, const char *msg, const char *fields, ...)
{
        char fbuf[4096] = "", tbuf[64];
        struct timespec ts;
        struct tm tm;
        int ret = err > 0 ? -err : err;

        if (!log_enabled(level))
                return ret;
        if (fields && *fields) {
                va_list ap;

                va_start(ap, fields);
                (void)vsnprintf(fbuf, sizeof(fbuf), fields, ap);
                va_end(ap);
                /* a value a caller did not pass through log_q() (a string
                 * from the API with a newline) must not forge a line */
                for (char *p = fbuf; *p; p++)
                        if ((unsigned char)*p < ' ' || *p == 0x7f)
                                *p = '?';
        }
        clock_gettime(CLOCK_REALTIME, &ts);
        gmtime_r(&ts.tv_sec, &tm);
        (void)snprintf(tbuf, sizeof(tbuf), "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ",
                       tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min,
                       tm.tm_sec, ts.tv_nsec / 1000000);

        if (log_fmt == LOG_FORMAT_JSON) {
                json_t *o = json_object();
                char *s;

                json_object_set_new(o, "time", json_string(tbuf));
                json_object_set_new(o, "level", json_string(level_names[level]));
                json_object_set_new(o, "component", json_string(log_component));
                json_object_set_new(o, "msg", json_string(msg));
                log_fields_to_json(o, fbuf);
                if (err)
                        json_object_set_new(o, "error", json_string(strerror(-ret)));
                s = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
                if (s)
                        fprintf(stderr, "%s\n", s);
                free(s);
                json_decref(o);
        } else {
                fprintf(stderr, "time=%s level=%s component=%s msg=%s%s%s", tbuf,
                        level_names[level], log_component, log_q(msg), *fbuf ? " " : "", fbuf);
                if (err)
                        fprintf(stderr, " error=%s", log_q(strerror(-ret)));
                fputc('\n', stderr);
        }
        return ret;
}
