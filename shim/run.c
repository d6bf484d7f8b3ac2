/* SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <libvirt/virterror.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "names.h"
#include "netdev.h"
#include "netns.h"
#include "reason.h"
#include "run.h"
#include "run-policy.h"
#include "tap.h"
#include "virt-cleanup.h"

const char *shim_virt_error(void) {
        const char *msg = virGetLastErrorMessage();
        return msg && *msg ? msg : "unknown libvirt error";
}

int shim_run_report(const struct shim_stack *s, enum ecl_log_level level, int err, const char *fmt, ...) {
        /* "%m" is err's text, as in a log line */
        int saved = errno;
        errno = err < 0 ? -err : err;
        va_list ap;
        va_start(ap, fmt);
        _cleanup_free_ char *text = NULL;
        if (vasprintf(&text, fmt, ap) < 0)
                text = NULL;
        va_end(ap);
        errno = saved;
        const struct shim_run_hooks *h = s->hooks;
        if (h && h->report)
                h->report(h->userdata, level, text ? text : "out of memory");
        else
                log_debug("%s", text ? text : "out of memory");
        if (err == 0)
                return -EIO;
        return err < 0 ? err : -err;
}

/* A failure with its reason: "WHAT: REASON" (or strerror), reported as an error; returns err. */
static int report_failure(const struct shim_stack *s, int err, const char *what, const char *reason) {
        if (what)
                return shim_run_report(s, ECL_LOG_ERROR, err, "%s: %s", what, ecl_reason_text(reason, err));
        return shim_run_report(s, ECL_LOG_ERROR, err, "%s", ecl_reason_text(reason, err));
}

int shim_stack_init(struct shim_stack *s, const struct ecl_manifest *m, const struct shim_run_hooks *hooks,
                    const struct shim_run_opts *opts) {
        *s = (struct shim_stack){.m = m, .hooks = hooks, .opts = *opts, .accel = ECL_ACCEL_AUTO, .tap_queue = -1,
                                 .watch = {.nft = -1, .rtnl = -1}};
        if (shim_domain_name(m->stack, &s->dom_name) < 0)
                return shim_run_report(s, ECL_LOG_ERROR, ENOMEM, "out of memory");
        if (m->has_network) {
                shim_tap_name(m->stack, 0, s->tap);
                shim_uplink_names(m->stack, s->uplink, s->outer);
        }
        return 0;
}

void shim_stack_done(struct shim_stack *s) {
        if (s->dom)
                virDomainFree(s->dom);
        if (s->conn)
                virConnectClose(s->conn);
        free(s->dom_name);
        free(s->uri);
        if (s->tap_queue >= 0)
                close(s->tap_queue);
        shim_watch_close(&s->watch);
        *s = (struct shim_stack){.tap_queue = -1, .watch = {.nft = -1, .rtnl = -1}};
}

int shim_run_connect(struct shim_stack *s, const char *uri) {
        s->uri = strdup(uri);
        if (!s->uri)
                return shim_run_report(s, ECL_LOG_ERROR, ENOMEM, "out of memory");
        s->conn = virConnectOpen(uri);
        if (!s->conn)
                return shim_run_report(s, ECL_LOG_ERROR, EHOSTUNREACH, "cannot connect to libvirt at %s: %s", uri,
                                       shim_virt_error());
        return 0;
}

static void audit(struct shim_stack *s, const char *event, const char *details) {
        if (s->hooks->audit)
                (void) s->hooks->audit(s->hooks->userdata, event, s->m->stack, details); /* not a security event */
}

int shim_domain_active(virDomainPtr dom) {
        int r = virDomainIsActive(dom);
        if (r < 0) {
                virErrorPtr e = virGetLastError();
                if (e && e->code == VIR_ERR_NO_DOMAIN)
                        return 0; /* transient: once stopped it is gone */
        }
        return r;
}

static bool domain_active(struct shim_stack *s) {
        return s->dom && shim_domain_active(s->dom) == 1;
}

/* Run the event loop for about ms milliseconds (events are handled meanwhile). */
static void timer_fired(int timer, void *opaque) {
        (void) timer;
        *(bool *) opaque = true;
}

static void pump(unsigned ms) {
        bool fired = false;
        int t = virEventAddTimeout((int) ms, timer_fired, &fired, NULL);
        if (t < 0)
                return;
        while (!fired)
                if (virEventRunDefaultImpl() < 0)
                        break;
        virEventRemoveTimeout(t);
}

