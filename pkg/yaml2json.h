/* SPDX-License-Identifier: Apache-2.0 */
/*
 * YAML to JSON, the way Kubernetes users write manifests: "kubectl apply -f" input in, json-c objects out.
 *
 * Built over libyaml's event parser with an explicit stack (no recursion over the input's nesting), with
 * every resource the input can make us allocate bounded by struct yaml_limits.
 *
 * What is accepted and how it maps to JSON:
 *   - Streams of documents separated by "---" (and ended by "..."). A document whose root is null (empty,
 *     only comments, or an explicit "null"/"~") is skipped, as kubectl does.
 *   - Block and flow collections; all scalar styles (plain, single- and double-quoted, literal "|" and
 *     folded ">" with their chomping and indentation indicators).
 *   - Plain scalars are resolved with the YAML 1.2 core schema:
 *       null   "", "~", "null", "Null", "NULL"
 *       bool   "true", "True", "TRUE", "false", "False", "FALSE" (so "yes", "no", "on", "off", "y", "n"
 *              stay strings, unlike YAML 1.1)
 *       int    [-+]?[0-9]+, 0x[0-9a-fA-F]+, 0o[0-7]+; a value outside int64 is an error ("integer out of
 *              range"), never a silent float. A leading zero followed by octal digits is octal, as
 *              kubectl (go-yaml v2) reads it: "0755" is 493, so "defaultMode: 0644" means what users
 *              expect; "08" is decimal 8
 *       float  [-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?; serialised in the shortest form that
 *              reads back to the same double, plain from 1e-6 to below 1e18 ("1e3" becomes 1000, "0.10"
 *              0.1), with an exponent otherwise ("1e20" becomes 1e+20, "0.0000001" 1e-7)
 *       ".inf", "-.Inf", ".nan" and friends, and floats that overflow a double, are rejected: JSON has no
 *       infinity or NaN; floats too small for a double become 0
 *       anything else (e.g. "1_000", "0x", "-0x10") is a string.
 *     Quoted and block scalars are always strings.
 *   - Explicit tags !!str, !!int, !!float, !!bool, !!null, !!map, !!seq and the non-specific "!" (a
 *     string) are honoured; "!!str 123" is "123", "!!int '42'" is 42. Any other tag (!!binary,
 *     !!timestamp, !!set, local tags like !Ref) is an error naming it.
 *   - Anchors and aliases are expanded into independent deep copies (no object of the result is shared).
 *     The nodes produced by expansion count against max_alias_expansion and, with all other nodes,
 *     against max_nodes, and are checked before anything is copied, so "billion laughs" fails at once.
 *     An alias must follow its anchor in the same document; an undefined alias, or one that refers to a
 *     node still being built (a cycle), is an error naming it.
 *   - Merge keys "<<" (plain and untagged, or tagged !!merge) take a mapping or a sequence of mappings;
 *     keys written in the mapping itself win over merged ones wherever they appear, and among merged
 *     mappings the earlier one wins (as in go-yaml).
 *   - Mapping keys must be scalars (or aliases of scalars). Non-string keys become their string form:
 *     "1: a" gives {"1": "a"}, "true: x" {"true": "x"}, "~: y" {"null": "y"}, "0x10: z" {"16": "z"},
 *     "1.50: f" {"1.5": "f"}. A key repeated in one mapping (after this conversion) is an error naming
 *     the key and where it repeats. Keys containing a NUL character are rejected.
 *   - Input must be UTF-8 (a leading byte order mark is allowed); invalid UTF-8 and control characters are
 *     errors that point at the offending byte.
 *
 * Errors: functions return 0 or a negative errno, and fill the optional struct merr. Every message about a
 * place in the input starts with it, "line L, column C: " (1-based, columns counted in characters), libyaml's
 * own scanner and parser errors included; only the two about the input as a whole have none ("input of N
 * bytes is larger than the limit of M bytes", and yaml_to_json_one()'s "no document in the input"). Codes:
 *   -EINVAL  malformed or rejected input (syntax, UTF-8, tags, duplicate keys, aliases, out-of-range
 *            numbers, number of documents for yaml_to_json_one)
 *   -E2BIG   a limit was exceeded (input size, nesting depth, node count, alias expansion)
 *   -ENOMEM  out of memory
 */
#pragma once

#include <stddef.h>

#include <json-c/json_object.h>

#include "merr.h"

struct yaml_limits {
        size_t max_bytes;           /* input size in bytes */
        size_t max_depth;           /* nesting of sequences and mappings, after alias expansion; 1 = flat.
                                       Keep it in the hundreds: json-c recurses to copy, print and free */
        size_t max_nodes;           /* scalars (keys included), sequences and mappings in the whole stream,
                                       counting every node an alias expands to */
        size_t max_alias_expansion; /* nodes produced by alias expansion in the whole stream */
};

/* 8 MiB of input, 100 levels, 1,000,000 nodes, of which at most 100,000 come from aliases. json-c takes
 * about 250 bytes a node, so a conversion stays within about 250 MB; a stream of small manifests reaches
 * the node limit at around 8 MiB (some 30,000 small Deployments). */
#define YAML_LIMITS_DEFAULT                                                            \
        {                                                                              \
                .max_bytes = 8u * 1024 * 1024, .max_depth = 100, .max_nodes = 1000000, \
                .max_alias_expansion = 100000,                                         \
        }

/*
 * Converts the YAML stream data[0..len) into a new JSON array with one element per non-null document, in
 * order (an input with no document gives an empty array). data need not be NUL-terminated; it is only
 * read, and may be NULL when len is 0.
 *
 * lim may be NULL for YAML_LIMITS_DEFAULT; a field left 0 takes its default too. lim is only read.
 *
 * On success *ret_docs receives the array, owned by the caller (json_object_put()); every object in it has
 * a reference count of 1 and belongs to that array alone. On failure *ret_docs is not touched and nothing
 * is left allocated. err may be NULL.
 *
 * Thread-safe: no global state; the C locale is used for numbers whatever the process locale is.
 */
int yaml_to_json(const char *data, size_t len, const struct yaml_limits *lim, json_object **ret_docs,
        struct merr *err);

/*
 * Like yaml_to_json(), for input that must hold exactly one non-null document (a single manifest, a
 * kubeconfig): *ret receives that document itself (never NULL, since null documents do not count), owned
 * by the caller. No document is -EINVAL; so is a second one, reported at its location without parsing
 * further. Otherwise as yaml_to_json().
 */
int yaml_to_json_one(
        const char *data, size_t len, const struct yaml_limits *lim, json_object **ret, struct merr *err);
