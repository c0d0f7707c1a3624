/* Prometheus metrics: a registry of counter, gauge and histogram families
 * with labels, rendered in the text exposition format (version 0.0.4).
 *
 *   static const char *const lbl[] = {"verb", "code", NULL};
 *   struct metric *m = metrics_counter(reg, "l2lb_k8s_requests_total", "...", lbl);
 *   metric_add(m, 1, "GET", "200");
 *
 * Label values are passed positionally, one per label name. Collector
 * callbacks run before each render (in the order added) so gauges can be
 * recomputed. */
#pragma once

#include <stdbool.h>

struct metrics;
struct metric;

struct metrics *metrics_new(void);
void metrics_free(struct metrics *m);

struct metric *metrics_counter(struct metrics *m, const char *name, const char *help,
                               const char *const *label_names);
struct metric *metrics_gauge(struct metrics *m, const char *name, const char *help,
                             const char *const *label_names);
/* buckets: ascending upper bounds, terminated by a negative value */
struct metric *metrics_histogram(struct metrics *m, const char *name, const char *help,
                                 const char *const *label_names, const double *buckets);

void metric_add(struct metric *f, double v, ...);
void metric_set(struct metric *f, double v, ...);
void metric_observe(struct metric *f, double v, ...);
/* Drop every series of a family (gauges recomputed by a collector). */
void metric_clear(struct metric *f);

/* free_ud (optional) frees ud with the registry. */
void metrics_add_collector(struct metrics *m, void (*fn)(struct metrics *m, void *ud), void *ud,
                           void (*free_ud)(void *));
/* Text exposition format; caller frees. */
char *metrics_render(struct metrics *m);
