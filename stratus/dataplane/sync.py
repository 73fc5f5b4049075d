"""Converge a host namespace to ``host_network_state()``: observe, plan
(stratus/dataplane/plan.py, pure), apply.  Safe to call any number of times;
a restart re-reads the kernel and changes nothing that is already right."""
from __future__ import annotations

import functools
import logging

from stratus.dataplane import bridge, dnsmasq, netns, vlan, vxlan
from stratus.dataplane.ip import ip, links
from stratus.dataplane.plan import Action, Observed, plan

LOG = logging.getLogger(__name__)


class SyncError(RuntimeError):
    """Some actions failed; the others were applied.  ``failures`` holds
    (action, exception) pairs; the next sync retries them."""

    def __init__(self, failures: list[tuple[Action, Exception]]):
        self.failures = failures
        super().__init__("; ".join(f"{a!r}: {e}" for a, e in failures))


def observe(host_ns: str, state_dir: str) -> Observed:
    found = links(host_ns)
    return Observed(
        bridges=frozenset(n for n, i in found.items()
                          if n.startswith(bridge.BRIDGE_PREFIX) and i["kind"] == "bridge"),
        taps=frozenset(n for n in found if n.startswith(bridge.TAP_PREFIX)),
        dhcp_networks=frozenset(dnsmasq.present(state_dir)),
        dhcp_namespaces=frozenset(dnsmasq.namespaces(host_ns)))


def apply(host_ns: str, action: Action, state_dir: str, lease_seconds: int) -> None:
    a = action.args
    if action.op == "remove_tap":
        ip(host_ns, "link", "del", action.target, check=False)
    elif action.op == "remove_dhcp":
        dnsmasq.remove(host_ns, action.target, state_dir=state_dir)
    elif action.op == "remove_namespace":
        netns.delete(action.target)
    elif action.op == "remove_bridge":
        bridge.remove_network(host_ns, action.target)
    elif action.op == "ensure_network":
        bridge.ensure_network(host_ns, a["network"])
    elif action.op == "ensure_dhcp":
        dnsmasq.ensure(host_ns, a["network"], a["subnet"], a["dhcp_port"], a["ports"],
                       state_dir=state_dir, lease_seconds=lease_seconds)
    elif action.op == "plug_tap":
        bridge.plug_tap(host_ns, a["port"], a["network"])
    else:
        raise ValueError(f"unknown action {action.op}")


def sync_host(host_ns: str, state: dict, state_dir: str,
              lease_seconds: int = 86400, vxlan_port: int = 4789,
              arp_responder: bool = True, external_namespace: bool = True,
              physical_interface_mappings: dict | list | None = None) -> list[Action]:
    """Make ``host_ns`` match ``state``; returns the plan it applied.
    ``physical_interface_mappings`` (physnet -> interface in ``host_ns``)
    wires VLAN networks to their physical network (stratus/dataplane/vlan.py).  One
    failing action (say, a dnsmasq that will not start) does not stop the
    others: all are tried, then SyncError names the failures."""
    netns.ensure(host_ns)
    actions = plan(state, observe(host_ns, state_dir),
                   functools.partial(dnsmasq.namespace, host_ns=host_ns))
    failures = []
    for action in actions:
        try:
            apply(host_ns, action, state_dir, lease_seconds)
        except Exception as exc:  # noqa: BLE001 - reported below, retried next sync
            LOG.warning("data plane action %r failed: %s", action, exc)
            failures.append((action, exc))
    try:   # after the bridges exist: the VXLAN devices are their ports
        vxlan.sync(host_ns, state, udp_port=vxlan_port, arp_responder=arp_responder)
    except Exception as exc:  # noqa: BLE001 - reported below, retried next sync
        failures.append((Action("sync_vxlan", host_ns), exc))
    try:   # after the bridges exist: the VLAN subinterfaces are their ports
        vlan.sync(host_ns, state, physical_interface_mappings)
    except Exception as exc:  # noqa: BLE001 - reported below, retried next sync
        failures.append((Action("sync_vlan", host_ns), exc))
    from stratus.dataplane.router import sync_routers   # L3: after the bridges exist
    _, router_failures = sync_routers(host_ns, state.get("routers") or [], state_dir,
                                      external=external_namespace)
    failures += router_failures
    try:   # last: the taps exist; one atomic nftables transaction (security groups)
        from stratus.dataplane import nft
        nft.sync(host_ns, state, state_dir)
    except Exception as exc:  # noqa: BLE001 - reported below, retried next sync
        LOG.warning("security group sync failed: %s", exc)
        failures.append((Action("sync_firewall", host_ns), exc))
    try:   # after the taps exist: tc shaping of VM taps (QoS, stratus/dataplane/qos.py)
        from stratus.dataplane import qos
        qos.sync(host_ns, state)
    except Exception as exc:  # noqa: BLE001 - reported below, retried next sync
        LOG.warning("QoS sync failed: %s", exc)
        failures.append((Action("sync_qos", host_ns), exc))
    if failures:
        raise SyncError(failures)
    return actions
