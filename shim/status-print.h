/* SPDX-License-Identifier: Apache-2.0 */
#pragma once
/*
 * Printing what a shim answers on its control socket: JSON as it came
 * (indented), or for people "STACK: STATE" and then "  key: value" for the
 * other members, control characters replaced so an answer cannot drive the
 * terminal.
 */
#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>

void shim_print_object(FILE *f, json_t *j, bool as_json);
