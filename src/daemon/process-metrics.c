/* process_* metrics from /proc/self, as client_golang's process collector
 * exports them. */
#include "process-metrics.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/log.h"
#include "lib/util.h"

/* One unsigned decimal field at *p, which then points after it. */
static int parse_field(const char **p, unsigned long long *ret)
{
        char *end;

        while (**p == ' ')
                (*p)++;
        if (**p == '-') /* the signed fields we skip (tty_nr, tpgid, nice) */
                (*p)++;
        if (!isdigit((unsigned char)**p))
                return -EINVAL;
        errno = 0;
        *ret = strtoull(*p, &end, 10);
        if (errno || (*end != ' ' && *end != '\n' && *end))
                return -EINVAL;
        *p = end;
        return 0;
}

int process_parse_stat(const char *text, long ticks_per_second, long page_size,
                       struct process_stat *ret)
{
        /* 1-based field numbers as in proc(5): state (3), utime (14),
         * stime (15), starttime (22), vsize (23), rss (24) */
        unsigned long long f[25] = {0};
        const char *p;

        assert(text);
        assert(ret);
        if (ticks_per_second <= 0 || page_size <= 0)
                return -EINVAL;
        p = strrchr(text, ')');
        if (!p || p[1] != ' ' || !p[2] || p[3] != ' ')
                return -EINVAL;
        p += 3; /* after the state letter */
        for (size_t i = 4; i < ELEMENTSOF(f); i++)
                if (parse_field(&p, &f[i]) < 0)
                        return -EINVAL;
        ret->cpu_seconds = (double)(f[14] + f[15]) / (double)ticks_per_second;
        ret->start_seconds = (double)f[22] / (double)ticks_per_second;
        ret->virtual_bytes = (double)f[23];
        ret->resident_bytes = (double)f[24] * (double)page_size;
        return 0;
}

int process_parse_boot_time(const char *text, double *ret)
{
        assert(text);
        assert(ret);
        for (const char *line = text; line && *line; line = strchr(line, '\n')) {
                const char *v;
                unsigned long long t;

                if (*line == '\n')
                        line++;
                v = startswith(line, "btime ");
                if (v && parse_field(&v, &t) >= 0) {
                        *ret = (double)t;
                        return 0;
                }
        }
        return -EINVAL;
}

int process_parse_max_fds(const char *text, double *ret)
{
        static const char key[] = "Max open files ";
        const char *p;
        unsigned long long v;

        assert(text);
        assert(ret);
        for (p = strstr(text, key); p && p != text && p[-1] != '\n'; p = strstr(p + 1, key))
                ;
        if (!p)
                return -EINVAL;
        p += strlen(key);
        p += strspn(p, " ");
        if (startswith(p, "unlimited ")) {
                *ret = INFINITY;
                return 0;
        }
        if (parse_field(&p, &v) < 0)
                return -EINVAL;
        *ret = (double)v;
        return 0;
}

struct process_metrics {
        struct metric *cpu, *rss, *vsize, *open_fds, *max_fds, *start;
        bool warned;
};

static int count_fds(double *ret)
{
        DIR *d = opendir("/proc/self/fd");
        struct dirent *de;
        size_t n = 0;

        if (!d)
                return -errno;
        while ((de = readdir(d)))
                if (de->d_name[0] != '.')
                        n++;
        (void)closedir(d);
        *ret = (double)(n - 1); /* not the directory's own descriptor */
        return 0;
}

static void collect(struct metrics *m, void *ud)
{
        struct process_metrics *pm = ud;
        _cleanup_free_ char *stat = NULL, *sys = NULL, *limits = NULL;
        struct process_stat st = {0};
        double boot = 0, v = 0;
        int r;

        (void)m;
        metric_clear(pm->cpu);
        metric_clear(pm->rss);
        metric_clear(pm->vsize);
        metric_clear(pm->start);
        metric_clear(pm->open_fds);
        metric_clear(pm->max_fds);
        r = read_full_file("/proc/self/stat", &stat, NULL);
        if (r >= 0)
                r = process_parse_stat(stat, sysconf(_SC_CLK_TCK), sysconf(_SC_PAGESIZE), &st);
        if (r >= 0) {
                metric_set(pm->cpu, st.cpu_seconds);
                metric_set(pm->rss, st.resident_bytes);
                metric_set(pm->vsize, st.virtual_bytes);
                if (read_full_file("/proc/stat", &sys, NULL) >= 0 &&
                    process_parse_boot_time(sys, &boot) >= 0)
                        metric_set(pm->start, boot + st.start_seconds);
        } else if (!pm->warned) {
                log_warn("cannot read process statistics, process_* metrics left out",
                         "file=/proc/self/stat error=%s", strerror(-r));
                pm->warned = true;
        }
        if (count_fds(&v) >= 0)
                metric_set(pm->open_fds, v);
        if (read_full_file("/proc/self/limits", &limits, NULL) >= 0 &&
            process_parse_max_fds(limits, &v) >= 0)
                metric_set(pm->max_fds, v);
}

void process_metrics_add(struct metrics *m)
{
        struct process_metrics *pm = xnew(struct process_metrics, 1);

        pm->cpu = metrics_counter(m, "process_cpu_seconds_total",
                                  "Total user and system CPU time spent in seconds.", NULL);
        pm->rss = metrics_gauge(m, "process_resident_memory_bytes",
                                "Resident memory size in bytes.", NULL);
        pm->vsize =
            metrics_gauge(m, "process_virtual_memory_bytes", "Virtual memory size in bytes.", NULL);
        pm->open_fds =
            metrics_gauge(m, "process_open_fds", "Number of open file descriptors.", NULL);
        pm->max_fds =
            metrics_gauge(m, "process_max_fds", "Maximum number of open file descriptors.", NULL);
        pm->start = metrics_gauge(m, "process_start_time_seconds",
                                  "Start time of the process since unix epoch in seconds.", NULL);
        metrics_add_collector(m, collect, pm, free);
}