/* 0 when the domain is surely not running; an error when libvirt cannot say (fail closed). */
static int destroy_domain(struct shim_stack *s) {
        if (!s->dom || shim_domain_active(s->dom) == 0)
                return 0;
        if (virDomainDestroy(s->dom) < 0 && shim_domain_active(s->dom) != 0)
                return shim_run_report(s, ECL_LOG_ERROR, ECL_ESERVICE, "cannot destroy domain %s: %s", s->dom_name,
                                       shim_virt_error());
        return 0;
}

int shim_run_stop_domain(struct shim_stack *s) {
        if (!domain_active(s))
                return 0;
        int state = VIR_DOMAIN_NOSTATE;
        if (virDomainGetState(s->dom, &state, NULL, 0) == 0 && state != VIR_DOMAIN_PAUSED &&
            s->opts.shutdown_timeout_s > 0 && virDomainShutdown(s->dom) == 0) {
                for (unsigned waited = 0; waited < s->opts.shutdown_timeout_s * 1000 && domain_active(s); waited += 200)
                        pump(200);
                if (domain_active(s))
                        (void) shim_run_report(s, ECL_LOG_NOTICE, 0,
                                               "domain %s did not shut down within %us, destroying it", s->dom_name,
                                               s->opts.shutdown_timeout_s);
        }
        return destroy_domain(s);
}

int shim_run_teardown(struct shim_stack *s) {
        int r = 0, k;
        if (s->dom) {
                k = destroy_domain(s);
                if (k < 0)
                        /* The guest may still run: its tap and policy stay (fail closed). */
                        return k;
                /* transient: destroyed, it is gone */
                virDomainFree(s->dom);
                s->dom = NULL;
        }
        shim_watch_close(&s->watch);
        if (s->policy_loaded) {
                k = s->hooks->policy_remove(s->hooks->userdata, s->m->stack);
                if (k < 0 && r == 0)
                        r = k;
                if (k >= 0)
                        s->policy_loaded = false;
        }
        if (s->uplink_created) {
                /* the outer end goes with it, in whatever namespace it is */
                _cleanup_free_ char *why = NULL;
                k = shim_netdev_delete(-1, s->uplink, &why);
                if (k < 0 && k != -ENODEV) {
                        (void) report_failure(s, k, NULL, why); /* each one: the operator removes what is left */
                        if (r == 0)
                                r = k;
                }
                if (k >= 0 || k == -ENODEV)
                        s->uplink_created = false;
        }
        if (s->tap_created) {
                _cleanup_free_ char *why = NULL;
                k = shim_tap_delete(s->tap, &why);
                if (k < 0 && k != -ENODEV) {
                        (void) report_failure(s, k, NULL, why); /* each one: the operator removes what is left */
                        if (r == 0)
                                r = k;
                }
                if (k >= 0 || k == -ENODEV) {
                        s->tap_created = false;
                        if (s->tap_queue >= 0)
                                close(s->tap_queue);
                        s->tap_queue = -1;
                }
        }
        return r;
}

/* The live check; the policy's verify only when verify_policy (at the first start the policy job did it). */
static int check_live(struct shim_stack *s, bool verify_policy, char **ret_why) {
        _cleanup_free_ char *xml = virDomainGetXMLDesc(s->dom, 0);
        if (!xml)
                return ecl_reason(ret_why, -ECL_ESERVICE, "cannot read the live XML of %s: %s", s->dom_name,
                                  shim_virt_error());
        char *why = NULL;
        int r = s->hooks->check_cut(s->hooks->userdata, xml, s->m->has_network ? s->tap : NULL, &why);
        if (r < 0) {
                if (!why)
                        (void) ecl_reason(&why, r, "live domain is not cut (%s)", strerror(-r));
                *ret_why = why;
                return r;
        }
        if (s->hooks->check_qemu) {
                /* a device, chardev or object added through QMP never shows in the live XML */
                r = s->hooks->check_qemu(s->hooks->userdata, s->dom, xml, &why);
                if (r < 0) {
                        if (!why)
                                (void) ecl_reason(&why, r, "cannot compare QEMU's devices with the live XML (%s)",
                                                  strerror(-r));
                        *ret_why = why;
                        return r;
                }
        }
        if (s->tap_created) {
                /* The guest's virtio-net headers must not reach the kernel (tap.h, issue 7). */
                _cleanup_free_ char *detail = NULL;
                r = shim_tap_vnet_hdr(s->tap, &detail);
                if (r > 0)
                        return ecl_reason(ret_why, -EPERM,
                                          "tap %s takes the guest's virtio-net headers (IFF_VNET_HDR): its checksum "
                                          "offsets would be applied after the policy",
                                          s->tap);
                if (r < 0)
                        return ecl_reason(ret_why, r, "tap %s cannot be read back: %s", s->tap,
                                          ecl_reason_text(detail, r));
        }
        if (s->uplink_created) {
                /* nothing that runs before the policy on either device (tc ingress, XDP) */
                const char *devs[] = {s->tap, s->uplink};
                for (size_t i = 0; i < 2; i++) {
                        r = shim_netdev_check_unhooked(-1, devs[i], &why);
                        if (r < 0) {
                                if (!why)
                                        (void) ecl_reason(&why, r, "cannot check what hooks %s (%s)", devs[i],
                                                          strerror(-r));
                                *ret_why = why;
                                return r;
                        }
                }
        }
        if (s->policy_loaded && verify_policy) {
                r = s->hooks->policy_verify(s->hooks->userdata, s->m, &why);
                if (r < 0) {
                        if (!why)
                                (void) ecl_reason(&why, r, "policy not in place (%s)", strerror(-r));
                        *ret_why = why;
                        return r;
                }
        }
        return 0;
}

