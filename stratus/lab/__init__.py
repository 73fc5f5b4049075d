"""``stratus lab``: many hypervisor hosts on one machine (namespaces + agents)."""
