"""The QEMU driver: real VMs, KVM when a probe guest boots with it, else TCG.

Each instance lives in ``<instances_path>/<uuid>/`` (stratus.virt.paths):
qcow2 overlay ``disk``, config drive, ``console.log`` (serial, appended
across restarts), ``qmp.sock``, pidfile and ``launch.json`` (the spec it was
started with), so a stopped VM can be started again and a restarted agent
re-adopts running ones.  The directory is the source of truth: no state is
kept in the agent's memory except per-instance locks.
"""
from __future__ import annotations

import contextlib
import json
import logging
import os
import shutil
import threading
import time

from stratus.virt import paths
from stratus.virt.base import (Driver, DriverError, InstanceNotFound, InstanceSpec,
                               InvalidState, PowerState, tail_lines)
from stratus.virt.qemu import cmdline, disks, hostinfo, kvm_probe, process, state
from stratus.virt.qemu.qmp import QMPError, QMPSession, QMPUnavailable

LOG = logging.getLogger(__name__)
POWERDOWN_RETRY = 3.0  # seconds between ACPI power-button presses while stopping


class QemuDriver(Driver):
    name = "qemu"

    def __init__(self, conf, host: str):
        self.conf = conf
        self.host = host
        self.root = paths.instances_path(conf, host)
        self.binary = conf.qemu.qemu_binary
        self.accel: str | None = None
        self._locks: dict[str, threading.Lock] = {}
        self._locks_guard = threading.Lock()
        self._last: dict[str, int] = {}

    # -- host --------------------------------------------------------------
    def init_host(self) -> None:
        os.makedirs(self.root, exist_ok=True)
        os.makedirs(paths.base_images_path(self.conf, self.host), exist_ok=True)
        if shutil.which(self.binary) is None:
            raise DriverError(f"QEMU binary {self.binary} not found")
        self._accel()

    def _accel(self) -> str:
        if self.accel is None:
            virt_type = self.conf.qemu.virt_type
            ok = False
            if virt_type == "auto":
                ok = kvm_probe.kvm_usable(
                    self.binary, cmdline.cpu_model("kvm", self.conf.qemu.cpu_mode),
                    self.conf.qemu.kvm_probe_timeout,
                    cache_file=os.path.join(self.root, "_kvm_probe.json"),
                    guest_image=_default_guest_image(self.conf))
            self.accel = kvm_probe.choose_accel(virt_type, ok)
        return self.accel

    def host_info(self) -> dict:
        return hostinfo.host_info(self.binary, self.root, self._accel())

    # -- layout --------------------------------------------------------------
    def _dir(self, uuid: str) -> str:
        return paths.instance_dir(self.conf, self.host, uuid)

    def _file(self, uuid: str, name: str) -> str:
        return os.path.join(self._dir(uuid), name)

    def _layout(self, uuid: str, config_drive: bool) -> cmdline.Layout:
        f = lambda name: self._file(uuid, name)  # noqa: E731
        return cmdline.Layout(dir=self._dir(uuid), disk=f(paths.DISK),
                              config_drive=f(paths.CONFIG_DRIVE) if config_drive else None,
                              console_log=f(paths.CONSOLE_LOG), qmp_socket=f(paths.QMP_SOCKET),
                              pidfile=f(paths.PIDFILE))

    def _spec(self, uuid: str) -> InstanceSpec:
        try:
            with open(self._file(uuid, paths.LAUNCH_SPEC)) as f:
                return InstanceSpec.from_dict(json.load(f))
        except FileNotFoundError:
            raise InstanceNotFound(uuid) from None

    @contextlib.contextmanager
    def _locked(self, uuid: str):
        with self._locks_guard:
            lock = self._locks.setdefault(uuid, threading.Lock())
        with lock:
            yield

    def _pid(self, uuid: str) -> int | None:
        return process.find(self._file(uuid, paths.PIDFILE), uuid)

    def _qmp(self, uuid: str, timeout: float = 10.0) -> QMPSession:
        return QMPSession(self._file(uuid, paths.QMP_SOCKET), timeout)

    @contextlib.contextmanager
    def _monitor(self, uuid: str, what: str):
        """A QMP session whose failures become DriverError naming the operation."""
        try:
            with self._qmp(uuid) as qmp:
                yield qmp
        except (QMPUnavailable, QMPError, TimeoutError) as exc:
            raise DriverError(f"{what} of {uuid} failed: {exc}") from None

    def _status(self, uuid: str) -> str | None:
        try:
            with self._qmp(uuid, timeout=5.0) as qmp:
                return qmp.status()
        except (QMPUnavailable, QMPError, TimeoutError):
            return None

    def _power_state(self, uuid: str) -> int:
        pid = self._pid(uuid)
        status = self._status(uuid) if pid else None
        saved = os.path.exists(self._file(uuid, paths.SAVED_STATE))
        return state.power_state(pid is not None, status, saved)

    def _running_pid(self, uuid: str) -> int:
        self._spec(uuid)
        pid = self._pid(uuid)
        if pid is None:
            raise InvalidState(f"Instance {uuid} is not running.")
        return pid

    # -- listing ---------------------------------------------------------------
    def list_instances(self) -> dict[str, int]:
        result: dict[str, int] = {}
        try:
            names = os.listdir(self.root)
        except FileNotFoundError:
            return result
        for uuid in names:
            if not paths.is_instance_dir_name(uuid):
                continue
            if not os.path.exists(self._file(uuid, paths.LAUNCH_SPEC)):
                continue
            with self._locks_guard:
                lock = self._locks.setdefault(uuid, threading.Lock())
            if lock.acquire(blocking=False):  # busy: an operation is changing it
                try:
                    self._last[uuid] = self._power_state(uuid)
                finally:
                    lock.release()
            result[uuid] = self._last.get(uuid, PowerState.NOSTATE)
        return result

    # -- lifecycle ---------------------------------------------------------------
    def _launch(self, spec: InstanceSpec, incoming: str | None = None) -> None:
        layout = self._layout(spec.uuid, os.path.exists(self._file(spec.uuid, paths.CONFIG_DRIVE)))
        for stale in (layout.qmp_socket, layout.pidfile):
            with contextlib.suppress(FileNotFoundError):
                os.unlink(stale)
        argv = cmdline.build_command(spec, layout, binary=self.binary, accel=self._accel(),
                                     cpu_mode=self.conf.qemu.cpu_mode, incoming=incoming)
        try:
            process.launch(argv, layout.dir, self._file(spec.uuid, "qemu.log"))
        except process.LaunchError as exc:
            raise DriverError(str(exc)) from None

    def _prepare(self, spec: InstanceSpec) -> None:
        """Disk overlay (kept if it exists: a retried spawn), config drive, launch spec."""
        os.makedirs(self._dir(spec.uuid), exist_ok=True)
        disk = self._file(spec.uuid, paths.DISK)
        if not os.path.exists(disk):
            try:
                disks.create_overlay(spec.image_path, spec.image_format, disk, spec.root_gb)
            except disks.DiskError as exc:
                raise DriverError(str(exc)) from None
        if spec.config_drive is not None:
            from stratus.virt.configdrive import ConfigDriveError, make_config_drive
            try:
                make_config_drive(self._file(spec.uuid, paths.CONFIG_DRIVE), **spec.config_drive)
            except (ConfigDriveError, OSError) as exc:
                raise DriverError(f"config drive of {spec.uuid}: {exc}") from None
        tmp = self._file(spec.uuid, paths.LAUNCH_SPEC + ".tmp")
        with open(tmp, "w") as f:
            json.dump(spec.to_dict(), f, indent=1)
        os.replace(tmp, self._file(spec.uuid, paths.LAUNCH_SPEC))

    def spawn(self, spec: InstanceSpec) -> None:
        with self._locked(spec.uuid):
            if self._pid(spec.uuid):
                return
            self._prepare(spec)
            self._launch(spec)

    def destroy(self, uuid: str) -> None:
        with self._locked(uuid):
            pid = self._pid(uuid)
            if pid:
                process.kill(pid, uuid)
            shutil.rmtree(self._dir(uuid), ignore_errors=True)
            self._last.pop(uuid, None)

    def _stop(self, uuid: str, pid: int, timeout: float) -> bool:
        """ACPI power button, wait ``timeout`` s for the guest; True if it shut down.
        The press is repeated every POWERDOWN_RETRY s, as nova's libvirt driver
        does: a guest still booting (no acpid yet) ignores the first one."""
        if timeout <= 0:
            return False
        deadline = time.monotonic() + timeout
        while True:
            try:
                with self._qmp(uuid) as qmp:
                    if qmp.status() != "running":
                        return False
                    qmp.cmd("system_powerdown")
            except (QMPUnavailable, QMPError, TimeoutError):
                return process.wait_gone(pid, uuid, 0.5)
            left = deadline - time.monotonic()
            if process.wait_gone(pid, uuid, min(POWERDOWN_RETRY, max(left, 0))):
                return True
            if time.monotonic() >= deadline:
                return False

    def power_off(self, uuid: str, timeout: float | None = None) -> None:
        if timeout is None:
            timeout = self.conf.compute.shutdown_timeout
        with self._locked(uuid):
            self._spec(uuid)
            with contextlib.suppress(FileNotFoundError):
                os.unlink(self._file(uuid, paths.SAVED_STATE))
            pid = self._pid(uuid)
            if pid and not self._stop(uuid, pid, timeout):
                LOG.info("instance %s did not power off in %s s; killing it", uuid, timeout)
                process.kill(pid, uuid)

    def power_on(self, uuid: str) -> None:
        if os.path.exists(self._file(uuid, paths.SAVED_STATE)):
            return self.resume(uuid)
        with self._locked(uuid):
            spec = self._spec(uuid)
            if not self._pid(uuid):
                self._launch(spec)

    def reboot(self, uuid: str, hard: bool = False) -> None:
        with self._locked(uuid):
            spec = self._spec(uuid)
            pid = self._pid(uuid)
            if pid is None:
                self._launch(spec)
                return
            if not hard and self._stop(uuid, pid, self.conf.qemu.wait_soft_reboot_seconds):
                self._launch(spec)
                return
            with self._monitor(uuid, "reboot") as qmp:
                qmp.cmd("system_reset")
                if qmp.status() != "running":
                    qmp.cmd("cont")

    def pause(self, uuid: str) -> None:
        with self._locked(uuid):
            self._running_pid(uuid)
            with self._monitor(uuid, "pause") as qmp:
                qmp.cmd("stop")

    def unpause(self, uuid: str) -> None:
        with self._locked(uuid):
            self._running_pid(uuid)
            with self._monitor(uuid, "unpause") as qmp:
                qmp.cmd("cont")

    def suspend(self, uuid: str) -> None:
        saved = self._file(uuid, paths.SAVED_STATE)
        with self._locked(uuid):
            self._spec(uuid)
            pid = self._pid(uuid)
            if pid is None:
                if os.path.exists(saved):
                    return
                raise InvalidState(f"Instance {uuid} is not running.")
            part = saved + ".part"
            try:
                with self._qmp(uuid, timeout=30.0) as qmp:
                    qmp.cmd("stop")
                    qmp.cmd("migrate", uri=cmdline.outgoing_uri(part))
                    qmp.wait_migration(self.conf.qemu.suspend_timeout)
                    os.replace(part, saved)
                    with contextlib.suppress(QMPError, TimeoutError, OSError):
                        qmp.cmd("quit")
            except (QMPUnavailable, QMPError, TimeoutError) as exc:
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(part)
                raise DriverError(f"suspend of {uuid} failed: {exc}") from None
            if not process.wait_gone(pid, uuid, 10.0):
                process.kill(pid, uuid)

    def resume(self, uuid: str) -> None:
        saved = self._file(uuid, paths.SAVED_STATE)
        with self._locked(uuid):
            spec = self._spec(uuid)
            pid = self._pid(uuid)
            if pid is None:
                if not os.path.exists(saved):
                    raise InvalidState(f"Instance {uuid} is not suspended.")
                self._launch(spec, incoming=cmdline.incoming_uri(saved))
            try:
                with self._qmp(uuid, timeout=30.0) as qmp:
                    qmp.wait_incoming(self.conf.qemu.suspend_timeout)
                    if qmp.status() != "running":
                        qmp.cmd("cont")
            except (QMPUnavailable, QMPError, TimeoutError) as exc:
                raise DriverError(f"resume of {uuid} failed: {exc}") from None
            with contextlib.suppress(FileNotFoundError):
                os.unlink(saved)

    def console_output(self, uuid: str, length: int | None = None) -> str:
        if not os.path.isdir(self._dir(uuid)):
            raise InstanceNotFound(uuid)
        try:
            with open(self._file(uuid, paths.CONSOLE_LOG), "rb") as f:
                text = f.read().decode("utf-8", errors="replace")
        except FileNotFoundError:
            return ""
        return tail_lines(text, length)

    def snapshot(self, uuid: str, out_path: str) -> None:
        with self._locked(uuid):
            self._spec(uuid)
            pid = self._pid(uuid)
            resume = False
            try:
                if pid:
                    with self._monitor(uuid, "snapshot") as qmp:
                        if qmp.status() == "running":
                            qmp.cmd("stop")
                            resume = True
                disks.flatten(self._file(uuid, paths.DISK), out_path)
            except disks.DiskError as exc:
                raise DriverError(str(exc)) from None
            finally:
                if resume:
                    with self._monitor(uuid, "snapshot") as qmp:
                        qmp.cmd("cont")

    def rebuild(self, spec: InstanceSpec) -> None:
        uuid = spec.uuid
        with contextlib.suppress(InstanceNotFound):
            self.power_off(uuid, self.conf.compute.shutdown_timeout)
        with self._locked(uuid):
            for name in (paths.DISK, paths.CONFIG_DRIVE, paths.SAVED_STATE):
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(self._file(uuid, name))
        self.spawn(spec)


def _default_guest_image(conf) -> str | None:
    """The built default guest image, if any (the KVM probe boots it)."""
    try:
        from stratus.guestimage import build
        manifest = build.current(conf.image.guest_image_cache or None)
    except Exception:  # noqa: BLE001 - no image: the boot-sector probe decides alone
        return None
    return (manifest or {}).get("path")