int shim_run_check_live(struct shim_stack *s, char **ret_why) {
        return check_live(s, true, ret_why);
}

/*
 * Create and start paused, check, resume.  Tap and uplink exist; the policy
 * exists too, or is being loaded by `job` (then waited for once QEMU is
 * started paused, before anything is checked).
 */
static int start_verified(struct shim_stack *s, struct shim_policy_job *job) {
        _cleanup_free_ char *xml = NULL, *why = NULL;
        int r = s->hooks->domain_xml(s->hooks->userdata, s->m, &s->accel, &xml);
        if (r < 0)
                return r;
        log_debug("domain %s rendered", s->dom_name);
        if (s->dom) {
                /* a restart: the old domain (transient, stopped now) is gone; the new XML may differ */
                virDomainFree(s->dom);
                s->dom = NULL;
        }
        /* the old QEMU is gone: what it printed is all before this boot's mark */
        struct shim_console_mark mark = {0};
        int marked = s->hooks->console_mark ? s->hooks->console_mark(s->hooks->userdata, &mark) : 0;
        /* Transient and started paused in one call: no definition to write, none left if the shim dies. */
        s->dom = virDomainCreateXML(s->conn, xml, VIR_DOMAIN_START_PAUSED);
        if (!s->dom)
                return shim_run_report(s, ECL_LOG_ERROR, ECL_ESERVICE, "cannot start domain %s: %s", s->dom_name,
                                       shim_virt_error());
        s->boot++;
        s->has_console_mark = marked > 0;
        s->console_mark = mark;
        log_debug("domain %s started paused", s->dom_name);
        if (job) {
                r = shim_policy_job_join(job, &why);
                if (r < 0)
                        return shim_run_report(s, ECL_LOG_ERROR, r, "refusing to resume %s: %s", s->dom_name,
                                               why ? why : "its policy could not be loaded");
                log_debug("policy of %s ready", s->m->stack);
        }
        r = check_live(s, !job, &why);
        if (r < 0)
                return shim_run_report(s, ECL_LOG_ERROR, r, "refusing to resume %s: %s", s->dom_name,
                                       why ? why : "check failed");
        /* Nothing changed from outside since the policy was loaded (the check above may have raced it). */
        int fds[] = {s->watch.nft, s->watch.rtnl};
        for (size_t i = 0; i < 2; i++) {
                if (fds[i] < 0)
                        continue;
                r = shim_watch_read(&s->watch, fds[i], &why);
                if (r == SHIM_WATCH_RECHECK) {
                        free(why);
                        why = NULL;
                        r = s->hooks->policy_verify(s->hooks->userdata, s->m, &why);
                }
                if (r != 0)
                        return shim_run_report(s, ECL_LOG_ERROR, r < 0 ? r : EPERM, "refusing to resume %s: %s",
                                               s->dom_name, why ? why : "cannot watch its network");
        }
        if (virDomainResume(s->dom) < 0)
                return shim_run_report(s, ECL_LOG_ERROR, ECL_ESERVICE, "cannot resume domain %s: %s", s->dom_name,
                                       shim_virt_error());
        log_debug("domain %s resumed", s->dom_name);
        audit(s, "domain-resumed", ecl_accel_to_string(s->accel));
        return 0;
}

