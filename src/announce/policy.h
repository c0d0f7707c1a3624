/* CiliumL2AnnouncementPolicy, compiled for matching.
 *
 * Selectors are copied, interface patterns compiled once with GRegex
 * (unanchored: "eth0" matches "veth0"; several patterns are OR-ed; none means
 * every device). A policy with any error — a broken node selector, service
 * selector or interface pattern — is inactive: it selects nothing on any
 * node, and its errors are reported as status conditions (status.c). */
#pragma once

#include <glib.h>
#include <stdbool.h>
#include <stdint.h>

#include "api/objects.h"
#include "lib/labels.h"
#include "service.h"

struct l2pol {
        char *name;
        char *resource_version;
        int64_t generation;
        struct selector *service_selector; /* NULL: every service */
        struct selector *node_selector;    /* NULL: every node */
        char *service_selector_error;
        char *node_selector_error;
        char *interface_error; /* first pattern that does not compile */
        GRegex **interfaces;   /* n_interfaces compiled patterns */
        size_t n_interfaces;
        bool external_ips;
        bool load_balancer_ips;
        struct k8s_conditions conditions; /* as the object has them */
};

/* Copies and compiles the policy; broken selectors or patterns make it
 * inactive, not an error. Fails only if copying its selectors or conditions
 * does. */
struct l2pol *l2pol_from_k8s(const struct k8s_l2policy *p);
void l2pol_free(struct l2pol *p);

bool l2pol_active(const struct l2pol *p);
bool l2pol_matches_node(const struct l2pol *p, const struct labels *node_labels);
bool l2pol_matches_service(const struct l2pol *p, const struct announce_svc *s);
bool l2pol_matches_device(const struct l2pol *p, const char *device);
/* The service's addresses this policy announces (its IP kinds), merged into
 * ret. external_ips_enabled is the agent's enable-external-ips. */
void l2pol_service_ips(const struct l2pol *p, const struct announce_svc *s,
                       bool external_ips_enabled, struct announce_ip_list *ret);
