"""The host's network plumbing, delegated to the data plane.

``stratus.dataplane.sync.sync_host(host_ns, network_state, state_dir)`` converges
the host namespace, one bridge per network, one tap per port and dnsmasq to
the network state the agent API returned; it is idempotent and level
triggered, so the agent calls it on every pass that saw a change.  With the
``fake`` hypervisor no plumbing is done (scale simulation has no data plane)."""
from __future__ import annotations

import logging

LOG = logging.getLogger(__name__)


def host_namespace(host: str) -> str:
    """``shost-<host>``, truncated to the kernel's 15-character limit."""
    return f"shost-{host}"[:15]


class HostNetwork:
    def __init__(self, host: str, state_dir: str, enabled: bool = True,
                 lease_seconds: int = 86400, external_namespace: bool = True,
                 vxlan_port: int = 4789, arp_responder: bool = True,
                 metadata_socket: str | None = None,
                 physical_interface_mappings: list[str] | None = None):
        from stratus.dataplane.vlan_plan import parse_mappings   # a bad option fails here
        self.physical_interface_mappings = parse_mappings(physical_interface_mappings or [])
        self.external_namespace = external_namespace   # [network] external_namespace
        self.vxlan_port, self.arp_responder = vxlan_port, arp_responder   # [vxlan]
        self.host = host
        self.lease_seconds = lease_seconds
        self.namespace = host_namespace(host)
        self.state_dir = state_dir
        self.enabled = enabled
        self.metadata_proxy = None    # 169.254.169.254 in each DHCP namespace
        if metadata_socket and enabled:
            from stratus.metadata.proxy import MetadataProxy
            self.metadata_proxy = MetadataProxy(self.namespace, metadata_socket)

    def sync(self, network_state: dict) -> None:
        if not self.enabled:
            return
        from stratus.dataplane.sync import sync_host
        try:
            sync_host(self.namespace, network_state, self.state_dir,
                      lease_seconds=self.lease_seconds,
                      external_namespace=self.external_namespace,
                      vxlan_port=self.vxlan_port, arp_responder=self.arp_responder,
                      physical_interface_mappings=self.physical_interface_mappings)
        finally:   # the DHCP namespaces that exist get their metadata listener
            if self.metadata_proxy is not None:
                self.metadata_proxy.sync(network_state)
