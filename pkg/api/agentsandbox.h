/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Typed views of the agent-sandbox kinds mbox writes (extensions.agents.x-k8s.io/v1beta1, namespaced):
 * SandboxTemplate, SandboxWarmPool and SandboxClaim. The operator fills them in and emits them; anything
 * that reads them back (operator, apiserver, CLI) parses them here. See common.h for ownership and messages.
 *
 * Only the fields mbox writes are modelled; other fields are ignored on parse and never emitted, and status
 * is not modelled. Emitters write keys in the order the operator has always sent them: the template
 * version is a hash of the emitted SandboxTemplate spec, so that order is part of the contract.
 *
 * Validation follows the CRD schemas (types, required fields, enums, defaults, int32 bounds, minimum 0 for
 * replicas) and adds, for the fields modelled, the checks the API server makes when it creates the Pod,
 * PVC or NetworkPolicy from them, so that a mistake is refused where it is made rather than when the pod
 * is started: names of objects referenced are DNS subdomains, container names DNS labels, ports 1-65535
 * and unique per protocol, protocols TCP, UDP or SCTP, access modes and seccomp profile types from their
 * Kubernetes enums, CIDRs that parse, quantities that are positive (api_get_quantity()).
 */
#pragma once

#include "api/common.h"

#define AS_GROUP_VERSION "extensions.agents.x-k8s.io/v1beta1"

/* metav1.OwnerReference; controller and blockOwnerDeletion are emitted only when true. */
struct as_owner_ref {
        char *api_version;
        char *kind;
        char *name;
        char *uid;
        bool controller;
        bool block_owner_deletion;
};

struct as_opt_bool {
        bool set;
        bool value;
};

struct as_opt_int {
        bool set;
        int64_t value;
};

/* A label selector by labels only; set with no labels is the empty selector {} (everything). */
struct as_selector {
        bool set;
        struct api_map match_labels;
};

struct as_np_peer {
        char *ip_block_cidr; /* ipBlock.cidr; NULL: no ipBlock */
        struct as_selector namespace_selector;
        struct as_selector pod_selector;
};

struct as_np_port {
        char *protocol; /* TCP, UDP, SCTP; NULL: absent */
        bool has_port;
        int64_t port;    /* when has_port and !port_name */
        char *port_name; /* a named port (the int-or-string given as a string) */
};

/* An ingress rule's from or an egress rule's to, and its ports. */
struct as_np_rule {
        struct as_np_peer *peers;
        size_t n_peers;
        bool has_peers;
        struct as_np_port *ports;
        size_t n_ports;
        bool has_ports;
};

struct as_np_rules {
        struct as_np_rule *items;
        size_t n;
        bool set;
};

struct as_container_port {
        char *name;
        int64_t container_port;
        char *protocol; /* TCP (default), UDP, SCTP */
};

struct as_volume_mount {
        char *name;
        char *mount_path;
};

struct as_container {
        char *name;
        char *image;
        char *image_pull_policy; /* Always, IfNotPresent, Never */
        struct api_strv command;
        struct api_strv args;
        char *working_dir;
        struct api_env env; /* name and value, or valueFrom.secretKeyRef */
        bool has_resources;
        struct {
                struct api_quantity requests_cpu, requests_memory, limits_cpu, limits_memory;
        } resources;
        struct as_container_port *ports;
        size_t n_ports;
        bool has_ports;
        struct as_volume_mount *volume_mounts;
        size_t n_volume_mounts;
        bool has_volume_mounts;
        bool has_security_context;
        struct {
                struct as_opt_bool allow_privilege_escalation;
                bool has_capabilities;
                struct api_strv capabilities_drop;
                struct as_opt_bool run_as_non_root;
                char *seccomp_profile_type; /* RuntimeDefault, Unconfined, Localhost; NULL: none */
        } security_context;
};

struct as_vct {
        char *name;
        struct api_strv access_modes; /* ReadWriteOnce, ReadOnlyMany, ReadWriteMany, ReadWriteOncePod */
        struct api_quantity storage;  /* resources.requests.storage */
        char *storage_class_name;
};

struct as_template_spec {
        struct api_map pod_labels; /* podTemplate.metadata.labels */
        bool has_pod_metadata;
        struct {
                char *service_account_name;
                struct as_opt_bool automount_service_account_token;
                struct as_opt_bool enable_service_links;
                bool has_security_context;
                struct {
                        struct as_opt_bool run_as_non_root;
                        struct as_opt_int run_as_user, run_as_group, fs_group;
                        char *seccomp_profile_type;
                } security_context;
                char *runtime_class_name;
                struct as_container *containers;
                size_t n_containers;
        } pod;
        struct as_vct *vcts;
        size_t n_vcts;
        bool has_vcts;
        struct as_opt_bool service;
        bool has_network_policy;
        struct as_np_rules ingress, egress;
        char *network_policy_management; /* Managed (default), Unmanaged */
        char *env_vars_injection_policy; /* Allowed, Overrides, Disallowed (default) */
};

struct as_template {
        struct api_meta meta;
        struct as_owner_ref *owners;
        size_t n_owners;
        struct as_template_spec spec;
};

struct as_warmpool {
        struct api_meta meta;
        struct as_owner_ref *owners;
        size_t n_owners;
        int64_t replicas; /* default 1, 0 to 2^31-1 */
        char *template_ref_name;
};

struct as_claim {
        struct api_meta meta;
        struct as_owner_ref *owners;
        size_t n_owners;
        char *warm_pool_ref_name;
        struct api_env env; /* name and value (required) */
};

/* Parse and validate obj (borrowed); *ret is the caller's. -EINVAL with every problem in err. */
int as_template_from_json(json_object *obj, struct as_template **ret, struct merr *err);
int as_warmpool_from_json(json_object *obj, struct as_warmpool **ret, struct merr *err);
int as_claim_from_json(json_object *obj, struct as_claim **ret, struct merr *err);

/* The object as mbox sends it (new reference in *ret); 0 or -ENOMEM. */
int as_template_to_json(const struct as_template *t, json_object **ret);
/* Just the spec: the version of an EnvironmentTemplate is a hash of this one's plain JSON text. */
int as_template_spec_to_json(const struct as_template_spec *s, json_object **ret);
int as_warmpool_to_json(const struct as_warmpool *p, json_object **ret);
int as_claim_to_json(const struct as_claim *c, json_object **ret);

void as_template_spec_release(struct as_template_spec *s);
struct as_template *as_template_free(struct as_template *t);
struct as_warmpool *as_warmpool_free(struct as_warmpool *p);
struct as_claim *as_claim_free(struct as_claim *c);
DEFINE_TRIVIAL_CLEANUP_FUNC(struct as_template *, as_template_free);
DEFINE_TRIVIAL_CLEANUP_FUNC(struct as_warmpool *, as_warmpool_free);
DEFINE_TRIVIAL_CLEANUP_FUNC(struct as_claim *, as_claim_free);
