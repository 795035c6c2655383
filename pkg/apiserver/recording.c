/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A session's recording (recording.h). It runs on the session's thread: each message through the relay is
 * encoded as it passes, into one chunk that goes to the database when it is full or a few seconds old, so a
 * crash loses seconds, not the session. The recording stops at --max-recording-size (RECORDING_MAX_BYTES) with a marker event
 * ("m") and its artifact says why it is short; a write the database refuses stops it the same way. The
 * header waits for the first event: a resize before any output gives the terminal's real size.
 */
#include <errno.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "apiserver/recording.h"
#include "asciicast.h"
#include "jsonutil.h"
#include "log.h"
#include "store/recording.h"
#include "store/session.h"
#include "timestamp.h"

#define RECORDING_CHUNK      (256 * 1024) /* bytes of one chunk row */
#define RECORDING_FLUSH_MS   5000         /* a chunk older than this is written at the next event */
#define RECORDING_SLACK      (6 * ASCIICAST_PIECE_MAX + 256) /* the most one piece of text encodes to */
#define RECORDING_CONTENT_MS (3600 * 1000L)
#define TRUNCATED_KEY        "runtime.mbox.dev/recording-truncated"
#define SESSION_LABEL        "runtime.mbox.dev/session"

struct api_recording {
        struct store *store;
        bool input;   /* input is recorded too */
        bool header;  /* the header was written */
        bool stopped; /* nothing more is recorded */
        char uid[37], ns[64], sandbox[254], pod[254], user[256], shell[256], title[600];
        long long timestamp; /* Unix time of the start */
        int64_t start_ms, flushed_ms;
        long long stored;    /* bytes in the database */
        long long max_bytes; /* past it, the recording stops with a marker */
        int seq;
        struct buf chunk;
        struct asciicast_text out[2], in;
        EVP_MD_CTX *md;
        char truncated[160]; /* why the recording is short ("": it is not) */
};

enum api_record api_recording_mode(json_object *template) {
        const char *v = NULL;
        if (!template || json_get_string(template, "spec.sessions.record", JSON_OPTIONAL, &v, NULL) <= 0 ||
                strcmp(v, "None") == 0)
                return API_RECORD_NONE;
        /* the CRD allows only Output and OutputAndInput besides: anything else records the most */
        return strcmp(v, "Output") == 0 ? API_RECORD_OUTPUT : API_RECORD_INPUT;
}

static void recording_free(struct api_recording *r) {
        buf_release(&r->chunk);
        EVP_MD_CTX_free(r->md);
        free(r);
}

struct api_recording *api_recording_start(
        struct apiserver *s, enum api_record mode, const struct api_recording_session *session) {
        if (mode == API_RECORD_NONE || !s->store || !session->uid || !*session->uid)
                return NULL;
        struct api_recording *r = calloc(1, sizeof(*r));
        if (!r || !(r->md = EVP_MD_CTX_new()) || EVP_DigestInit_ex(r->md, EVP_sha256(), NULL) != 1) {
                log_error("cannot record a session: out of memory", "session", session->uid);
                if (r)
                        recording_free(r);
                return NULL;
        }
        r->store = s->store;
        r->max_bytes =
                s->opt.max_recording_bytes ? (long long) s->opt.max_recording_bytes : RECORDING_MAX_BYTES;
        r->input = mode == API_RECORD_INPUT;
        buf_init(&r->chunk, RECORDING_CHUNK + RECORDING_SLACK);
        snprintf(r->uid, sizeof(r->uid), "%s", session->uid);
        snprintf(r->ns, sizeof(r->ns), "%s", session->namespace);
        snprintf(r->sandbox, sizeof(r->sandbox), "%s", session->sandbox);
        snprintf(r->pod, sizeof(r->pod), "%s", session->pod ? session->pod : "");
        snprintf(r->user, sizeof(r->user), "%s", session->user);
        snprintf(r->shell, sizeof(r->shell), "%s", session->shell ? session->shell : "");
        snprintf(r->title, sizeof(r->title), "%s in sandbox %s/%s by %s", session->kind, r->ns, r->sandbox,
                r->user);
        r->timestamp = (long long) time(NULL);
        r->start_ms = r->flushed_ms = timestamp_monotonic_ms();
        return r;
}

/* Writes the chunk to the database; a failure stops the recording. */
static void flush(struct api_recording *r) {
        struct merr err = MERR_INIT;
        PGconn *conn = NULL;
        if (r->chunk.len == 0)
                return;
        int k = store_acquire(r->store, &conn, &err);
        if (k >= 0)
                k = store_recording_write(conn, r->uid, r->seq, r->chunk.data, r->chunk.len, &err);
        store_release(r->store, conn);
        if (k < 0) {
                log_error("a session recording stops: its chunk cannot be stored", "session", r->uid, "error",
                        merr_msg(&err));
                snprintf(r->truncated, sizeof(r->truncated), "a write to the database failed at %lld bytes",
                        r->stored);
                r->stopped = true;
        } else {
                (void) EVP_DigestUpdate(r->md, r->chunk.data, r->chunk.len);
                r->stored += (long long) r->chunk.len;
                r->seq++;
        }
        buf_reset(&r->chunk);
        r->flushed_ms = timestamp_monotonic_ms();
}

