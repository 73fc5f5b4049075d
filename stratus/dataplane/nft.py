"""Apply the security-group ruleset (stratus/dataplane/firewall.py) to a host
namespace: observe the kernel's ``stratus-sg`` tables, and when they differ
from the desired ruleset, replace their contents in ONE ``nft -f``
transaction (never deleting the tables, so conntrack state and established
flows survive; packets see the old ruleset or the new, never a mix).

"Differ" is decided against the kernel, not a cache: the listing the kernel
printed right after the last apply is kept in ``<state_dir>/nft-stratus-sg``
with the desired digest; a sync whose digest matches and whose kernel
listing still equals the recorded one changes nothing.  Anything else (a
new desired state, a lost state file, a hand-edited or missing table)
re-applies the full ruleset atomically."""
from __future__ import annotations

import json
import os
import re
import subprocess

from stratus.dataplane import firewall
from stratus.dataplane.ip import CommandError, run

STATE_FILE = "nft-stratus-sg.json"
SYSCTLS = ("net.bridge.bridge-nf-call-iptables", "net.bridge.bridge-nf-call-ip6tables")


def nft(ns: str, *args: str, script: str | None = None) -> str:
    argv = ["ip", "netns", "exec", ns, "nft", *args]
    if script is None:
        return run(argv)
    cp = subprocess.run(argv, input=script, capture_output=True, text=True, timeout=60)
    if cp.returncode != 0:
        raise CommandError(f"nft -f: exit {cp.returncode}: {cp.stderr.strip()[:2000]}")
    return cp.stdout


def observe(ns: str) -> tuple[dict, dict, str]:
    """({family: chain names}, {family: set names}, kernel listing) of the
    ``stratus-sg`` tables in ``ns`` (empty when absent): one ``nft list
    table`` per family, names read from the listing's declarations."""
    chains: dict = {f: set() for f in firewall.FAMILIES}
    sets: dict = {f: set() for f in firewall.FAMILIES}
    listing = []
    for fam in firewall.FAMILIES:
        try:
            text = nft(ns, "list", "table", fam, firewall.TABLE)
        except CommandError:
            continue          # no such table yet
        chains[fam] = set(re.findall(r"^\tchain (\S+) \{", text, re.M))
        sets[fam] = set(re.findall(r"^\tset (\S+) \{", text, re.M))
        listing.append(text)
    return chains, sets, "".join(listing)


def _load(state_dir: str) -> dict:
    try:
        with open(os.path.join(state_dir, STATE_FILE)) as f:
            return json.load(f)
    except (OSError, ValueError):
        return {}


def _save(state_dir: str, digest: str, listing: str) -> None:
    os.makedirs(state_dir, exist_ok=True)
    path = os.path.join(state_dir, STATE_FILE)
    with open(path + ".tmp", "w") as f:
        json.dump({"digest": digest, "listing": listing}, f)
    os.replace(path + ".tmp", path)


def ensure_bridge_netfilter(ns: str) -> None:
    """Bridged IP packets must reach the inet hooks (per-namespace sysctls)."""
    for key in SYSCTLS:
        run(["ip", "netns", "exec", ns, "sysctl", "-q", "-w", f"{key}=1"])


def sync(ns: str, state: dict, state_dir: str) -> bool:
    """Converge the namespace's ``stratus-sg`` tables to ``state``; True if
    a transaction was applied.  Idempotent; raises CommandError when nft
    refuses the ruleset (the kernel then keeps the previous one whole)."""
    desired = firewall.compile_ruleset(state)
    chains, sets, listing = observe(ns)
    if desired.empty and not any(chains.values()):
        return False                      # nothing to filter, nothing to remove
    if not desired.empty:
        ensure_bridge_netfilter(ns)       # cheap and idempotent: also repairs a reset
    digest = desired.digest()
    last = _load(state_dir)
    if last.get("digest") == digest and last.get("listing") == listing and listing:
        return False
    nft(ns, "-f", "-", script=firewall.transaction(desired, chains, sets))
    _save(state_dir, digest, observe(ns)[2])
    return True
