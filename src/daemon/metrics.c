/* Families in registration order; series of a family in a hash table keyed
 * by the joined label values, rendered sorted so output is stable. */
#include "metrics.h"

#include <glib.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/util.h"

enum metric_type {
        METRIC_COUNTER,
        METRIC_GAUGE,
        METRIC_HISTOGRAM,
};

struct series {
        char **values; /* label values */
        double value;  /* counter/gauge; histogram: sum */
        uint64_t count;
        uint64_t *bucket_counts;
};

struct metric {
        char *name;
        char *help;
        enum metric_type type;
        char **labels;
        size_t n_labels;
        double *buckets;
        size_t n_buckets;
        GHashTable *series; /* key → struct series */
};

struct collector {
        void (*fn)(struct metrics *, void *);
        void *data;
        void (*free_data)(void *);
};

struct metrics {
        GPtrArray *families;
        GArray *collectors; /* struct collector, run in the order added */
};

static void series_free(gpointer p)
{
        struct series *s = p;

        strv_free(s->values);
        free(s->bucket_counts);
        free(s);
}

static void metric_free(gpointer p)
{
        struct metric *f = p;

        free(f->name);
        free(f->help);
        strv_free(f->labels);
        free(f->buckets);
        g_hash_table_unref(f->series);
        free(f);
}

struct metrics *metrics_new(void)
{
        struct metrics *m = xnew(struct metrics, 1);

        m->families = g_ptr_array_new_with_free_func(metric_free);
        m->collectors = g_array_new(FALSE, FALSE, sizeof(struct collector));
        return m;
}

void metrics_free(struct metrics *m)
{
        if (!m)
                return;
        g_ptr_array_unref(m->families);
        for (guint i = 0; i < m->collectors->len; i++) {
                const struct collector *c = &g_array_index(m->collectors, struct collector, i);

                if (c->free_data)
                        c->free_data(c->data);
        }
        g_array_unref(m->collectors);
        free(m);
}

static struct metric *family_new(struct metrics *m, const char *name, const char *help,
                                 enum metric_type type, const char *const *labels)
{
        struct metric *f = xnew(struct metric, 1);

        assert(m);
        f->name = xstrdup(name);
        f->help = xstrdup(help);
        f->type = type;
        f->labels = strv_copy((char *const *)labels);
        f->n_labels = strv_length(f->labels);
        f->series = g_hash_table_new_full(g_str_hash, g_str_equal, free, series_free);
        g_ptr_array_add(m->families, f);
        return f;
}

struct metric *metrics_counter(struct metrics *m, const char *name, const char *help,
                               const char *const *label_names)
{
        return family_new(m, name, help, METRIC_COUNTER, label_names);
}

struct metric *metrics_gauge(struct metrics *m, const char *name, const char *help,
                             const char *const *label_names)
{
        return family_new(m, name, help, METRIC_GAUGE, label_names);
}

struct metric *metrics_histogram(struct metrics *m, const char *name, const char *help,
                                 const char *const *label_names, const double *buckets)
{
        struct metric *f = family_new(m, name, help, METRIC_HISTOGRAM, label_names);

        while (buckets[f->n_buckets] >= 0)
                f->n_buckets++;
        f->buckets = xnew(double, f->n_buckets + 1);
        memcpy(f->buckets, buckets, f->n_buckets * sizeof(double));
        return f;
}

static struct series *lookup(struct metric *f, va_list ap)
{
        GString *key = g_string_new(NULL);
        const char *vals[16];
        struct series *s;

        assert(f->n_labels <= ELEMENTSOF(vals));
        for (size_t i = 0; i < f->n_labels; i++) {
                vals[i] = va_arg(ap, const char *);
                if (!vals[i])
                        vals[i] = "";
                g_string_append(key, vals[i]);
                g_string_append_c(key, '\x1f');
        }
        s = g_hash_table_lookup(f->series, key->str);
        if (!s) {
                s = xnew(struct series, 1);
                s->values = xnew(char *, f->n_labels + 1);
                for (size_t i = 0; i < f->n_labels; i++)
                        s->values[i] = xstrdup(vals[i]);
                if (f->type == METRIC_HISTOGRAM)
                        s->bucket_counts = xnew(uint64_t, f->n_buckets + 1);
                g_hash_table_insert(f->series, g_string_free(key, FALSE), s);
        } else
                g_string_free(key, TRUE);
        return s;
}

void metric_add(struct metric *f, double v, ...)
{
        va_list ap;

        va_start(ap, v);
        lookup(f, ap)->value += v;
        va_end(ap);
}

void metric_set(struct metric *f, double v, ...)
{
        va_list ap;

        va_start(ap, v);
        lookup(f, ap)->value = v;
        va_end(ap);
}

