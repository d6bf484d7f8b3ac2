/* SPDX-License-Identifier: Apache-2.0 */
#pragma once
/*
 * Lowercase hexadecimal, the one spelling ecluse writes and accepts for
 * digests and nonces (bundle.yaml, approval statements).
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* out receives 2 * n lowercase hex digits and a NUL. */
void ecl_hex_encode(const uint8_t *in, size_t n, char *out);

/* True when s[0..len) is exactly 2 * n lowercase hex digits; then out holds their n bytes. */
bool ecl_hex_decode(const char *s, size_t len, uint8_t *out, size_t n);
