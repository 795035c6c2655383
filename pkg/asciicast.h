/* SPDX-License-Identifier: Apache-2.0 */
/*
 * asciicast v2 (https://docs.asciinema.org/manual/asciicast/v2/): a header line, then one JSON array per
 * event, [seconds, "o" | "i" | "m", data] or [seconds, "r", "WxH"]. The data of a terminal are bytes that
 * are mostly UTF-8 and arrive in pieces that may cut a character in two: a struct asciicast_text per stream
 * keeps the start of a cut character for the stream's next piece, and bytes that are no UTF-8 become U+FFFD,
 * so that every line is valid JSON in valid UTF-8 whatever the terminal sent. Nothing here allocates but
 * the caller's buffers (their caps bound what is written).
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "buf.h"

#define ASCIICAST_PIECE_MAX (16 * 1024) /* raw bytes per event: a longer text is cut into several */

/* What one stream (output or input) left unfinished: the start of a character cut by the end of a piece. */
struct asciicast_text {
        unsigned char tail[4];
        size_t tail_len;
};

/* Appends the header line (with its newline): the terminal's size, the Unix time the recording started, its
 * SHELL (or NULL) and title (or NULL). */
int asciicast_header(struct buf *out, unsigned width, unsigned height, long long timestamp, const char *shell,
        const char *title);

/* Appends the event lines of a piece of text at seconds: type 'o' or 'i'. data[0..len) continues what t
 * held back; the start of a character cut at its end is held back in t. Text longer than
 * ASCIICAST_PIECE_MAX becomes several events at the same time. Nothing is appended when all of it is held
 * back. With len 0 and flush, what t holds is written as U+FFFD (the stream ended). */
int asciicast_text(struct buf *out, struct asciicast_text *t, double seconds, char type, const void *data,
        size_t len, bool flush);

/* Appends a resize event, [seconds, "r", "WxH"]. */
int asciicast_resize(struct buf *out, double seconds, unsigned width, unsigned height);

/* Appends a marker event, [seconds, "m", label] (label: UTF-8 text). */
int asciicast_marker(struct buf *out, double seconds, const char *label);

/* Reads a resize message of the exec protocol's channel 4, {"Width":W,"Height":H} (untrusted, at most 256
 * bytes): 0 with both set (1..65535), -EINVAL otherwise. */
int asciicast_parse_resize(const void *data, size_t len, unsigned *ret_width, unsigned *ret_height);