/* A domain of our name that is not running is left over: forget it. */
static int clear_stale(struct shim_stack *s) {
        _cleanup_virt_domain_ virDomainPtr old = virDomainLookupByName(s->conn, s->dom_name);
        if (old) {
                int active = shim_domain_active(old);
                if (active != 0 && s->opts.replace_orphan) {
                        /* left running by a supervisor that was killed (still cut: tap and policy stayed) */
                        (void) shim_run_report(s, ECL_LOG_NOTICE, 0,
                                               "destroying domain %s left running by an earlier supervisor",
                                               s->dom_name);
                        if (virDomainDestroy(old) < 0 && shim_domain_active(old) != 0)
                                return shim_run_report(s, ECL_LOG_ERROR, ECL_ESERVICE, "cannot destroy orphaned %s: %s",
                                                       s->dom_name, shim_virt_error());
                        active = 0;
                }
                if (active != 0)
                        return shim_run_report(s, ECL_LOG_ERROR, EBUSY,
                                               "domain %s is running already on %s (stop it first)", s->dom_name,
                                               s->uri);
                /* a transient domain is gone once destroyed; a definition (an earlier version's, or an
                 * operator's) is removed */
                int persistent = virDomainIsPersistent(old);
                if (persistent < 0) {
                        virErrorPtr e = virGetLastError();
                        persistent = e && e->code == VIR_ERR_NO_DOMAIN ? 0 : -1;
                }
                if (persistent != 0) {
                        (void) shim_run_report(s, ECL_LOG_NOTICE, 0,
                                               "removing the stopped definition of %s left by an earlier run",
                                               s->dom_name);
                        if (virDomainUndefine(old) < 0)
                                return shim_run_report(s, ECL_LOG_ERROR, ECL_ESERVICE, "cannot undefine stale %s: %s",
                                                       s->dom_name, shim_virt_error());
                }
        }
        /* no domain of ours runs on this connection: a tap of its name is left over */
        if (s->m->has_network && shim_tap_exists(s->tap) == 1) {
                (void) shim_run_report(s, ECL_LOG_NOTICE, 0, "removing tap %s left by an earlier run", s->tap);
                _cleanup_free_ char *why = NULL;
                int r = shim_tap_delete(s->tap, &why);
                if (r < 0 && r != -ENODEV)
                        return report_failure(s, r, NULL, why);
        }
        return 0;
}

/* What marks the uplink's ends as the stack's (IFLA_IFALIAS): only such a veth is removed as left over. */
static void uplink_alias(const struct shim_stack *s, char buf[static 64]) {
        snprintf(buf, 64, "ecluse uplink of %s", s->m->stack);
}

/* A veth of ours left by a shim that was killed (its namespace may linger a while): remove it. */
static int remove_stale_veth(const struct shim_stack *s, int nl, const char *name) {
        char alias[64];
        uplink_alias(s, alias);
        _cleanup_free_ char *why = NULL;
        int r = shim_netdev_delete_marked_veth(nl, name, alias, &why);
        if (r > 0)
                (void) shim_run_report(s, ECL_LOG_NOTICE, 0, "removed uplink %s left by an earlier run", name);
        return r < 0 ? report_failure(s, r, NULL, why) : 0;
}

/*
 * The uplink: created with its outer end in the outer namespace, that end
 * joined to the operator's bridge (without one it is left for the operator
 * to route to), both ends up; the MTU is the bridge's (a larger one would
 * send frames the bridge drops, a smaller one lower it).
 */
