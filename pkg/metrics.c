/* SPDX-License-Identifier: Apache-2.0 */
#include <assert.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "metrics.h"

enum metric_type {
        METRIC_COUNTER,
        METRIC_GAUGE,
        METRIC_HISTOGRAM,
};

struct series {
        char **values;    /* one per label name */
        double value;     /* counter or gauge */
        uint64_t *counts; /* histogram: per bucket, not cumulative; [n_buckets] is the +Inf bucket */
        uint64_t count;
        double sum;
};

struct metric {
        enum metric_type type;
        char *name;
        char *help;
        char **labels;
        size_t n_labels;
        double *buckets;
        size_t n_buckets;

        /* Each family has its own lock so that hot counters of different families never contend. */
        pthread_mutex_t lock;
        /* Kept sorted by label values: lookups are a binary search and rendering needs no sort. */
        struct series **series;
        size_t n_series;
        size_t alloc_series;
};

struct metrics {
        /* Guards the family list; taken before a family's lock, never after. */
        pthread_mutex_t lock;
        struct metric **families;
        size_t n_families;
        size_t alloc_families;
};

static void series_free(struct series *s, size_t n_labels) {
        if (!s)
                return;
        for (size_t i = 0; i < n_labels; i++)
                free(s->values[i]);
        free(s->values);
        free(s->counts);
        free(s);
}

static void metric_free(struct metric *mt) {
        if (!mt)
                return;
        for (size_t i = 0; i < mt->n_series; i++)
                series_free(mt->series[i], mt->n_labels);
        free(mt->series);
        for (size_t i = 0; i < mt->n_labels; i++)
                free(mt->labels[i]);
        free(mt->labels);
        free(mt->buckets);
        free(mt->name);
        free(mt->help);
        pthread_mutex_destroy(&mt->lock);
        free(mt);
}

int metrics_new(struct metrics **ret) {
        struct metrics *m;

        m = calloc(1, sizeof(*m));
        if (!m)
                return -ENOMEM;
        pthread_mutex_init(&m->lock, NULL);
        *ret = m;
        return 0;
}

struct metrics *metrics_free(struct metrics *m) {
        if (!m)
                return NULL;
        for (size_t i = 0; i < m->n_families; i++)
                metric_free(m->families[i]);
        free(m->families);
        pthread_mutex_destroy(&m->lock);
        free(m);
        return NULL;
}

static bool valid_name(const char *s, bool colon) {
        if (!s || !*s)
                return false;
        for (size_t i = 0; s[i]; i++) {
                char c = s[i];
                bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' ||
                          (colon && c == ':') || (i > 0 && c >= '0' && c <= '9');
                if (!ok)
                        return false;
        }
        return true;
}

static size_t count_labels(const char *const *labels) {
        size_t n = 0;

        while (labels && labels[n])
                n++;
        return n;
}

static bool same_labels(const struct metric *mt, const char *const *labels) {
        if (count_labels(labels) != mt->n_labels)
                return false;
        for (size_t i = 0; i < mt->n_labels; i++)
                if (strcmp(mt->labels[i], labels[i]) != 0)
                        return false;
        return true;
}

static struct series *series_new(const struct metric *mt, const char *const *values) {
        struct series *s;

        s = calloc(1, sizeof(*s));
        if (!s)
                return NULL;
        s->values = calloc(mt->n_labels ? mt->n_labels : 1, sizeof(char *));
        if (!s->values)
                goto fail;
        for (size_t i = 0; i < mt->n_labels; i++) {
                s->values[i] = strdup(values[i] ? values[i] : "");
                if (!s->values[i])
                        goto fail;
        }
        if (mt->type == METRIC_HISTOGRAM) {
                s->counts = calloc(mt->n_buckets + 1, sizeof(uint64_t));
                if (!s->counts)
                        goto fail;
        }
        return s;
fail:
        series_free(s, mt->n_labels);
        return NULL;
}

