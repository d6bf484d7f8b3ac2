/* SPDX-License-Identifier: Apache-2.0 */
#pragma once
/*
 * Printing what a shim answers on its control socket: JSON as it came
 * (output.h: compact, or indented with --json=pretty), or for people
 * "STACK: STATE" and then "  key: value" for the other members, control
 * characters replaced so an answer cannot drive the terminal.
 */
#include <jansson.h>
#include <stdio.h>

#include "cli.h"

/* 0, or -ENOMEM when the JSON cannot be encoded; what cannot be written shows in ferror(f). */
int shim_print_object(FILE *f, json_t *j, enum ecl_json_style style);
