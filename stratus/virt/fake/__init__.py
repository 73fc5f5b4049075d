"""Fake hypervisor driver: for scale simulation only, runs no VMs."""