static int uplink_up(struct shim_stack *s, unsigned *ret_mtu) {
        int nl = s->opts.outer_elsewhere ? s->opts.outer_nl : -1;
        const char *bridge = s->m->network.bridge;
        int r = remove_stale_veth(s, -1, s->uplink);
        if (r >= 0)
                r = remove_stale_veth(s, nl, s->outer);
        if (r < 0)
                return r;
        struct shim_netdev_info br = {0};
        _cleanup_free_ char *why = NULL;
        if (bridge) {
                r = shim_netdev_info(nl, bridge, &br, &why);
                if (r == -ENODEV || (r >= 0 && !streq(br.kind, "bridge")))
                        return shim_run_report(s, ECL_LOG_ERROR, ENODEV,
                                               "bridge %s does not exist (create it first, e.g. with ip link add %s "
                                               "type bridge)",
                                               bridge, bridge);
                if (r < 0)
                        return report_failure(s, r, NULL, why);
        }
        unsigned mtu = s->opts.tap_mtu ? s->opts.tap_mtu : br.mtu;
        r = shim_netdev_veth_create(-1, s->uplink, s->outer, s->opts.outer_elsewhere ? s->opts.outer_netns : -1, mtu,
                                    &why);
        if (r < 0)
                return report_failure(s, r, NULL, why);
        s->uplink_created = true;
        char alias[64];
        uplink_alias(s, alias);
        r = shim_netdev_set_alias(-1, s->uplink, alias, &why);
        if (r >= 0)
                r = shim_netdev_set_alias(nl, s->outer, alias, &why);
        if (r >= 0)
                r = shim_netns_harden_device(s->uplink, &why);
        if (r >= 0 && bridge)
                r = shim_netdev_enslave(nl, s->outer, bridge, &why);
        if (r >= 0)
                r = shim_netdev_set_up(nl, s->outer, &why);
        if (r >= 0)
                r = shim_netdev_set_up(-1, s->uplink, &why);
        *ret_mtu = mtu;
        return r < 0 ? report_failure(s, r, NULL, why) : 0;
}

int shim_run_up(struct shim_stack *s) {
        struct shim_policy_job job = {0};
        log_debug("bringing %s up", s->m->stack);
        int r = clear_stale(s);
        if (r < 0)
                return r;
        if (s->m->has_network) {
                _cleanup_free_ char *why = NULL;
                if (shim_tap_exists(s->tap) == 1) {
                        /* left by a shim that was killed (fail closed): no domain uses it now */
                        (void) shim_run_report(s, ECL_LOG_NOTICE, 0, "removing tap %s left by an earlier run", s->tap);
                        r = shim_tap_delete(s->tap, &why);
                        if (r < 0 && r != -ENODEV)
                                return report_failure(s, r, NULL, why);
                }
                unsigned mtu = 0;
                r = uplink_up(s, &mtu);
                if (r < 0)
                        goto fail;
                /* The tap is no bridge port: only the policy joins it to the uplink. */
                struct shim_tap_opts to = {.owner = s->opts.tap_owner, .group = s->opts.tap_group,
                                           .mtu = mtu, .bridge = NULL, .hold = &s->tap_queue};
                r = shim_tap_create(s->tap, &to, &why);
                if (r < 0) {
                        (void) report_failure(s, r, NULL, why);
                        goto fail;
                }
                s->tap_created = true;
                r = shim_netns_harden_device(s->tap, &why);
                if (r < 0) {
                        (void) report_failure(s, r, NULL, why);
                        goto fail;
                }
                log_debug("uplink and tap of %s up", s->m->stack);
                s->policy_loaded = true; /* from here on, teardown removes it even if load half-failed */
                /* loaded, watched and verified while libvirt defines and starts QEMU paused (run-policy.h) */
                r = shim_policy_job_start(&job, s);
                if (r < 0)
                        goto fail;
        }
        r = start_verified(s, s->m->has_network ? &job : NULL);
        if (r < 0)
                goto fail;
        return 0;
fail:
        /* nothing is undone while the policy thread may still be loading */
        (void) shim_policy_job_join(&job, NULL);
        (void) shim_run_teardown(s);
        return r;
}

int shim_run_restart(struct shim_stack *s) {
        int r = shim_run_stop_domain(s);
        if (r < 0)
                return r;
        if (s->policy_loaded) {
                /* replaced in one transaction: no gap, and whatever was changed from outside is gone;
                 * the watch knows that transaction for ours by its generation */
                bool watched = s->watch.nft >= 0;
                _cleanup_free_ char *why = NULL;
                r = watched ? shim_watch_own_begin(&s->watch, &why) : 0;
                if (r < 0)
                        return report_failure(s, r, "cannot reload the policy", why);
                r = s->hooks->policy_load(s->hooks->userdata, s->m); /* the hook says why it failed */
                if (r >= 0 && watched) {
                        r = shim_watch_own_end(&s->watch, &why);
                        if (r < 0)
                                return report_failure(s, r, "cannot tell the reloaded policy from an outside change",
                                                      why);
                }
                if (r < 0)
                        return r;
        }
        r = start_verified(s, NULL);
        if (r < 0) {
                /* the guest must not run unverified: leave it stopped, keep tap and policy */
                (void) destroy_domain(s);
                return r;
        }
        return 0;
}
