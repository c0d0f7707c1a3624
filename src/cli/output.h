/* `-o table|json|yaml` for the l2lb command: the read commands build one
 * JSON value (field names documented in docs/cli.md) and print it as JSON or
 * YAML, or as their own table. */
#pragma once

#include <jansson.h>
#include <stdio.h>

enum output_format {
        OUTPUT_TABLE,
        OUTPUT_JSON,
        OUTPUT_YAML,
};

/* "table" (or ""), "json", "yaml"; -EINVAL for anything else. */
int output_parse(const char *s, enum output_format *ret);

/* A string member made safe for any terminal (str_escape_control), as every
 * API- or agent-derived string is before it is printed in any format. */
json_t *output_str(const char *s);

/* Print v as JSON (indented, ASCII, keys in insertion order) or YAML
 * (block style; strings YAML would read as another type are quoted). */
int output_print(json_t *v, enum output_format fmt, FILE *f);
