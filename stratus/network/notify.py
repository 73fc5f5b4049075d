"""Tell host agents that their network state changed.

A host's desired network state (``ports.host_network_state``) depends not
only on its own ports but on every port of the networks it carries: the
VXLAN forwarding and ARP entries (l2population) list the other hosts' ports,
and security-group member sets span the network.  So a port bound, moved or
deleted on one host bumps the revision of every host with a port on that
network, in the same transaction, and their agents converge on their next
poll."""
from __future__ import annotations

from typing import Iterable

from sqlalchemy import select

from stratus.db.models import network as m


def hosts_of_networks(session, network_ids: Iterable[str]) -> set[str]:
    ids = sorted(set(network_ids))
    if not ids:
        return set()
    return set(session.scalars(select(m.Port.host_id).distinct()
                               .where(m.Port.network_id.in_(ids),
                                      m.Port.host_id.is_not(None),
                                      m.Port.host_id != "")))


def bump_hosts_of_networks(session, network_ids: Iterable[str],
                           also: Iterable[str] = ()) -> set[str]:
    """Bump every host with a port on ``network_ids`` (plus the hosts in
    ``also``, e.g. the one a port just left); returns the hosts bumped."""
    from stratus.compute import revision
    hosts = hosts_of_networks(session, network_ids) | {h for h in also if h}
    for host in sorted(hosts):
        revision.bump(session, host)
    return hosts