/* Orders series by their label values, compared one label at a time. */
static int series_cmp(const struct metric *mt, const char *const *values, const struct series *s) {
        if (mt->n_labels == 0)
                return 0; /* the one series; values is NULL */
        for (size_t i = 0; i < mt->n_labels; i++) {
                int c = strcmp(values[i] ? values[i] : "", s->values[i]);
                if (c != 0)
                        return c;
        }
        return 0;
}

/* Finds the series for values; with create, makes it when missing. Called with mt->lock held. */
static struct series *series_find(struct metric *mt, const char *const *values, bool create) {
        size_t lo = 0, hi = mt->n_series;
        struct series *s;

        assert(values || mt->n_labels == 0);
        while (lo < hi) {
                size_t mid = lo + (hi - lo) / 2;
                int c = series_cmp(mt, values, mt->series[mid]);
                if (c == 0)
                        return mt->series[mid];
                if (c < 0)
                        hi = mid;
                else
                        lo = mid + 1;
        }
        if (!create)
                return NULL;
        if (mt->n_series == mt->alloc_series) {
                size_t n = mt->alloc_series ? mt->alloc_series * 2 : 4;
                struct series **p = reallocarray(mt->series, n, sizeof(*p));
                if (!p)
                        return NULL;
                mt->series = p;
                mt->alloc_series = n;
        }
        s = series_new(mt, values);
        if (!s)
                return NULL;
        memmove(mt->series + lo + 1, mt->series + lo, (mt->n_series - lo) * sizeof(*mt->series));
        mt->series[lo] = s;
        mt->n_series++;
        return s;
}

static struct metric *metric_new(enum metric_type type, const char *name, const char *help,
        const char *const *labels, const double *buckets, size_t n_buckets) {
        struct metric *mt;

        mt = calloc(1, sizeof(*mt));
        if (!mt)
                return NULL;
        pthread_mutex_init(&mt->lock, NULL);
        mt->type = type;
        mt->name = strdup(name);
        mt->help = strdup(help ? help : "");
        mt->n_labels = count_labels(labels);
        mt->labels = calloc(mt->n_labels ? mt->n_labels : 1, sizeof(char *));
        if (!mt->name || !mt->help || !mt->labels)
                goto fail;
        for (size_t i = 0; i < mt->n_labels; i++) {
                mt->labels[i] = strdup(labels[i]);
                if (!mt->labels[i])
                        goto fail;
        }
        if (n_buckets > 0) {
                mt->buckets = calloc(n_buckets, sizeof(double));
                if (!mt->buckets)
                        goto fail;
                memcpy(mt->buckets, buckets, n_buckets * sizeof(double));
                mt->n_buckets = n_buckets;
        }
        /* Without labels there is exactly one series: create it now so that the family renders as 0. */
        if (mt->n_labels == 0 && !series_find(mt, NULL, true))
                goto fail;
        return mt;
fail:
        metric_free(mt);
        return NULL;
}

static struct metric *metrics_register(struct metrics *m, enum metric_type type, const char *name,
        const char *help, const char *const *labels, const double *buckets, size_t n_buckets) {
        struct metric *mt = NULL;

        assert(m);
        assert(valid_name(name, true));
        for (size_t i = 0; labels && labels[i]; i++) {
                assert(valid_name(labels[i], false));
                /* Reserved by Prometheus, and "le" is the histogram's own bucket label. */
                assert(strncmp(labels[i], "__", 2) != 0);
                assert(type != METRIC_HISTOGRAM || strcmp(labels[i], "le") != 0);
                for (size_t j = 0; j < i; j++)
                        assert(strcmp(labels[i], labels[j]) != 0);
        }
        for (size_t i = 1; i < n_buckets; i++)
                assert(buckets[i - 1] < buckets[i]);

        pthread_mutex_lock(&m->lock);
        for (size_t i = 0; i < m->n_families; i++) {
                if (strcmp(m->families[i]->name, name) == 0) {
                        /* Registering again is how two modules share a family; another shape is a bug. */
                        mt = m->families[i];
                        assert(mt->type == type && same_labels(mt, labels) && mt->n_buckets == n_buckets);
                        goto out;
                }
        }
        if (m->n_families == m->alloc_families) {
                size_t n = m->alloc_families ? m->alloc_families * 2 : 8;
                struct metric **p = reallocarray(m->families, n, sizeof(*p));
                if (!p)
                        goto out;
                m->families = p;
                m->alloc_families = n;
        }
        mt = metric_new(type, name, help, labels, buckets, n_buckets);
        if (mt)
                m->families[m->n_families++] = mt;
out:
        pthread_mutex_unlock(&m->lock);
        return mt;
}

