"""POST /v2.1/servers/{id}/action: start, stop, reboot, pause/unpause,
suspend/resume, rebuild, createImage, os-getConsoleOutput, lock/unlock,
os-resetState.

State-changing actions set the target and task state through
``stratus.compute.servers.apply`` (409 in the wrong state), record an
instance action and bump the host revision; the host agent does the work.
"""
from __future__ import annotations

import os

from stratus.api.compute import server_schema as schema
from stratus.api.compute import server_views as views
from stratus.api.compute.microversion import version_of
from stratus.api.compute.server_common import (addresses_of, faults_of, get_instance,
                                               links_of, metadata_of)
from stratus.api.routing import RouteTable
from stratus.common import errors
from stratus.compute import actions, quotas
from stratus.compute import servers as domain
from stratus.db.models.compute import InstanceMetadata

routes = RouteTable()
P = "os_compute_api:"
# body key -> (policy rule, domain transition, instance action name)
SIMPLE = {
    "os-start": (P + "servers:start", "start", "start"),
    "os-stop": (P + "servers:stop", "stop", "stop"),
    "pause": (P + "os-pause-server:pause", "pause", "pause"),
    "unpause": (P + "os-pause-server:unpause", "unpause", "unpause"),
    "suspend": (P + "os-suspend-server:suspend", "suspend", "suspend"),
    "resume": (P + "os-suspend-server:resume", "resume", "resume"),
}
REBOOT = {"type": "object",
          "properties": {"type": {"type": "string", "pattern": "^([Hh][Aa][Rr][Dd]|"
                                                              "[Ss][Oo][Ff][Tt])$"}},
          "required": ["type"], "additionalProperties": False}
REBUILD = {"type": "object",
           "properties": {"imageRef": {"type": "string"}, "name": schema.NAME,
                          "adminPass": {"type": "string"}, "metadata": schema.METADATA,
                          "preserve_ephemeral": {"type": "boolean"},
                          "OS-DCF:diskConfig": {"type": "string", "enum": ["AUTO", "MANUAL"]},
                          "accessIPv4": {"type": "string", "format": "ipv4"},
                          "accessIPv6": {"type": "string", "format": "ipv6"},
                          "personality": {"type": "array"}},
           "required": ["imageRef"], "additionalProperties": False}
CREATE_IMAGE = {"type": "object",
                "properties": {"name": schema.NAME, "metadata": schema.METADATA},
                "required": ["name"], "additionalProperties": False}
CONSOLE = {"type": "object",
           "properties": {"length": {"type": ["integer", "string", "null"],
                                     "pattern": "^-?[0-9]+$"}},
           "additionalProperties": False}
RESET_STATE = {"type": "object",
               "properties": {"state": {"type": "string", "enum": ["active", "error"]}},
               "required": ["state"], "additionalProperties": False}


def _one_action(body) -> tuple[str, object]:
    if not isinstance(body, dict) or len(body) != 1:
        raise errors.BadRequest("There is no such action: the body must hold exactly one "
                                "action.")
    return next(iter(body.items()))


@routes.post("/v2.1/servers/{server_id}/action")
def server_action(req):
    name, arg = _one_action(req.json())
    handler = HANDLERS.get(name)
    if handler is None and name in UNSUPPORTED:
        handler = _unsupported
    if handler is None and name not in SIMPLE:
        raise errors.BadRequest(f"There is no such action: {name}")
    with req.db.session() as s:
        if name in SIMPLE:
            rule, transition, action = SIMPLE[name]
            inst = get_instance(s, req, req.path_params["server_id"], rule, for_update=True)
            return _transition(s, req, inst, transition, action)
        return handler(s, req, arg)


def _transition(s, req, inst, transition: str, action: str):
    domain.check_unlocked(inst, req.ctx)
    domain.apply(s, inst, transition)
    actions.record(s, req.ctx, inst.uuid, action)
    return 202, None


def _reboot(s, req, arg):
    arg = schema.validate(arg, REBOOT, "reboot")
    inst = get_instance(s, req, req.path_params["server_id"], P + "servers:reboot",
                        for_update=True)
    hard = arg["type"].upper() == "HARD"
    return _transition(s, req, inst, "reboot_hard" if hard else "reboot", "reboot")