/* Whether `more` bytes may still be encoded; at the cap the recording ends with its marker. */
static bool room(struct api_recording *r, double t, size_t more) {
        static const long long marker = 128;
        if (r->stopped)
                return false;
        if (r->stored + (long long) (r->chunk.len + more) + marker <= r->max_bytes)
                return true;
        char why[96];
        snprintf(why, sizeof(why), "recording truncated: it reached its limit of %lld bytes", r->max_bytes);
        (void) asciicast_marker(&r->chunk, t, why);
        snprintf(r->truncated, sizeof(r->truncated), "it reached its limit of %lld bytes", r->max_bytes);
        flush(r);
        r->stopped = true;
        return false;
}

/* After an event: the chunk goes out when full or old. */
static void settle(struct api_recording *r, int encoded) {
        if (encoded < 0) { /* cannot happen within the slack: keep the file valid by stopping */
                snprintf(r->truncated, sizeof(r->truncated), "an event could not be encoded");
                flush(r);
                r->stopped = true;
                return;
        }
        if (r->chunk.len >= RECORDING_CHUNK || timestamp_monotonic_ms() - r->flushed_ms >= RECORDING_FLUSH_MS)
                flush(r);
}

static double seconds(const struct api_recording *r) {
        return (double) (timestamp_monotonic_ms() - r->start_ms) / 1000.0;
}

/* The header, once, before the first event: of width x height, or 80x24 when the size is not known yet. */
static void header(struct api_recording *r, unsigned width, unsigned height) {
        if (r->header || !room(r, 0, 2048))
                return;
        r->header = true;
        settle(r, asciicast_header(&r->chunk, width ? width : 80, height ? height : 24, r->timestamp,
                          *r->shell ? r->shell : NULL, r->title));
}

static void text(
        struct api_recording *r, struct asciicast_text *t, char type, const uint8_t *data, size_t len) {
        double at = seconds(r);
        header(r, 0, 0);
        for (size_t off = 0; off < len && room(r, at, RECORDING_SLACK);) {
                size_t n = len - off < ASCIICAST_PIECE_MAX ? len - off : ASCIICAST_PIECE_MAX;
                settle(r, asciicast_text(&r->chunk, t, at, type, data + off, n, false));
                off += n;
        }
}

void api_recording_client(struct api_recording *r, const uint8_t *msg, size_t len) {
        unsigned w, h;
        if (!r || r->stopped || len < 1)
                return;
        if (msg[0] == 0 && r->input)
                text(r, &r->in, 'i', msg + 1, len - 1);
        else if (msg[0] == 4 && asciicast_parse_resize(msg + 1, len - 1, &w, &h) == 0) {
                if (!r->header) /* the size the terminal starts with */
                        header(r, w, h);
                else if (room(r, seconds(r), 64))
                        settle(r, asciicast_resize(&r->chunk, seconds(r), w, h));
        }
}

void api_recording_upstream(struct api_recording *r, const uint8_t *msg, size_t len) {
        if (r && !r->stopped && len > 1 && (msg[0] == 1 || msg[0] == 2))
                text(r, &r->out[msg[0] - 1], 'o', msg + 1, len - 1);
}

/* metadata.labels and metadata.annotations of the artifact, as JSON objects into labels and annotations
 * (free() them). */
static int metadata(const struct api_recording *r, const char *name, char **labels, char **annotations) {
        json_object *l = json_object_new_object(), *a = json_object_new_object();
        int k = l && a ? 0 : -ENOMEM;
        if (k >= 0)
                k = json_object_object_add(l, SESSION_LABEL, json_object_new_string(name));
        if (k >= 0 && *r->truncated)
                k = json_object_object_add(a, TRUNCATED_KEY, json_object_new_string(r->truncated));
        if (k >= 0) {
                *labels = strdup(json_object_to_json_string_ext(l, JSON_C_TO_STRING_PLAIN));
                *annotations = strdup(json_object_to_json_string_ext(a, JSON_C_TO_STRING_PLAIN));
                k = *labels && *annotations ? 0 : -ENOMEM;
        }
        json_object_put(l);
        json_object_put(a);
        return k;
}

