/* SPDX-License-Identifier: Apache-2.0 */
#pragma once
/*
 * Stopping what streams out of QEMU through its monitor, and hearing of it
 * as it happens (issue 13).  Holding (pausing) a guest stops its vCPUs, not
 * QEMU's own threads: a migration, an NBD export or a block job
 * (blockdev-backup, -mirror to a foreign node) started through QMP goes on
 * sending the guest's memory or disks while the guest is paused.  So every
 * hold also asks QEMU what is going and stops it:
 *
 *   query-migrate        a status other than none, completed, failed or
 *                        cancelled: migrate_cancel
 *   query-block-exports  each export: block-export-del (mode hard: its
 *                        clients are disconnected), and nbd-server-stop
 *                        (sent at every hold, an error when no server runs)
 *   query-block-jobs     each job not concluded: block-job-cancel (force: a
 *                        mirror that is ready is not completed)
 *   query-jobs           each other job not concluded: job-cancel
 *   query-dump           active: dump-guest-memory has no cancel command
 *
 * and asks again, every 50 ms for up to SHIM_QMP_STOP_WAIT_MS (the cancels
 * are asynchronous: cancelling, aborting, an export shutting down).  What is
 * still going then, what has no command to stop it (a dump: at once), a
 * reply that is no answer, or a query that cannot be sent means the caller
 * destroys the domain (fail closed): QEMU's end is the stream's end.
 *
 * Between two periodic checks (5 s) a leak can be started and undone
 * (block-export-add then -del, blockdev-backup then blockdev-del): QEMU's
 * monitor events show it, received through libvirt
 * (virConnectDomainQemuMonitorEventRegister, libvirt-qemu, which passes
 * every QMP event of the domain on, those libvirt handles itself included).
 * shim_qmp_event_classify() says which mean data may have left.  Still
 * missed when undone between two checks, since QEMU emits no event for
 * them: chardev-add/-remove, netdev_add/_del, object-add/-del, and a
 * device_add with an id then device_del (its DEVICE_DELETED only triggers
 * a check, as libvirt's own detach emits it too; libvirt sends no
 * DEVICE_REMOVED for an alias it does not know).  Events queued while the
 * domain is started paused are acted on at the first turn after resume;
 * the check before resume sees what is still there.
 *
 * The decisions (shim_qmp_leak_plan, shim_qmp_event_classify) are separate
 * from the QMP calls so that they can be tested on canned replies.
 */
#include <libvirt/libvirt.h>

enum shim_qmp_leak_query {
        SHIM_QMP_LEAK_MIGRATE,
        SHIM_QMP_LEAK_EXPORTS,
        SHIM_QMP_LEAK_BLOCK_JOBS,
        SHIM_QMP_LEAK_JOBS,
        SHIM_QMP_LEAK_DUMP,
        SHIM_QMP_LEAK_N,
};

#define SHIM_QMP_STOP_WAIT_MS 2000

/* The QMP command (JSON) of each query. */
const char *shim_qmp_leak_command(enum shim_qmp_leak_query q);

/*
 * From QEMU's replies (replies[q] the whole reply text to
 * shim_qmp_leak_command(q)): 0 when nothing is going; 1 with *ret_going
 * (", "-separated, e.g. "migration (active), block export exp0 (nbd)") and
 * *ret_commands (NULL-terminated QMP commands that stop it, possibly none:
 * a dump) when something is; -EBADMSG with *ret_going saying which reply
 * is no answer; -ENOMEM.  The caller frees both (strv_free).
 */
int shim_qmp_leak_plan(const char *const replies[SHIM_QMP_LEAK_N], char **ret_going, char ***ret_commands);

enum shim_qmp_event_kind {
        SHIM_QMP_EVENT_IGNORE,  /* nothing that leaves (RESUME, STOP, RTC_CHANGE, ...) */
        SHIM_QMP_EVENT_RECHECK, /* check now, e.g. a device deleted (libvirt's own too) */
        SHIM_QMP_EVENT_LEAK,    /* data may have left: hold now */
};

/*
 * Which kind the monitor event is (event: QMP's name; details: its "data"
 * as JSON, may be NULL).  LEAK for MIGRATION, MIGRATION_PASS,
 * BLOCK_EXPORT_DELETED, JOB_STATUS_CHANGE, BLOCK_JOB_* (COMPLETED,
 * CANCELLED, ERROR, READY, PENDING), DUMP_COMPLETED, and a display client
 * (VNC_*, SPICE_* CONNECTED or INITIALIZED); and for DEVICE_DELETED of a
 * device without id (libvirt makes none).  RECHECK for any other
 * DEVICE_DELETED.  With LEAK, *ret_what (caller frees, printable ASCII)
 * says what, e.g. "QEMU event BLOCK_EXPORT_DELETED (id exp0)".  Never fails
 * but for -ENOMEM.
 */
int shim_qmp_event_classify(const char *event, const char *details, char **ret_what);

/*
 * libvirt's own jobs (virDomainGetJobStats: its type, its
 * VIR_DOMAIN_JOB_OPERATION): what an active one of them streams out
 * ("libvirt migration out", "save", "dump", "snapshot", "backup", and an
 * operation libvirt does not name: fail closed), NULL when there is none
 * (type NONE; a save whose stream is over still holds its job: COMPLETED)
 * or it sends nothing out (a start, a restore, an incoming migration).  A
 * static string.
 *
 * While such an async job runs, a QMP command through libvirt (a MODIFY
 * job) waits for it up to 30 s: shim_qmp_stop_leaks asks first (a QUERY
 * job, allowed beside it), aborts it (an ABORT job, allowed too), and when
 * it is still going SHIM_QMP_ABORT_WAIT_MS later, gives up (the caller
 * destroys the domain) without sending QEMU anything.
 */
const char *shim_qmp_libvirt_job_leak(int type, int operation);

#define SHIM_QMP_ABORT_WAIT_MS 500

/*
 * Abort libvirt's own job (above) alone, for a caller about to pause the
 * domain (virDomainSuspend waits for a save or a dump as QMP calls do): 0
 * none, 1 aborted and over (*ret_what, static), < 0 with *ret_why when it
 * cannot be asked or does not end: the caller destroys the domain.
 */
int shim_qmp_stop_libvirt_job(virDomainPtr dom, const char **ret_what, char **ret_why);
/* Ask only (a QUERY job): 0 none that leaves, 1 with *ret_what (static), -EIO with *ret_why. */
int shim_qmp_libvirt_job_now(virDomainPtr dom, const char **ret_what, char **ret_why);

/*
 * Stop what dom's QEMU is sending out (see above): 0 when nothing was
 * going; 1 when something was and is stopped, *ret_stopped (caller frees)
 * saying what; -EPERM when it is still going after SHIM_QMP_STOP_WAIT_MS
 * (at once when nothing can stop it), or when libvirt's own job (above)
 * does not end once aborted, -ETIMEDOUT when the whole stop (one
 * CLOCK_MONOTONIC deadline, QMP calls included) takes longer than
 * SHIM_QMP_STOP_WAIT_MS, -EBADMSG or -EIO when QEMU's or libvirt's state
 * cannot be read, each with *ret_why: the caller destroys the domain.  A
 * QMP call libvirt holds back overruns the deadline by at most its own
 * 30 s wait (a job started between the check and the call).
 */
int shim_qmp_stop_leaks(virDomainPtr dom, char **ret_stopped, char **ret_why);
