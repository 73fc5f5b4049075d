"""Image properties the scheduler reads, as nova's ImagePropertiesFilter does.

Three kinds of facts, all pure:

* ``from_image(properties)``: the scheduling properties of an image (Glance
  property names, legacy and current: ``architecture``/``hw_architecture``,
  ``hypervisor_type``/``img_hv_type``, ``vm_mode``/``hw_vm_mode``,
  ``img_hv_requested_version``), keyed by nova's current names; the current
  name wins when an image carries both (nova's ``ImageMetaProps.from_dict``).
  The compute API stores them in the instance's ``request_spec["image_props"]``.
* ``canonical_arch`` / ``canonical_hv_type`` / ``canonical_vm_mode``: nova's
  ``obj_fields.Architecture/HVType/VMMode.canonicalize`` (``amd64`` ->
  ``x86_64``, ``i386`` -> ``i686``, ``xapi`` -> ``xen``, ``hv`` -> ``hvm``, ...);
  an unknown name raises ``ValueError``.
* ``version_satisfies(hypervisor_version, predicate)``: nova's check of
  ``img_hv_requested_version`` (``">=2.0"``, ``">=1.0, <3"``) against the
  host's integer hypervisor version (``7002022`` is ``7.2.22``).

``supported_instances(host_info)`` is what a host agent advertises: one
``[arch, hv_type, vm_mode]`` triple per kind of guest it can run.
"""
from __future__ import annotations

import operator
import platform
import re
from typing import Any, Mapping

# nova.objects.fields.Architecture.ALL
ARCHITECTURES = frozenset((
    "alpha", "armv6", "armv7l", "armv7b", "aarch64", "cris", "i686", "ia64", "lm32", "m68k",
    "microblaze", "microblazeel", "mips", "mipsel", "mips64", "mips64el", "openrisc", "parisc",
    "parisc64", "ppc", "ppcle", "ppc64", "ppc64le", "ppcemb", "s390", "s390x", "sh4", "sh4eb",
    "sparc", "sparc64", "unicore32", "x86_64", "xtensa", "xtensaeb"))
# nova.objects.fields.HVType.ALL
HV_TYPES = frozenset((
    "baremetal", "bhyve", "docker", "fake", "hyperv", "ironic", "kqemu", "kvm", "lxc", "lxd",
    "openvz", "parallels", "vz", "phyp", "qemu", "test", "uml", "vbox", "vmware", "xen", "zvm",
    "prsm"))
# nova.objects.fields.VMMode.ALL
VM_MODES = frozenset(("hvm", "xen", "uml", "exe"))

# Glance property name -> nova's current name (legacy names first: current ones win).
LEGACY_NAMES = {"architecture": "hw_architecture", "hypervisor_type": "img_hv_type",
                "vm_mode": "hw_vm_mode"}
CURRENT_NAMES = ("hw_architecture", "img_hv_type", "hw_vm_mode", "img_hv_requested_version")


def canonical_arch(name: str | None) -> str | None:
    if name is None:
        return None
    new = str(name).lower()
    if new in ("i386", "i486", "i586", "x86_32", "x86_32p"):
        new = "i686"
    if new == "amd64":
        new = "x86_64"
    if new not in ARCHITECTURES:
        raise ValueError(f"Architecture name '{name}' is not valid")
    return new


def canonical_hv_type(name: str | None) -> str | None:
    if name is None:
        return None
    new = str(name).lower()
    if new == "xapi":
        new = "xen"
    if new not in HV_TYPES:
        raise ValueError(f"Hypervisor virtualization type '{name}' is not recognised")
    return new


def canonical_vm_mode(name: str | None) -> str | None:
    if name is None:
        return None
    new = str(name).lower()
    new = {"pv": "xen", "hv": "hvm", "baremetal": "hvm"}.get(new, new)
    if new not in VM_MODES:
        raise ValueError(f"Virtual machine mode '{name}' is not recognised")
    return new


def from_image(properties: Mapping[str, Any]) -> dict[str, str]:
    """The scheduling properties of an image, by nova's current names."""
    out: dict[str, str] = {}
    for legacy, current in LEGACY_NAMES.items():
        if properties.get(legacy) not in (None, ""):
            out[current] = str(properties[legacy])
    for current in CURRENT_NAMES:
        if properties.get(current) not in (None, ""):
            out[current] = str(properties[current])
    return out


def requested(image_props: Mapping[str, str],
              default_arch: str | None = None) -> tuple[str | None, str | None, str | None]:
    """Canonical (arch, hv_type, vm_mode) an image asks for (None: any).
    Raises ValueError for a name nova does not know."""
    arch = image_props.get("hw_architecture") or default_arch or None
    return (canonical_arch(arch), canonical_hv_type(image_props.get("img_hv_type")),
            canonical_vm_mode(image_props.get("hw_vm_mode")))


def version_to_str(version: int) -> str:
    """oslo's ``convert_version_to_str``: 7002022 -> "7.2.22", 1000 -> "1.0"."""
    parts: list[str] = []
    v = int(version)
    while v:
        parts.insert(0, str(v % 1000))
        v //= 1000
    return ".".join(parts)


_OPS = {"<": operator.lt, "<=": operator.le, "==": operator.eq, ">": operator.gt,
        ">=": operator.ge, "!=": operator.ne}
_PREDICATE = re.compile(r"^\s*(<=|>=|==|!=|<|>)\s*(\d+(?:\.\d+){0,2})\s*$")


def _version_tuple(text: str) -> tuple[int, int, int]:
    nums = [int(x) for x in text.split(".")] + [0, 0, 0]
    return nums[0], nums[1], nums[2]


def parse_predicate(predicate: str) -> list[tuple[str, tuple[int, int, int]]]:
    """``">=2.0, <3"`` -> [(">=", (2, 0, 0)), ("<", (3, 0, 0))] (distutils'
    VersionPredicate syntax, as nova); ValueError when malformed."""
    out = []
    for part in str(predicate).split(","):
        m = _PREDICATE.match(part)
        if not m:
            raise ValueError(f"img_hv_requested_version {predicate!r} is not a version "
                             f"predicate such as '>=2.0' or '>=1.0, <3'")
        out.append((m.group(1), _version_tuple(m.group(2))))
    return out


def version_satisfies(hypervisor_version: int, predicate: str | None) -> bool:
    """True when the host's version meets ``predicate``, or either is absent
    (nova: a host reporting no version, or no requirement, passes)."""
    if not hypervisor_version or not predicate:
        return True
    have = _version_tuple(version_to_str(hypervisor_version))
    return all(_OPS[op](have, want) for op, want in parse_predicate(predicate))


def host_arch(cpu_info: Mapping[str, Any] | None = None) -> str:
    raw = (cpu_info or {}).get("arch") or platform.machine() or "x86_64"
    try:
        return canonical_arch(raw) or "x86_64"
    except ValueError:
        return str(raw).lower()


def supported_instances(host_info: Mapping[str, Any]) -> list[list[str]]:
    """What a host can run, as nova's ``supported_instances``: QEMU hvm guests
    of the host's architecture, and KVM ones too when the host accelerates
    with KVM.  The fake driver (scale simulation) advertises the same as a
    TCG host."""
    cpu = host_info.get("cpu_info") if isinstance(host_info.get("cpu_info"), Mapping) else {}
    arch = host_arch(cpu)
    out = [[arch, "qemu", "hvm"]]
    if str(cpu.get("accel", "")).lower() == "kvm":
        out.append([arch, "kvm", "hvm"])
    return out