def _rebuild(s, req, arg):
    from stratus.api.compute import server_lookups as lookups
    arg = schema.validate(arg, REBUILD, "rebuild")
    inst = get_instance(s, req, req.path_params["server_id"], P + "servers:rebuild",
                        for_update=True)
    domain.check_unlocked(inst, req.ctx)
    image_id = schema.image_id(arg["imageRef"])
    if image_id is None:
        raise errors.BadRequest("Invalid imageRef provided.")
    f = inst.flavor or {}
    lookups.image(s, req.ctx, image_id, _FlavorView(f.get("disk", inst.root_gb),
                                                    f.get("ram", inst.memory_mb)))
    if "metadata" in arg:
        quotas.check_metadata(s, req.conf, req.ctx, len(arg["metadata"]))
        s.query(InstanceMetadata).filter_by(instance_uuid=inst.uuid).delete()
        for k, v in arg["metadata"].items():
            s.add(InstanceMetadata(instance_uuid=inst.uuid, key=k, value=v))
    domain.apply(s, inst, "rebuild")
    inst.image_ref = image_id
    if "name" in arg:
        inst.display_name = arg["name"]
    for key, attr in (("accessIPv4", "access_ip_v4"), ("accessIPv6", "access_ip_v6")):
        if key in arg:
            setattr(inst, attr, schema.access_ip(arg[key]))
    actions.record(s, req.ctx, inst.uuid, "rebuild")
    s.flush()
    body = views.basic(inst, links_of(req), metadata=metadata_of(s, inst.uuid),
                       addresses=addresses_of(s, [inst.uuid])[inst.uuid],
                       fault=faults_of(s, [inst.uuid]).get(inst.uuid), is_admin=req.ctx.is_admin,
                       version=version_of(req))
    body["adminPass"] = arg.get("adminPass") or schema.admin_password()
    return 202, {"server": body}


class _FlavorView:
    """The instance's embedded flavor, shaped as lookups.check_image_fits reads it."""
    def __init__(self, root_gb: int, memory_mb: int):
        self.root_gb, self.memory_mb = root_gb, memory_mb


def _create_image(s, req, arg):
    from stratus.image import api as image_api
    arg = schema.validate(arg, CREATE_IMAGE, "createImage")
    inst = get_instance(s, req, req.path_params["server_id"], P + "servers:create_image",
                        for_update=True)
    domain.check_unlocked(inst, req.ctx)
    domain.check(inst, "createImage")
    # As Nova's _create_image: the request's metadata has precedence.
    # (min_disk/min_ram are image columns, not properties: always ours.)
    props = {"instance_uuid": inst.uuid, "image_type": "snapshot",
             "base_image_ref": inst.image_ref or "", "user_id": req.ctx.user_id or "",
             **arg.get("metadata", {}),
             "min_disk": (inst.flavor or {}).get("disk", inst.root_gb), "min_ram": 0}
    image_id = image_api.create_snapshot_image(s, req.ctx, arg["name"], props)
    domain.apply(s, inst, "createImage")
    inst.request_spec = {**(inst.request_spec or {}), "snapshot_image_id": image_id}
    actions.record(s, req.ctx, inst.uuid, "createImage")
    location = f"{req.runtime.public_url(req.raw)}/image/v2/images/{image_id}"
    return 202, None, {"Location": location}


def _console_output(s, req, arg):
    from stratus.virt import paths
    arg = schema.validate(arg or {}, CONSOLE, "os-getConsoleOutput")
    inst = get_instance(s, req, req.path_params["server_id"],
                        P + "os-console-output")
    length = arg.get("length")
    length = None if length is None else int(length)
    if length is not None and length < -1:
        raise errors.BadRequest(f"Invalid length {length}: must be -1 or more.")
    if not inst.host:
        raise errors.Conflict(f"Cannot 'os-getConsoleOutput' instance {inst.uuid} while it is "
                              f"in vm_state {inst.vm_state}")
    return {"output": read_tail(paths.console_log(req.conf, inst.host, inst.uuid), length)}


