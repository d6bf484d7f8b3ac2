/* SPDX-License-Identifier: Apache-2.0 */
#pragma once
/*
 * What a quarantine entry, ROOT/var/lib/ecluse/quarantine/ID/, holds
 * (import.h writes it; approve, show and apply read it):
 *
 *   bundle.yaml, bundle.yaml.sig   as the vendor delivered them
 *   statement                      the text officers sign, fixed at import
 *   record.json                    the bundle's state (store.h)
 *   payload/NAME                   each payload file under its install name
 *   approvals/NNNNNN.sig           the officers' signatures over statement
 */
#define AGENT_META_FILE "bundle.yaml"
#define AGENT_SIG_FILE "bundle.yaml.sig"
#define AGENT_STATEMENT_FILE "statement"
#define AGENT_PAYLOAD_DIR "payload"
#define AGENT_APPROVALS_DIR "approvals"
