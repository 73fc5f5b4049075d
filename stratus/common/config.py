"""Configuration: one INI file (``stratus.conf``) with OpenStack option names.

Every option is registered here with a type, a default and a help text, so
``stratus config sample`` can print a commented sample and a typo in the file
is reported instead of silently ignored.  Options are read as
``conf.<group>.<name>`` (``conf.DEFAULT.osapi_max_limit``, ``conf.token.expiration``).
"""
from __future__ import annotations

import configparser
import os
from dataclasses import dataclass
from typing import Any, Callable


class ConfigError(Exception):
    """A configuration file or value is invalid; the message names the option."""


def _bool(value: str) -> bool:
    v = value.strip().lower()
    if v in ("1", "true", "yes", "on"):
        return True
    if v in ("0", "false", "no", "off"):
        return False
    raise ValueError(f"not a boolean: {value!r}")


def _list(value: str) -> list[str]:
    return [item.strip() for item in value.split(",") if item.strip()]


TYPES: dict[str, Callable[[str], Any]] = {
    "str": str, "int": int, "float": float, "bool": _bool, "list": _list,
}


@dataclass(frozen=True)
class Opt:
    name: str
    type: str
    default: Any
    help: str
    deprecated_names: tuple[str, ...] = ()


OPTIONS: dict[str, list[Opt]] = {
    "DEFAULT": [
        Opt("state_path", "str", ".stratus",
            "Directory holding the SQLite database, Fernet keys, clouds.yaml and logs."),
        Opt("debug", "bool", False, "Log at DEBUG level."),
        Opt("log_file", "str", "", "Log to this file instead of standard error."),
        Opt("region_name", "str", "RegionOne",
            "Region this cloud's services are registered in."),
        Opt("osapi_max_limit", "int", 1000,
            "Largest number of items a single list call returns; `limit` is capped to it."),
        Opt("api_rate_limit", "int", 0,
            "Requests per second allowed per user (or per client address when "
            "unauthenticated) per API worker; 0 disables rate limiting."),
        Opt("api_rate_burst", "int", 50,
            "Burst size of the token bucket used by api_rate_limit."),
        Opt("scheduler_driver", "str", "",
            "Deprecated (nova's old name): use [scheduler] driver. Read only while "
            "[scheduler] driver is left at its default."),
    ],
    "api": [
        Opt("bind_host", "str", "127.0.0.1", "Address the API listens on."),
        Opt("bind_port", "int", 5000, "Port the API listens on (all services share it)."),
        Opt("workers", "int", 1, "Number of API worker processes (`stratus api`)."),
        Opt("public_endpoint", "str", "",
            "Base URL advertised in the catalog and version documents; "
            "default http://<bind_host>:<bind_port>."),
        Opt("access_log", "bool", True, "Log one line per API request."),
    ],
    "database": [
        Opt("connection", "str", "",
            "SQLAlchemy URL of the API database; default SQLite at "
            "<state_path>/stratus.sqlite. PostgreSQL: postgresql+psycopg://user@host/db."),
        Opt("max_pool_size", "int", 10, "PostgreSQL connection pool size per worker."),
    ],
    "token": [
        Opt("expiration", "int", 3600, "Token lifetime in seconds."),
        Opt("cache_time", "int", 300,
            "Seconds a validated token stays in the per-worker cache; any "
            "revocation or assignment change invalidates the cache at once."),
        Opt("allow_expired_window", "int", 172800,
            "Seconds after expiry a token may still be validated with allow_expired=1."),
    ],
    "fernet_tokens": [
        Opt("key_repository", "str", "",
            "Directory of Fernet keys; default <state_path>/fernet-keys."),
        Opt("max_active_keys", "int", 3,
            "Keys kept on rotation (primary, secondary ones and the staged key)."),
    ],
    "identity": [
        Opt("default_domain_id", "str", "default", "ID of the default domain."),
        Opt("password_hash_rounds", "int", 12, "bcrypt cost factor for stored passwords."),
        Opt("max_password_length", "int", 4096, "Longest password accepted."),
        Opt("list_limit", "int", 0,
            "Truncate identity list responses to this many entries (0: no limit)."),
    ],
    "security_compliance": [
        Opt("lockout_failure_attempts", "int", 0,
            "Failed password authentications after which a user is locked out (0: never)."),
        Opt("lockout_duration", "int", 1800, "Seconds a locked-out user stays locked."),
        Opt("password_expires_days", "int", 0,
            "Days after which a password expires and must be changed (0: never)."),
        Opt("unique_last_password_count", "int", 0,
            "A self-service password change may not reuse any of this many last passwords "
            "(0 disables the check)."),
        Opt("minimum_password_age", "int", 0,
            "Days a password must be kept before the user may change it again."),
        Opt("password_regex", "str", "", "Regular expression every new password must match."),
        Opt("password_regex_description", "str", "",
            "What password_regex requires, in words; shown when a password is refused."),
        Opt("change_password_upon_first_use", "bool", False,
            "Passwords set by an administrator must be changed by the user at first use."),
        Opt("disable_user_account_days_inactive", "int", 0,
            "Users that have not authenticated for this many days are disabled (0: never)."),
    ],
    "bootstrap": [
        Opt("admin_password", "str", "",
            "Password of the bootstrap admin user; generated on first start when empty."),
        Opt("demo_password", "str", "",
            "Password of the demo user; generated on first start when empty."),
    ],
    "compute": [
        Opt("host", "str", "",
            "Name this host registers as (default: the machine's hostname)."),
        Opt("compute_driver", "str", "qemu",
            "Hypervisor driver: qemu (real VMs; KVM when usable, else TCG) or fake "
            "(no processes; for scale simulation only)."),
        Opt("instances_path", "str", "",
            "Where instance disks, consoles and QMP sockets live; default "
            "<state_path>/hosts/<host>/instances (one tree per host of a lab)."),
        Opt("cpu_allocation_ratio", "float", 16.0,
            "Virtual CPUs schedulable per physical CPU."),
        Opt("ram_allocation_ratio", "float", 1.5, "Virtual RAM schedulable per MiB of RAM."),
        Opt("disk_allocation_ratio", "float", 1.0, "Virtual disk schedulable per GiB of disk."),
        Opt("reserved_host_memory_mb", "int", 512,
            "RAM (MiB) kept for the host itself, never given to instances."),
        Opt("reserved_host_disk_mb", "int", 0,
            "Disk (MiB) kept for the host itself, never given to instances."),
        Opt("reserved_host_cpus", "int", 0, "Physical CPUs kept for the host itself."),
        Opt("report_interval", "int", 10, "Seconds between host agent heartbeats."),
        Opt("service_down_time", "int", 60,
            "A service without a heartbeat for this many seconds is down."),
        Opt("agent_poll_interval", "float", 1.0,
            "Seconds between host agent polls of its desired state."),
        Opt("resync_interval", "int", 60,
            "Seconds between full reconciliations of a host agent (besides polls)."),
        Opt("resume_guests_state_on_host_boot", "bool", False,
            "When the host agent starts and finds instances that should be running but "
            "are not (the host rebooted), start them again."),
        Opt("running_deleted_instance_action", "str", "reap",
            "What to do with VMs running on a host that the database no longer knows "
            "(or knows as deleted): noop, log, shutdown or reap."),
        Opt("running_deleted_instance_poll_interval", "int", 1800,
            "Seconds between checks for running deleted instances."),
        Opt("force_config_drive", "bool", False,
            "Give every instance a config drive (metadata, keys, user data); without it "
            "guests read the metadata service at 169.254.169.254 ([metadata])."),
        Opt("default_availability_zone", "str", "nova",
            "Availability zone of hosts that are in no aggregate with one."),
        Opt("default_schedule_zone", "str", "",
            "Availability zone of servers created without one (empty: any)."),
        Opt("shutdown_timeout", "int", 60,
            "Seconds a guest gets to power off cleanly (ACPI) before it is stopped forcibly."),
        Opt("ecu_per_cpu", "float", 0.0,
            "Compute units (ECU) this host advertises per physical CPU (0: none; "
            "EcuFilter and the ECU claim use them)."),
        Opt("ecu", "int", 0,
            "Compute units (ECU) this host advertises in total; overrides ecu_per_cpu "
            "when non-zero."),
        Opt("bandwidth_mbps", "int", 0,
            "Network bandwidth (Mbit/s) this host advertises for instances (0: none; "
            "the bandwidth_mbps metadata of its aggregates then applies)."),
        Opt("fake_host_vcpus", "int", 64,
            "fake driver (scale simulation only): vCPUs the simulated host reports."),
        Opt("fake_host_memory_mb", "int", 262144,
            "fake driver (scale simulation only): RAM (MiB) the simulated host reports."),
        Opt("fake_host_local_gb", "int", 4096,
            "fake driver (scale simulation only): disk (GiB) the simulated host reports."),
        Opt("cell", "str", "cell1",
            "Cell this host belongs to, reported when its agent registers (two-level "
            "placement: the scheduler picks a cell, then a host inside it)."),
    ],
    "agent": [
        Opt("auth_url", "str", "",
            "Identity v3 URL the host agent authenticates at (default: this cloud's "
            "public endpoint + /identity/v3)."),
        Opt("username", "str", "admin", "Service user of the host agent (needs the admin role)."),
        Opt("password", "str", "",
            "Its password (default: the admin password in <state_path>/credentials.json)."),
        Opt("project_name", "str", "admin", "Project the host agent's token is scoped to."),
        Opt("user_domain_name", "str", "Default", "Domain of the agent's user."),
        Opt("project_domain_name", "str", "Default", "Domain of the agent's project."),
        Opt("state_dir", "str", "",
            "Where the agent keeps what it must remember across restarts (last executed "
            "action per instance); default <state_path>/hosts/<host>/agent."),
    ],
    "qemu": [
        Opt("virt_type", "str", "auto",
            "auto (KVM when a probe guest really boots with it, else TCG), kvm or qemu (TCG)."),
        Opt("qemu_binary", "str", "qemu-system-x86_64", "QEMU system emulator."),
        Opt("cpu_mode", "str", "", "CPU model for guests (empty: host under KVM, max under TCG)."),
        Opt("base_images_path", "str", "",
            "Cache of base images downloaded from the Image service; default "
            "<instances_path>/_base."),
        Opt("kvm_probe_timeout", "float", 10.0,
            "Seconds the KVM probe guest gets to boot before KVM is declared unusable."),
        Opt("wait_soft_reboot_seconds", "int", 120,
            "Seconds a soft reboot waits for the guest to shut down before it resets it."),
        Opt("suspend_timeout", "int", 300,
            "Seconds a suspend may take to save the guest's memory to disk."),
    ],
    "filter_scheduler": [
        Opt("enabled_filters", "list",
            ["AvailabilityZoneFilter", "ComputeFilter", "RamFilter", "CoreFilter", "DiskFilter",
             "ServerGroupAntiAffinityFilter", "ServerGroupAffinityFilter"],
            "Filters a host must pass, in order.", ("scheduler_default_filters",)),
        Opt("weight_classes", "list",
            ["RAMWeigher", "ServerGroupSoftAffinityWeigher", "ServerGroupSoftAntiAffinityWeigher"],
            "Weighers used to rank hosts (nova.scheduler.weights.all_weighers: all of them)."),
        Opt("ram_weight_multiplier", "float", 1.0,
            "Multiplier of the RAM weigher (negative stacks instead of spreading)."),
        Opt("soft_affinity_weight_multiplier", "float", 1.0,
            "Multiplier of ServerGroupSoftAffinityWeigher (members of a soft-affinity group "
            "prefer the hosts of the other members)."),
        Opt("soft_anti_affinity_weight_multiplier", "float", 1.0,
            "Multiplier of ServerGroupSoftAntiAffinityWeigher (members of a "
            "soft-anti-affinity group prefer hosts without other members)."),
        Opt("cpu_weight_multiplier", "float", 1.0,
            "Multiplier of CPUWeigher (free vCPUs; negative stacks instead of spreading)."),
        Opt("disk_weight_multiplier", "float", 1.0,
            "Multiplier of DiskWeigher (free disk; negative stacks instead of spreading)."),
        Opt("num_instances_weight_multiplier", "float", 0.0,
            "Multiplier of NumInstancesWeigher (positive packs onto hosts with more "
            "instances, negative spreads; 0: ignored)."),
        Opt("max_instances_per_host", "int", 50,
            "NumInstancesFilter/AggregateNumInstancesFilter: instances a host may run "
            "(aggregate metadata max_instances_per_host overrides it)."),
        Opt("host_subset_size", "int", 1,
            "Pick randomly among this many best hosts (spreads concurrent requests)."),
        Opt("max_attempts", "int", 3, "Hosts tried for one instance before it goes to ERROR."),
        Opt("host_state_cache", "bool", True,
            "Keep the compute hosts' states in memory between decisions, re-reading only "
            "the rows that changed (false: read every host for every decision)."),
        Opt("host_state_full_refresh", "float", 60.0,
            "Seconds between full re-reads of every host by the host state cache "
            "(a safety net for writes that bypass the change marker)."),
        Opt("host_state_counts_refresh", "float", 5.0,
            "Seconds between re-reads of the per-host instance and I/O operation counts "
            "by the host state cache (this scheduler's own placements count at once)."),
        Opt("max_io_ops_per_host", "int", 8,
            "IoOpsFilter/AggregateIoOpsFilter: I/O-heavy operations (builds, resizes, "
            "snapshots...) a host may have in flight (aggregate metadata "
            "max_io_ops_per_host overrides it)."),
        Opt("io_ops_weight_multiplier", "float", -1.0,
            "Multiplier of IoOpsWeigher (negative prefers hosts with fewer I/O-heavy "
            "operations in flight)."),
        Opt("build_failure_weight_multiplier", "float", 1000000.0,
            "Multiplier of BuildFailureWeigher: hosts with recent failed builds sink "
            "(0: ignore failed builds)."),
        Opt("bandwidth_weight_multiplier", "float", 1.0,
            "Multiplier of BandwidthWeigher (free network bandwidth; negative stacks "
            "instead of spreading)."),
        Opt("image_properties_default_architecture", "str", "",
            "ImagePropertiesFilter: architecture assumed for images without one "
            "(empty: none)."),
    ],
    "scheduler": [
        Opt("driver", "str", "filter_scheduler",
            "filter_scheduler (the filters of [filter_scheduler] enabled_filters, then the "
            "weighers) or chance (a random host among those that are up and enabled, in "
            "the requested zone, not yet tried, with room for the request, and allowed by "
            "hard server group policies). Nova's class paths are accepted."),
        Opt("cell_placement", "bool", True,
            "Two-level placement: rank the cells (hosts with room for the request, then "
            "their free RAM), run the driver in the best cell and fall back to the next "
            "when none of its hosts fits. false: every host is one pool."),
        Opt("cells", "list", [],
            "Pin placement to these cells, tried in this order (empty: every cell, ranked)."),
    ],
    "quota": [
        Opt("instances", "int", 10, "Servers per project (-1: unlimited)."),
        Opt("cores", "int", 20, "Virtual CPUs per project (-1: unlimited)."),
        Opt("ram", "int", 51200, "RAM (MiB) per project (-1: unlimited)."),
        Opt("metadata_items", "int", 128, "Metadata items per server."),
        Opt("key_pairs", "int", 100, "Key pairs per user."),
        Opt("server_groups", "int", 10, "Server groups per project."),
        Opt("server_group_members", "int", 10, "Servers per server group."),
        Opt("injected_files", "int", 5, "Injected files per server."),
        Opt("injected_file_content_bytes", "int", 10240, "Bytes per injected file."),
        Opt("injected_file_path_length", "int", 255, "Length of an injected file path."),
        Opt("network", "int", 100, "Networks per project (Network service)."),
        Opt("subnet", "int", 100, "Subnets per project (Network service)."),
        Opt("port", "int", 500, "Ports per project (Network service)."),
        Opt("router", "int", 10, "Routers per project (Network service)."),
        Opt("floatingip", "int", 50, "Floating IPs per project (Network service)."),
        Opt("security_group", "int", 10, "Security groups per project (Network service)."),
        Opt("security_group_rule", "int", 100,
            "Security group rules per project (Network service)."),
        # Nova 2.1 still reports these (proxies of the network service's own quotas).
        Opt("floating_ips", "int", 10, "Floating IPs per project (Compute 2.1 quota set)."),
        Opt("fixed_ips", "int", -1, "Fixed IPs per project (Compute 2.1 quota set)."),
        Opt("security_groups", "int", 10, "Security groups per project (Compute 2.1 quota set)."),
        Opt("security_group_rules", "int", 20,
            "Rules per security group (Compute 2.1 quota set)."),
    ],
    "image": [
        Opt("store_path", "str", "",
            "Directory of the content-addressed image chunk store; default <state_path>/images."),
        Opt("chunk_size_kb", "int", 4096, "Size of the chunks image data is split into."),
        Opt("image_size_cap", "int", 1099511627776, "Largest image (bytes) that may be uploaded."),
        Opt("user_storage_quota", "int", 0,
            "Bytes of image data a project may store (0: unlimited)."),
        Opt("default_image", "str", "stratus-guest",
            "Name of the guest image `stratus image build` registers."),
        Opt("guest_image_cache", "str", "",
            "Build cache of `stratus image build` (default /var/cache/stratus/guest-image "
            "for root, else ~/.cache/stratus/guest-image)."),
    ],
    "lab": [
        Opt("underlay_cidr", "str", "10.250.0.0/24",
            "Underlay network of `stratus lab` hosts (their VXLAN endpoints), inside the "
            "lab's own fabric namespace."),
        Opt("host_prefix", "str", "lab",
            "Lab hosts are named <host_prefix>1 .. <host_prefix>N."),
    ],
    "vxlan": [
        Opt("local_ip", "str", "",
            "This host's VXLAN tunnel endpoint (an address of its underlay); empty: the "
            "host takes no part in tunnels and its VXLAN networks stay local to it."),
        Opt("udp_dstport", "int", 4789, "UDP port of the VXLAN tunnels."),
        Opt("l2_population", "bool", True,
            "Program static forwarding entries for every remote port from the control "
            "plane (no multicast, no flood-and-learn). Always on: Stratus has no "
            "multicast mode; the option exists for operators' existing configs."),
        Opt("arp_responder", "bool", True,
            "Answer ARP for remote ports locally from neighbour entries (VXLAN proxy)."),
    ],
    "linux_bridge": [
        Opt("physical_interface_mappings", "list", [],
            "This host's interface for each physical network, `physnet:interface` (as "
            "the Linux bridge agent's option, e.g. `physnet1:eth1`). A VLAN network of "
            "physnet gets the subinterface `<interface>.<vlan id>` on its bridge. The "
            "interface must be in the host's namespace shost-<host> (`stratus lab` puts "
            "`ph0` there); a physnet with no mapping keeps its VLAN networks local to the "
            "host."),
    ],
    "network": [
        Opt("default_dns_servers", "list", [], "DNS servers of the demo project's `private` subnet created at first start."),
        Opt("global_physnet_mtu", "int", 1500, "MTU of the underlying physical network."),
        Opt("dhcp_lease_duration", "int", 86400, "DHCP lease time in seconds."),
        Opt("private_cidr", "str", "10.0.0.0/26",
            "CIDR of the demo project's `private` subnet created at first start."),
        Opt("tenant_network_type", "str", "vxlan",
            "Type of the networks projects create (`vxlan`, `vlan` or `flat`)."),
        Opt("vni_ranges", "str", "1:16000",
            "VXLAN segmentation ids handed to tenant networks, `first:last`."),
        Opt("flat_networks", "list", ["*"],
            "Physical networks flat provider networks may use (`*`: any)."),
        Opt("network_vlan_ranges", "list", ["physnet1"],
            "Physical networks VLAN networks may use, as ML2's [ml2_type_vlan] option: "
            "`physnet:first:last` makes VLAN ids first..last of physnet available to "
            "tenant networks (lowest free first; a physnet may be listed with several "
            "ranges), a bare `physnet` allows admin-made provider networks only, with any "
            "VLAN id 1-4094. Hosts reach a physnet through [linux_bridge] "
            "physical_interface_mappings."),
        Opt("create_public_network", "bool", True,
            "`stratus up` creates the external network `public` and the demo project's "
            "router `router1` from `private` to it (as DevStack does)."),
        Opt("public_cidr", "str", "172.24.4.0/24",
            "CIDR of the `public` external network's subnet (floating IPs)."),
        Opt("public_gateway", "str", "172.24.4.1",
            "Provider gateway of `public` (held by the external namespace `sext-<host>`)."),
        Opt("public_pool_start", "str", "172.24.4.10", "First address of `public`'s pool."),
        Opt("public_pool_end", "str", "172.24.4.250", "Last address of `public`'s pool."),
        Opt("external_namespace", "bool", True,
            "Host agents stand in for the external world: a namespace `sext-<host>` "
            "holding each external subnet's gateway IP, wired to the external bridge."),
    ],
    "metadata": [
        Opt("enabled", "bool", True,
            "Serve the metadata service (169.254.169.254) to instances: the API process "
            "listens on a unix socket and host agents proxy each DHCP namespace to it."),
        Opt("socket_path", "str", "",
            "Unix socket of the metadata service (default <state_path>/metadata.sock)."),
        Opt("metadata_proxy_shared_secret", "str", "",
            "Shared secret of signed requests (X-Instance-ID-Signature, HMAC-SHA256), as "
            "Nova and Neutron use it; empty: signed requests are refused."),
    ],
    "object_store": [
        Opt("store_path", "str", "",
            "Directory of object data (blobs and staging); default <state_path>/objects."),
        Opt("max_file_size", "int", 5368709122,
            "Largest object (bytes) a single PUT may store (Swift's default 5 GiB + 2)."),
        Opt("container_listing_limit", "int", 10000,
            "Most names one account or container listing returns."),
        Opt("max_meta_name_length", "int", 128, "Longest metadata name."),
        Opt("max_meta_value_length", "int", 256, "Longest metadata value."),
        Opt("max_meta_count", "int", 90, "Most metadata items per resource."),
        Opt("max_meta_overall_size", "int", 4096, "Most bytes of metadata per resource."),
        Opt("max_object_name_length", "int", 1024, "Longest object name (bytes)."),
        Opt("max_container_name_length", "int", 256, "Longest container name (bytes)."),
        Opt("max_manifest_segments", "int", 1000, "Most segments in one SLO manifest."),
        Opt("operator_roles", "list", ["admin", "member"],
            "Roles that make a caller the owner of its project's account."),
        Opt("reseller_admin_roles", "list", ["reseller_admin", "ResellerAdmin"],
            "Roles that may act on any account."),
        Opt("expirer_interval", "int", 10,
            "Seconds between runs of the reaper of expired objects (0: off)."),
    ],
    "transfer": [
        Opt("enabled", "bool", True,
            "Run the accelerated transfer server (`stratus transfer put/get`) beside the API."),
        Opt("bind_host", "str", "", "Address it listens on (default: [api] bind_host)."),
        Opt("port", "int", 0,
            "TCP control port (data uses ephemeral UDP ports on the same address); "
            "0: the API port + 2 (5002 by default)."),
        Opt("public_host", "str", "",
            "Host advertised in the catalog (stratus-udp://HOST:PORT); default: the host "
            "of the public endpoint."),
        Opt("max_rate_mbps", "float", 0.0,
            "Server-wide cap (Mbit/s) shared equally by concurrent transfers (0: none)."),
        Opt("target_delay_ms", "float", 25.0,
            "Queuing delay the rate controller aims at (above the path's minimum)."),
        Opt("idle_timeout", "int", 60,
            "Seconds without a packet or message after which a session ends (kept for resume)."),
    ],
    "oslo_policy": [
        Opt("policy_file", "str", "policy.yaml",
            "Operator policy overrides (YAML), relative to the directory of stratus.conf "
            "or absolute; missing file means defaults only."),
        Opt("enforce_scope", "bool", False,
            "Reject tokens whose scope does not match the rule's scope types."),
    ],
}