/* Registers the recording as an artifact named like its session. */
static int register_artifact(struct api_recording *r, struct merr *err) {
        unsigned char md[EVP_MAX_MD_SIZE];
        unsigned n = 0;
        char name[64], uri[80], title[128], digest[2 * EVP_MAX_MD_SIZE + 8] = "sha256:";
        _cleanup_free_ char *labels = NULL, *annotations = NULL;
        PGconn *conn = NULL;
        if (EVP_DigestFinal_ex(r->md, md, &n) != 1)
                return merr_set(err, -EIO, "cannot hash the recording");
        for (unsigned i = 0; i < n; i++)
                snprintf(digest + 7 + 2 * i, 3, "%02x", md[i]);
        int k = store_acquire(r->store, &conn, err);
        if (k >= 0)
                k = store_recording_session(conn, r->uid, name, err);
        if (k >= 0 && metadata(r, name, &labels, &annotations) < 0)
                k = merr_set(err, -ENOMEM, "out of memory");
        if (k >= 0) {
                snprintf(uri, sizeof(uri), RECORDING_URI "%s", name);
                snprintf(title, sizeof(title), "recording of session %s", name);
                const struct artifact a = {.namespace = r->ns,
                        .name = name,
                        .kind = "recording",
                        .title = title,
                        .uri = uri,
                        .content_type = "application/x-asciicast",
                        .digest = digest,
                        .has_size = true,
                        .size_bytes = r->stored,
                        .sandbox = r->sandbox,
                        .pod = r->pod,
                        .labels = labels,
                        .annotations = annotations,
                        .registered_by = r->user,
                        .source = "Recorded"};
                k = store_recording_finish(conn, r->uid, &a, err);
        }
        store_release(r->store, conn);
        return k;
}

void api_recording_end(struct api_recording *r) {
        struct merr err = MERR_INIT;
        if (!r)
                return;
        double at = seconds(r);
        header(r, 0, 0); /* a session that showed nothing is a valid, empty recording */
        /* what a cut character left unfinished */
        struct asciicast_text *tails[] = {&r->out[0], &r->out[1], &r->in};
        for (size_t i = 0; i < 3; i++)
                if (tails[i]->tail_len > 0 && room(r, at, 64))
                        settle(r, asciicast_text(&r->chunk, tails[i], at, tails[i] == &r->in ? 'i' : 'o',
                                          NULL, 0, true));
        if (!r->stopped)
                flush(r);
        if (register_artifact(r, &err) < 0)
                log_error("cannot register a session recording", "session", r->uid, "error", merr_msg(&err));
        else
                log_info("session recorded", "session", r->uid, "namespace", r->ns, "truncated",
                        *r->truncated ? r->truncated : "no");
        recording_free(r);
}

/* ---- reading ---- */

/* The recording of one session, sent chunk by chunk as stored; a database connection is held only for
 * the read of each chunk. */
struct content {
        struct store *store;
        char uid[37];
        int seq;
        PGresult *chunk;
        size_t off;
        long long deadline_ms;
};

static void content_free(void *ud) {
        struct content *c = ud;
        PQclear(c->chunk);
        free(c);
}

static long content_read(struct httpd_stream *hs, void *ud, char *buf, size_t max) {
        struct content *c = ud;
        struct merr err = MERR_INIT;
        for (;;) {
                if (c->chunk && c->off < (size_t) PQgetlength(c->chunk, 0, 0)) {
                        size_t n = (size_t) PQgetlength(c->chunk, 0, 0) - c->off;
                        if (n > max)
                                n = max;
                        memcpy(buf, PQgetvalue(c->chunk, 0, 0) + c->off, n);
                        c->off += n;
                        return (long) n;
                }
                if (httpd_stream_peer_gone(hs) || timestamp_monotonic_ms() >= c->deadline_ms)
                        return -1;
                PGconn *conn = NULL;
                PGresult *res = NULL;
                int k = store_acquire(c->store, &conn, &err);
                if (k >= 0)
                        k = store_recording_chunk(conn, c->uid, c->seq, &res, &err);
                store_release(c->store, conn);
                if (k < 0) {
                        log_warn("a recording's download is broken off", "session", c->uid, "error",
                                merr_msg(&err));
                        return -1;
                }
                if (k == 0)
                        return 0;
                PQclear(c->chunk);
                c->chunk = res;
                c->off = 0;
                c->seq++;
        }
}

void api_recording_content(struct httpd_request *req, struct apiserver *s, const char *ns, const char *name) {
        struct merr err = MERR_INIT;
        PGconn *conn = NULL;
        char uid[37];
        int k = store_acquire(s->store, &conn, &err);
        if (k >= 0)
                k = store_recording_of(conn, ns, name, uid, &err);
        store_release(s->store, conn);
        if (k < 0) {
                api_respond_store_error(req, &err);
                return;
        }
        if (k == 0) {
                httpd_respond_status(req, 404, "NotFound",
                        "artifact %s is a session recording whose session is gone (pruned): its content is "
                        "no longer kept",
                        name);
                return;
        }
        struct content *c = calloc(1, sizeof(*c));
        if (!c) {
                httpd_respond_status(req, 500, "InternalError", "out of memory");
                return;
        }
        c->store = s->store;
        snprintf(c->uid, sizeof(c->uid), "%s", uid);
        c->deadline_ms = timestamp_monotonic_ms() + RECORDING_CONTENT_MS;
        (void) httpd_respond_stream(req, 200, "application/x-asciicast", content_read, c, content_free);
}