struct metric *metrics_counter(
        struct metrics *m, const char *name, const char *help, const char *const *labels) {
        return metrics_register(m, METRIC_COUNTER, name, help, labels, NULL, 0);
}

struct metric *metrics_gauge(
        struct metrics *m, const char *name, const char *help, const char *const *labels) {
        return metrics_register(m, METRIC_GAUGE, name, help, labels, NULL, 0);
}

struct metric *metrics_histogram(struct metrics *m, const char *name, const char *help,
        const char *const *labels, const double *buckets, size_t n_buckets) {
        assert(buckets || n_buckets == 0);
        return metrics_register(m, METRIC_HISTOGRAM, name, help, labels, buckets, n_buckets);
}

void metric_add(struct metric *mt, const char *const *values, double v) {
        struct series *s;

        assert(mt && mt->type != METRIC_HISTOGRAM);
        assert(mt->type != METRIC_COUNTER || v >= 0);
        pthread_mutex_lock(&mt->lock);
        s = series_find(mt, values, true);
        if (s)
                s->value += v;
        pthread_mutex_unlock(&mt->lock);
}

void metric_set(struct metric *mt, const char *const *values, double v) {
        struct series *s;

        assert(mt && mt->type == METRIC_GAUGE);
        pthread_mutex_lock(&mt->lock);
        s = series_find(mt, values, true);
        if (s)
                s->value = v;
        pthread_mutex_unlock(&mt->lock);
}

void metric_observe(struct metric *mt, const char *const *values, double v) {
        struct series *s;
        size_t lo = 0, hi;

        assert(mt && mt->type == METRIC_HISTOGRAM);
        /* The first bucket whose upper bound is >= v ("le"); NaN falls through to +Inf. */
        hi = mt->n_buckets;
        while (lo < hi) {
                size_t mid = lo + (hi - lo) / 2;
                if (v <= mt->buckets[mid])
                        hi = mid;
                else
                        lo = mid + 1;
        }
        pthread_mutex_lock(&mt->lock);
        s = series_find(mt, values, true);
        if (s) {
                s->counts[lo]++;
                s->count++;
                s->sum += v;
        }
        pthread_mutex_unlock(&mt->lock);
}

double metric_get(struct metric *mt, const char *const *values) {
        struct series *s;
        double v = 0;

        assert(mt);
        pthread_mutex_lock(&mt->lock);
        s = series_find(mt, values, false);
        if (s)
                v = mt->type == METRIC_HISTOGRAM ? (double) s->count : s->value;
        pthread_mutex_unlock(&mt->lock);
        return v;
}

/* Go's strconv.FormatFloat(v, 'g', -1, 64), which Prometheus clients print: the fewest digits that read back
 * as the same double, in exponent form only when the exponent is < -4 or >= max(digits, 6); and "+Inf",
 * "-Inf", "NaN". Matching it keeps our output byte-identical to client_golang's for the same values. */
static int put_double(struct buf *out, double v) {
        char tmp[40];
        int digits = 17, exp = 0, eprec = 6;
        const char *e;

        if (isnan(v))
                return buf_puts(out, "NaN");
        if (isinf(v))
                return buf_puts(out, v > 0 ? "+Inf" : "-Inf");
        if (v == 0)
                return buf_puts(out, signbit(v) ? "-0" : "0");
        for (int p = 1; p <= 17; p++) {
                snprintf(tmp, sizeof(tmp), "%.*e", p - 1, v);
                if (strtod(tmp, NULL) == v) {
                        digits = p;
                        break;
                }
        }
        e = strchr(tmp, 'e');
        if (!e || sscanf(e + 1, "%d", &exp) != 1)
                return -EINVAL;
        if (eprec > digits && digits >= exp + 1)
                eprec = digits;
        if (exp < -4 || exp >= eprec)
                return buf_puts(out, tmp);
        return buf_printf(out, "%.*f", digits - 1 - exp > 0 ? digits - 1 - exp : 0, v);
}

