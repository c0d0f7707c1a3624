/* JSON with jansson, YAML with libyaml's emitter (events from the JSON value). */
#include "output.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <yaml.h>

#include "lib/util.h"

int output_parse(const char *s, enum output_format *ret)
{
        if (!s || !*s || streq(s, "table"))
                *ret = OUTPUT_TABLE;
        else if (streq(s, "json"))
                *ret = OUTPUT_JSON;
        else if (streq(s, "yaml"))
                *ret = OUTPUT_YAML;
        else
                return -EINVAL;
        return 0;
}

json_t *output_str(const char *s)
{
        char *e;
        json_t *v;

        if (!s)
                return json_null();
        e = str_escape_control(s);
        v = json_string(e);
        free(e);
        /* str_escape_control leaves only valid UTF-8, which json_string takes */
        return v ? v : json_null();
}

/* Would a plain scalar s be read back as something else than this string
 * (YAML 1.1 booleans, null, numbers), or not at all? */
static bool yaml_needs_quotes(const char *s)
{
        static const char *const special[] = {"true", "false", "yes", "no",   "on",
                                              "off",  "y",     "n",   "null", "~"};
        char *end;

        if (!*s || strchr("-?:,[]{}#&*!|>'\"%@` ", *s) || strpbrk(s, ": #") ||
            s[strlen(s) - 1] == ' ')
                return true;
        for (size_t i = 0; i < ELEMENTSOF(special); i++)
                if (strcasecmp(s, special[i]) == 0)
                        return true;
        (void)strtod(s, &end);
        return *end == 0;
}

static int emit(yaml_emitter_t *em, yaml_event_t *ev)
{
        return yaml_emitter_emit(em, ev) ? 0 : -EIO;
}

static int emit_scalar(yaml_emitter_t *em, const char *text, bool quote)
{
        yaml_event_t ev;

        if (!yaml_scalar_event_initialize(&ev, NULL, NULL, (yaml_char_t *)text, -1, !quote, quote,
                                          quote ? YAML_DOUBLE_QUOTED_SCALAR_STYLE
                                                : YAML_PLAIN_SCALAR_STYLE))
                return -ENOMEM;
        return emit(em, &ev);
}

static int emit_value(yaml_emitter_t *em, json_t *v)
{
        yaml_event_t ev;
        char num[64];
        int r = 0;

        switch (json_typeof(v)) {
        case JSON_OBJECT: {
                const char *k;
                json_t *m;

                (void)yaml_mapping_start_event_initialize(&ev, NULL, NULL, 1,
                                                          YAML_BLOCK_MAPPING_STYLE);
                r = emit(em, &ev);
                json_object_foreach(v, k, m)
                {
                        if (r >= 0)
                                r = emit_scalar(em, k, yaml_needs_quotes(k));
                        if (r >= 0)
                                r = emit_value(em, m);
                }
                (void)yaml_mapping_end_event_initialize(&ev);
                return r < 0 ? r : emit(em, &ev);
        }
        case JSON_ARRAY: {
                size_t i;
                json_t *m;

                (void)yaml_sequence_start_event_initialize(&ev, NULL, NULL, 1,
                                                           YAML_BLOCK_SEQUENCE_STYLE);
                r = emit(em, &ev);
                json_array_foreach(v, i, m) if (r >= 0) r = emit_value(em, m);
                (void)yaml_sequence_end_event_initialize(&ev);
                return r < 0 ? r : emit(em, &ev);
        }
        case JSON_STRING:
                return emit_scalar(em, json_string_value(v),
                                   yaml_needs_quotes(json_string_value(v)));
        case JSON_INTEGER:
                (void)snprintf(num, sizeof(num), "%" JSON_INTEGER_FORMAT, json_integer_value(v));
                return emit_scalar(em, num, false);
        case JSON_REAL:
                (void)snprintf(num, sizeof(num), "%.17g", json_real_value(v));
                return emit_scalar(em, num, false);
        case JSON_TRUE:
                return emit_scalar(em, "true", false);
        case JSON_FALSE:
                return emit_scalar(em, "false", false);
        case JSON_NULL:
        default:
                return emit_scalar(em, "null", false);
        }
}

static int print_yaml(json_t *v, FILE *f)
{
        yaml_emitter_t em;
        yaml_event_t ev;
        int r;

        if (!yaml_emitter_initialize(&em))
                oom(); /* its only failure */
        yaml_emitter_set_output_file(&em, f);
        yaml_emitter_set_unicode(&em, 0); /* non-ASCII escaped: terminal-safe */
        yaml_emitter_set_width(&em, -1);
        (void)yaml_stream_start_event_initialize(&ev, YAML_UTF8_ENCODING);
        r = emit(&em, &ev);
        if (r >= 0) {
                (void)yaml_document_start_event_initialize(&ev, NULL, NULL, NULL, 1);
                r = emit(&em, &ev);
        }
        if (r >= 0)
                r = emit_value(&em, v);
        if (r >= 0) {
                (void)yaml_document_end_event_initialize(&ev, 1);
                r = emit(&em, &ev);
        }
        if (r >= 0) {
                (void)yaml_stream_end_event_initialize(&ev);
                r = emit(&em, &ev);
        }
        if (r < 0)
                fprintf(stderr, "l2lb: cannot write YAML: %s\n",
                        em.problem ? em.problem : "emitter error");
        yaml_emitter_delete(&em);
        return r;
}

int output_print(json_t *v, enum output_format fmt, FILE *f)
{
        if (fmt == OUTPUT_YAML)
                return print_yaml(v, f);
        if (json_dumpf(v, f, JSON_INDENT(2) | JSON_PRESERVE_ORDER | JSON_ENSURE_ASCII) < 0)
                return -EIO;
        fputc('\n', f);
        return 0;
}
