"""QEMU hypervisor driver (KVM or TCG), controlled over QMP."""