/* HELP text escapes backslash and newline; label values also escape the double quote. */
static int put_escaped(struct buf *out, const char *s, bool quote) {
        int r = 0;

        for (; *s && r >= 0; s++) {
                if (*s == '\\')
                        r = buf_puts(out, "\\\\");
                else if (*s == '\n')
                        r = buf_puts(out, "\\n");
                else if (quote && *s == '"')
                        r = buf_puts(out, "\\\"");
                else
                        r = buf_putc(out, *s);
        }
        return r;
}

static int put_header(struct buf *out, const char *name, const char *help, const char *type) {
        int r;

        r = buf_printf(out, "# HELP %s ", name);
        if (r >= 0)
                r = put_escaped(out, help, false);
        if (r >= 0)
                r = buf_printf(out, "\n# TYPE %s %s\n", name, type);
        return r;
}

/* name{l1="v1",...[,le="bound"]} value */
static int put_sample(struct buf *out, const struct metric *mt, const char *suffix, const struct series *s,
        const char *le, double v) {
        bool braces = mt->n_labels > 0 || le;
        int r;

        r = buf_printf(out, "%s%s%s", mt->name, suffix, braces ? "{" : "");
        for (size_t i = 0; r >= 0 && i < mt->n_labels; i++) {
                r = buf_printf(out, "%s%s=\"", i > 0 ? "," : "", mt->labels[i]);
                if (r >= 0)
                        r = put_escaped(out, s->values[i], true);
                if (r >= 0)
                        r = buf_putc(out, '"');
        }
        if (r >= 0 && le)
                r = buf_printf(out, "%sle=\"%s\"", mt->n_labels > 0 ? "," : "", le);
        if (r >= 0)
                r = buf_puts(out, braces ? "} " : " ");
        if (r >= 0)
                r = put_double(out, v);
        if (r >= 0)
                r = buf_putc(out, '\n');
        return r;
}

static int render_histogram_series(struct buf *out, const struct metric *mt, const struct series *s) {
        _cleanup_(buf_release) struct buf le = BUF_INIT(64);
        uint64_t cumulative = 0;
        int r = 0;

        for (size_t b = 0; r >= 0 && b <= mt->n_buckets; b++) {
                cumulative += s->counts[b];
                buf_reset(&le);
                r = b < mt->n_buckets ? put_double(&le, mt->buckets[b]) : buf_puts(&le, "+Inf");
                if (r >= 0)
                        r = put_sample(out, mt, "_bucket", s, buf_str(&le), (double) cumulative);
        }
        if (r >= 0)
                r = put_sample(out, mt, "_sum", s, NULL, s->sum);
        if (r >= 0)
                r = put_sample(out, mt, "_count", s, NULL, (double) s->count);
        return r;
}

static int render_family(struct buf *out, struct metric *mt) {
        static const char *const types[] = {
                [METRIC_COUNTER] = "counter",
                [METRIC_GAUGE] = "gauge",
                [METRIC_HISTOGRAM] = "histogram",
        };
        int r = 0;

        pthread_mutex_lock(&mt->lock);
        if (mt->n_series == 0)
                goto out;
        r = put_header(out, mt->name, mt->help, types[mt->type]);
        for (size_t i = 0; r >= 0 && i < mt->n_series; i++) {
                if (mt->type == METRIC_HISTOGRAM)
                        r = render_histogram_series(out, mt, mt->series[i]);
                else
                        r = put_sample(out, mt, "", mt->series[i], NULL, mt->series[i]->value);
        }
out:
        pthread_mutex_unlock(&mt->lock);
        return r;
}

static int read_small_file(const char *path, char *dst, size_t size) {
        ssize_t n;
        int fd;

        fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
                return -errno;
        n = read(fd, dst, size - 1);
        close(fd);
        if (n < 0)
                return -errno;
        dst[n] = '\0';
        return 0;
}