class _Group:
    def __init__(self, name: str, values: dict[str, Any]):
        self._name = name
        self._values = values

    def __getattr__(self, item: str) -> Any:
        try:
            return self._values[item]
        except KeyError:
            raise AttributeError(f"no option [{self._name}] {item}") from None


class Config:
    """Parsed configuration.  Unknown options in known groups are errors."""

    def __init__(self, path: str | None = None, overrides: dict[str, dict[str, Any]] | None = None):
        self.path = os.path.abspath(path) if path else None
        parser = configparser.ConfigParser(interpolation=None, default_section="__none__")
        if self.path:
            if not os.path.exists(self.path):
                raise ConfigError(f"configuration file {self.path} does not exist")
            parser.read(self.path)
        self._groups: dict[str, _Group] = {}
        for group, opts in OPTIONS.items():
            raw = dict(parser.items(group)) if parser.has_section(group) else {}
            values: dict[str, Any] = {}
            known = set()
            for opt in opts:
                names = (opt.name, *opt.deprecated_names)
                known.update(names)
                value = opt.default
                for n in names:
                    if n in raw:
                        try:
                            value = TYPES[opt.type](raw[n])
                        except ValueError as exc:
                            raise ConfigError(f"[{group}] {n}: {exc}") from None
                        break
                values[opt.name] = value
            unknown = set(raw) - known
            if unknown:
                raise ConfigError(f"unknown option(s) in [{group}]: {', '.join(sorted(unknown))}")
            for k, v in ((overrides or {}).get(group) or {}).items():
                if k not in values:
                    raise ConfigError(f"unknown option [{group}] {k}")
                values[k] = v
            self._groups[group] = _Group(group, values)
        # Sections owned by later services are accepted and ignored for now.

    def __getattr__(self, item: str) -> _Group:
        try:
            return self._groups[item]
        except KeyError:
            raise AttributeError(f"no option group [{item}]") from None

    # Derived paths -----------------------------------------------------
    @property
    def state_path(self) -> str:
        return os.path.abspath(self.DEFAULT.state_path)

    @property
    def database_url(self) -> str:
        return self.database.connection or f"sqlite:///{os.path.join(self.state_path, 'stratus.sqlite')}"

    @property
    def key_repository(self) -> str:
        return self.fernet_tokens.key_repository or os.path.join(self.state_path, "fernet-keys")

    @property
    def policy_file(self) -> str | None:
        p = self.oslo_policy.policy_file
        if not p:
            return None
        if not os.path.isabs(p):
            base = os.path.dirname(self.path) if self.path else self.state_path
            p = os.path.join(base, p)
        return p

    @property
    def public_endpoint(self) -> str:
        ep = self.api.public_endpoint
        if ep:
            return ep.rstrip("/")
        return f"http://{self.api.bind_host}:{self.api.bind_port}"


def sample() -> str:
    """A commented sample ``stratus.conf`` listing every option with its default."""
    out = ["# stratus.conf: every option with its default value (commented out)."]
    for group, opts in OPTIONS.items():
        out.append("")
        out.append(f"[{group}]")
        for opt in opts:
            out.append("")
            for line in _wrap(opt.help):
                out.append(f"# {line}")
            out.append(f"# ({opt.type})")
            default = ",".join(opt.default) if isinstance(opt.default, list) else opt.default
            if isinstance(default, bool):
                default = str(default).lower()
            out.append(f"#{opt.name} = {default}")
    return "\n".join(out) + "\n"


def _wrap(text: str, width: int = 76) -> list[str]:
    lines, cur = [], ""
    for word in text.split():
        if cur and len(cur) + 1 + len(word) > width:
            lines.append(cur)
            cur = word
        else:
            cur = f"{cur} {word}" if cur else word
    if cur:
        lines.append(cur)
    return lines