void metric_observe(struct metric *f, double v, ...)
{
        struct series *s;
        va_list ap;

        assert(f->type == METRIC_HISTOGRAM);
        va_start(ap, v);
        s = lookup(f, ap);
        va_end(ap);
        s->value += v;
        s->count++;
        for (size_t i = 0; i < f->n_buckets; i++)
                if (v <= f->buckets[i])
                        s->bucket_counts[i]++;
}

void metric_clear(struct metric *f)
{
        g_hash_table_remove_all(f->series);
}

void metrics_add_collector(struct metrics *m, void (*fn)(struct metrics *, void *), void *ud,
                           void (*free_ud)(void *))
{
        const struct collector c = {fn, ud, free_ud};

        assert(fn);
        g_array_append_val(m->collectors, c);
}

static void append_escaped(GString *out, const char *v)
{
        for (const char *p = v; *p; p++) {
                if (*p == '\\')
                        g_string_append(out, "\\\\");
                else if (*p == '"')
                        g_string_append(out, "\\\"");
                else if (*p == '\n')
                        g_string_append(out, "\\n");
                else
                        g_string_append_c(out, *p);
        }
}

static void append_labels(GString *out, const struct metric *f, const struct series *s,
                          const char *extra_name, const char *extra_value)
{
        bool any = f->n_labels > 0 || extra_name;

        if (!any)
                return;
        g_string_append_c(out, '{');
        for (size_t i = 0; i < f->n_labels; i++) {
                g_string_append_printf(out, "%s%s=\"", i ? "," : "", f->labels[i]);
                append_escaped(out, s->values[i]);
                g_string_append_c(out, '"');
        }
        if (extra_name)
                g_string_append_printf(out, "%s%s=\"%s\"", f->n_labels ? "," : "", extra_name,
                                       extra_value);
        g_string_append_c(out, '}');
}

static void append_value(GString *out, double v)
{
        if (isinf(v))
                g_string_append(out, v > 0 ? "+Inf" : "-Inf");
        else if (isnan(v))
                g_string_append(out, "NaN");
        else if (v == floor(v) && fabs(v) < 1e15)
                g_string_append_printf(out, "%.0f", v);
        else {
                /* the shortest form that reads back as the same double (as
                 * the Go client prints): a Unix time needs all its digits */
                char buf[32];

                for (int prec = 15; prec <= 17; prec++) {
                        (void)snprintf(buf, sizeof(buf), "%.*g", prec, v);
                        if (strtod(buf, NULL) == v)
                                break;
                }
                g_string_append(out, buf);
        }
}

static int key_cmp(gconstpointer a, gconstpointer b)
{
        return strcmp(*(char *const *)a, *(char *const *)b);
}

char *metrics_render(struct metrics *m)
{
        GString *out = g_string_new(NULL);
        static const char *const types[] = {"counter", "gauge", "histogram"};

        for (guint i = 0; i < m->collectors->len; i++) {
                const struct collector *c = &g_array_index(m->collectors, struct collector, i);

                c->fn(m, c->data);
        }
        for (guint i = 0; i < m->families->len; i++) {
                struct metric *f = m->families->pdata[i];
                GPtrArray *keys = g_ptr_array_new();
                GHashTableIter it;
                gpointer k;

                g_string_append_printf(out, "# HELP %s %s\n# TYPE %s %s\n", f->name, f->help,
                                       f->name, types[f->type]);
                g_hash_table_iter_init(&it, f->series);
                while (g_hash_table_iter_next(&it, &k, NULL))
                        g_ptr_array_add(keys, k);
                g_ptr_array_sort(keys, key_cmp);
                for (guint j = 0; j < keys->len; j++) {
                        struct series *s = g_hash_table_lookup(f->series, keys->pdata[j]);

                        if (f->type != METRIC_HISTOGRAM) {
                                g_string_append(out, f->name);
                                append_labels(out, f, s, NULL, NULL);
                                g_string_append_c(out, ' ');
                                append_value(out, s->value);
                                g_string_append_c(out, '\n');
                                continue;
                        }
                        for (size_t b = 0; b <= f->n_buckets; b++) {
                                char le[32];

                                if (b < f->n_buckets)
                                        (void)snprintf(le, sizeof(le), "%g", f->buckets[b]);
                                else
                                        (void)snprintf(le, sizeof(le), "+Inf");
                                g_string_append_printf(out, "%s_bucket", f->name);
                                append_labels(out, f, s, "le", le);
                                g_string_append_printf(
                                    out, " %llu\n",
                                    (unsigned long long)(b < f->n_buckets ? s->bucket_counts[b]
                                                                          : s->count));
                        }
                        g_string_append_printf(out, "%s_sum", f->name);
                        append_labels(out, f, s, NULL, NULL);
                        g_string_append_c(out, ' ');
                        append_value(out, s->value);
                        g_string_append_printf(out, "\n%s_count", f->name);
                        append_labels(out, f, s, NULL, NULL);
                        g_string_append_printf(out, " %llu\n", (unsigned long long)s->count);
                }
                g_ptr_array_free(keys, TRUE);
        }
        return g_string_free(out, FALSE);
}