/* Seconds since the epoch at which this process started: its start time in clock ticks after boot (field 22
 * of /proc/self/stat) plus the boot time (btime in /proc/stat). */
static int process_start_time(double *ret) {
        char stat[1024], all[8192];
        unsigned long long start_ticks, btime;
        const char *p;
        long hz;

        if (read_small_file("/proc/self/stat", stat, sizeof(stat)) < 0)
                return -EIO;
        /* The command name (field 2) may contain spaces and parentheses: fields resume after the last ')'. */
        p = strrchr(stat, ')');
        if (!p)
                return -EIO;
        p++;
        for (int field = 2; field < 21; field++) {
                p = strchr(p + 1, ' ');
                if (!p)
                        return -EIO;
        }
        if (sscanf(p, " %llu", &start_ticks) != 1)
                return -EIO;
        if (read_small_file("/proc/stat", all, sizeof(all)) < 0)
                return -EIO;
        p = strstr(all, "\nbtime ");
        if (!p || sscanf(p, "\nbtime %llu", &btime) != 1)
                return -EIO;
        hz = sysconf(_SC_CLK_TCK);
        if (hz <= 0)
                return -EIO;
        *ret = (double) btime + (double) start_ticks / (double) hz;
        return 0;
}

static int process_rss(double *ret) {
        char statm[256];
        unsigned long long size, resident;
        long page;

        if (read_small_file("/proc/self/statm", statm, sizeof(statm)) < 0)
                return -EIO;
        if (sscanf(statm, "%llu %llu", &size, &resident) != 2)
                return -EIO;
        page = sysconf(_SC_PAGESIZE);
        if (page <= 0)
                return -EIO;
        *ret = (double) resident * (double) page;
        return 0;
}

static int process_open_fds(double *ret) {
        struct dirent *de;
        size_t n = 0;
        DIR *d;

        d = opendir("/proc/self/fd");
        if (!d)
                return -errno;
        while ((de = readdir(d)))
                if (de->d_name[0] != '.')
                        n++;
        closedir(d);
        /* The directory stream itself holds one descriptor while it is read. */
        *ret = (double) (n > 0 ? n - 1 : 0);
        return 0;
}

static int render_process_gauge(
        struct buf *out, const char *name, const char *help, const char *type, double v) {
        int r;

        r = put_header(out, name, help, type);
        if (r >= 0)
                r = buf_printf(out, "%s ", name);
        if (r >= 0)
                r = put_double(out, v);
        if (r >= 0)
                r = buf_putc(out, '\n');
        return r;
}

/* Metrics every Prometheus client exports about its process; one that cannot be read is left out. */
static int render_process(struct buf *out) {
        struct rusage ru;
        double v;
        int r = 0;

        if (process_rss(&v) >= 0)
                r = render_process_gauge(
                        out, "process_resident_memory_bytes", "Resident memory size in bytes.", "gauge", v);
        if (r >= 0 && getrusage(RUSAGE_SELF, &ru) == 0) {
                v = (double) ru.ru_utime.tv_sec + (double) ru.ru_stime.tv_sec +
                    ((double) ru.ru_utime.tv_usec + (double) ru.ru_stime.tv_usec) / 1e6;
                r = render_process_gauge(out, "process_cpu_seconds_total",
                        "Total user and system CPU time spent in seconds.", "counter", v);
        }
        if (r >= 0 && process_start_time(&v) >= 0)
                r = render_process_gauge(out, "process_start_time_seconds",
                        "Start time of the process since unix epoch in seconds.", "gauge", v);
        if (r >= 0 && process_open_fds(&v) >= 0)
                r = render_process_gauge(
                        out, "process_open_fds", "Number of open file descriptors.", "gauge", v);
        return r;
}

int metrics_render(struct metrics *m, struct buf *out) {
        int r = 0;

        assert(m && out);
        pthread_mutex_lock(&m->lock);
        for (size_t i = 0; r >= 0 && i < m->n_families; i++)
                r = render_family(out, m->families[i]);
        pthread_mutex_unlock(&m->lock);
        if (r >= 0)
                r = render_process(out);
        return r < 0 ? r : 0;
}