def read_tail(path: str, length: int | None) -> str:
    """The last ``length`` lines of the console log (all when None or -1);
    an empty string when the VM has written nothing yet."""
    try:
        with open(path, "rb") as fh:
            data = fh.read()
    except FileNotFoundError:
        return ""
    except OSError as exc:
        raise errors.Conflict(f"Console log is not readable: {os.strerror(exc.errno or 0)}") \
            from None
    text = data.decode("utf-8", errors="replace")
    if length is None or length < 0:
        return text
    if length == 0:
        return ""
    # As nova's _tail_log: the last ``length`` pieces of the text split at
    # newlines, joined again (a final newline counts as an empty last line).
    return "\n".join(text.split("\n")[-length:])


def _lock(s, req, arg):
    inst = get_instance(s, req, req.path_params["server_id"], P + "os-lock-server:lock")
    inst.locked, inst.locked_by = True, "admin" if req.ctx.is_admin else "owner"
    actions.record(s, req.ctx, inst.uuid, "lock")
    return 202, None


def _unlock(s, req, arg):
    inst = get_instance(s, req, req.path_params["server_id"], P + "os-lock-server:unlock")
    if inst.locked and inst.locked_by == "admin" and not req.ctx.is_admin:
        raise errors.Forbidden("Policy doesn't allow os_compute_api:os-lock-server:unlock:"
                               "unlock_override to be performed.")
    inst.locked, inst.locked_by = False, None
    actions.record(s, req.ctx, inst.uuid, "unlock")
    return 202, None


def _reset_state(s, req, arg):
    arg = schema.validate(arg, RESET_STATE, "os-resetState")
    inst = get_instance(s, req, req.path_params["server_id"], None)
    req.authorize(P + "os-admin-actions:reset_state", {"project_id": inst.project_id})
    domain.reset_state(s, inst, arg["state"])
    return 202, None


def _force_delete(s, req, arg):
    """``forceDelete`` deletes at once (servers are never soft-deleted here:
    ``reclaim_instance_interval`` is 0), like DELETE /servers/{id}."""
    inst = get_instance(s, req, req.path_params["server_id"], P + "os-deferred-delete:force")
    domain.check_unlocked(inst, req.ctx)
    actions.record(s, req.ctx, inst.uuid, "delete")
    if domain.request_delete(s, inst):
        actions.finish(s, inst.uuid, req.ctx.request_id)
    return 202, None


def _restore(s, req, arg):
    """``restore`` applies to soft-deleted servers only, which never exist here."""
    inst = get_instance(s, req, req.path_params["server_id"], P + "os-deferred-delete:restore")
    raise errors.Conflict(f"Cannot 'restore' instance {inst.uuid} while it is in vm_state "
                          f"{inst.vm_state}")


def _inject_network_info(s, req, arg):
    """``injectNetworkInfo`` (admin): nothing to push, the guests get their
    network by DHCP and the config drive; as Nova with the libvirt driver
    (whose inject_network_info does nothing), 202."""
    inst = get_instance(s, req, req.path_params["server_id"], None)
    req.authorize(P + "os-admin-actions:inject_network_info", {"project_id": inst.project_id})
    domain.check_unlocked(inst, req.ctx)
    return 202, None


# Actions of Nova v2.1 this cloud does not implement (no resize/migration,
# shelve, rescue, password injection, security groups or floating IPs on
# servers, backups, remote consoles): the server is looked up first (404 as
# Nova when it does not exist), then 400 as Nova's raise_feature_not_supported.
UNSUPPORTED = frozenset({
    "migrate", "resize", "confirmResize", "revertResize", "os-migrateLive", "evacuate",
    "shelve", "shelveOffload", "unshelve", "rescue", "unrescue", "changePassword",
    "addSecurityGroup", "removeSecurityGroup", "addFloatingIp", "removeFloatingIp",
    "addFixedIp", "removeFixedIp", "createBackup", "os-resetNetwork", "trigger_crash_dump",
    "os-getVNCConsole", "os-getSPICEConsole", "os-getRDPConsole", "os-getSerialConsole",
})


def _unsupported(s, req, arg):
    get_instance(s, req, req.path_params["server_id"], None)
    raise errors.BadRequest("The requested functionality is not supported.")


HANDLERS = {"injectNetworkInfo": _inject_network_info, "forceDelete": _force_delete, "restore": _restore,"reboot": _reboot, "rebuild": _rebuild, "createImage": _create_image,
            "os-getConsoleOutput": _console_output, "lock": _lock, "unlock": _unlock,
            "os-resetState": _reset_state}
