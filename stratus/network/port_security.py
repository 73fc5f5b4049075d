"""A port's security attributes (``security_groups``, ``port_security_enabled``,
``allowed_address_pairs``) with upstream's rules:

- a port created without ``security_groups`` gets its project's ``default``
  group, unless its owner is ``network:*``, port security is off, or it has
  no IP address;
- groups need port security and an address (400
  PortSecurityAndIPRequiredForSecurityGroups when asked for together with
  port security off; 409 PortSecurityPortHasSecurityGroup when port security
  is switched off under groups the port keeps);
- allowed address pairs need port security (409); at most 10, no duplicates;
  a pair without a MAC gets the port's;
- stateful and stateless groups do not mix on one port (409).

The binding table is authoritative; the port's ``security_groups`` column is
rewritten with it on every change, for rendering."""
from __future__ import annotations

import ipaddress

from sqlalchemy import delete, select

from stratus.db.models import network as m
from stratus.db.models import security_group as sg
from stratus.network import security_groups as groups
from stratus.network import sg_exceptions as sgx

MAX_ADDRESS_PAIRS = 10


def groups_of(session, port_ids) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {p: [] for p in port_ids}
    if out:
        for port_id, group_id in session.execute(
                select(sg.PortSecurityGroupBinding.port_id,
                       sg.PortSecurityGroupBinding.security_group_id)
                .where(sg.PortSecurityGroupBinding.port_id.in_(list(out)))):
            out[port_id].append(group_id)
    return {p: sorted(g) for p, g in out.items()}


def group_ids(session, project_id: str, names_or_ids) -> list[str]:
    """Ids of the project's groups named (or with the id) ``names_or_ids``,
    as Nova's ``security_groups`` name them; ``default`` is made on first use.
    404 SecurityGroupNotFound for an unknown or ambiguous one."""
    groups.ensure_default(session, project_id)
    out = []
    for ref in names_or_ids:
        rows = list(session.scalars(select(sg.SecurityGroup.id).where(
            sg.SecurityGroup.project_id == project_id,
            (sg.SecurityGroup.id == ref) | (sg.SecurityGroup.name == ref))))
        if len(rows) != 1:
            raise sgx.SecurityGroupNotFound(ref)
        out.append(rows[0])
    return out


def network_port_security(session, network_id: str) -> bool:
    row = session.get(sg.NetworkPortSecurity, network_id)
    return True if row is None else row.port_security_enabled


def set_network_port_security(session, network_id: str, enabled: bool) -> None:
    row = session.get(sg.NetworkPortSecurity, network_id)
    if row is None:
        session.add(sg.NetworkPortSecurity(network_id=network_id,
                                           port_security_enabled=enabled))
    else:
        row.port_security_enabled = enabled
    session.flush()


def _has_ip(session, port: m.Port) -> bool:
    return session.scalar(select(m.IPAllocation.ip_address).where(
        m.IPAllocation.port_id == port.id).limit(1)) is not None


def _pairs(port: m.Port, pairs: list[dict]) -> list[dict]:
    if len(pairs) > MAX_ADDRESS_PAIRS:
        raise sgx.AllowedAddressPairExhausted(MAX_ADDRESS_PAIRS)
    out, seen = [], set()
    for p in pairs:
        pair = {"ip_address": p["ip_address"], "mac_address": p.get("mac_address")
                or port.mac_address}
        key = (pair["mac_address"], str(ipaddress.ip_network(pair["ip_address"],
                                                            strict=False)))
        if key in seen:
            raise sgx.DuplicateAddressPairInRequest(pair["mac_address"], pair["ip_address"])
        seen.add(key)
        out.append(pair)
    return out


def _resolve(session, port: m.Port, ids, caller_project: str | None,
             is_admin: bool) -> list[sg.SecurityGroup]:
    if not isinstance(ids, list) or not all(isinstance(i, str) for i in ids):
        raise sgx.errors.BadRequest("Invalid input for security_groups: expected a list of "
                                    "security group ids.")
    found = []
    for group_id in dict.fromkeys(ids):
        # Upstream: a port may use its own project's groups (admins: any).
        row = groups.get_visible(session, group_id, port.project_id, is_admin)
        found.append(row)
    if len({g.stateful for g in found}) > 1:
        raise sgx.SecurityGroupConflict("Cannot apply both stateful and stateless security "
                                        "groups on the same port at the same time")
    return found


def _bind(session, port: m.Port, rows: list[sg.SecurityGroup]) -> None:
    session.execute(delete(sg.PortSecurityGroupBinding).where(
        sg.PortSecurityGroupBinding.port_id == port.id))
    session.add_all(sg.PortSecurityGroupBinding(port_id=port.id, security_group_id=g.id)
                    for g in rows)
    port.security_groups = sorted(g.id for g in rows)
    session.flush()


def on_create(session, port: m.Port, ref: dict, *, is_admin: bool,
              caller_project: str | None = None) -> None:
    """Settle a freshly inserted port's security attributes from the request
    ``ref`` (keys as the API: ``security_groups``, ``port_security_enabled``,
    ``allowed_address_pairs``)."""
    enabled = ref.get("port_security_enabled")
    if enabled is None:
        enabled = network_port_security(session, port.network_id)
    port.port_security_enabled = enabled
    has_ip = _has_ip(session, port)
    pairs = ref.get("allowed_address_pairs") or []
    if pairs and not enabled:
        raise sgx.AddressPairAndPortSecurityRequired()
    port.allowed_address_pairs = _pairs(port, pairs)
    requested = ref.get("security_groups")
    if requested is None:
        rows = []
        if enabled and has_ip and not (port.device_owner or "").startswith("network:"):
            rows = [groups.ensure_default(session, port.project_id)]
    else:
        if requested and not (enabled and has_ip):
            raise sgx.PortSecurityAndIPRequiredForSecurityGroups()
        rows = _resolve(session, port, requested, caller_project, is_admin)
    _bind(session, port, rows)


def on_update(session, port: m.Port, ref: dict, *, is_admin: bool,
              caller_project: str | None = None) -> None:
    """Apply an update's security attributes (only the keys present)."""
    enabled = ref.get("port_security_enabled", port.port_security_enabled)
    if "security_groups" in ref:
        requested = ref["security_groups"] or []
        if requested and not (enabled and _has_ip(session, port)):
            raise sgx.PortSecurityAndIPRequiredForSecurityGroups()
        _bind(session, port, _resolve(session, port, requested, caller_project, is_admin))
    elif not enabled and groups_of(session, [port.id])[port.id]:
        raise sgx.PortSecurityPortHasSecurityGroup()
    if "allowed_address_pairs" in ref:
        port.allowed_address_pairs = _pairs(port, ref["allowed_address_pairs"] or [])
    if not enabled and port.allowed_address_pairs:
        raise sgx.AddressPairAndPortSecurityRequired()
    port.port_security_enabled = enabled
    session.flush()
