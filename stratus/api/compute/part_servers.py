"""Route modules and default policies of this half of the Compute API:
servers, server actions, server metadata, instance actions.

Rule names are Nova's (``nova/policies/*.py``).  Defaults: project members
(and admins) act on their project's servers, project readers read them;
admin-only actions stay admin-only.  ``OS-EXT-SRV-ATTR:*`` attributes are
shown to admins only (see server_views.detail).
"""
from __future__ import annotations

from stratus.api.compute import (instance_actions, remote_consoles, server_actions,
                                 server_images, server_metadata, servers)

MODULES: list = [servers, server_actions, server_metadata, instance_actions, server_images,
                 remote_consoles]

ADMIN = "role:admin"
MEMBER = "role:admin or (role:member and project_id:%(project_id)s)"
READER = "role:admin or (role:reader and project_id:%(project_id)s)"
P = "os_compute_api:"

POLICY_DEFAULTS: dict[str, str] = {
    P + "servers:create": "role:member or role:admin",
    P + "servers:index": "role:reader or role:admin",
    P + "servers:detail": "role:reader or role:admin",
    P + "servers:index:get_all_tenants": ADMIN,
    P + "servers:detail:get_all_tenants": ADMIN,
    P + "servers:show": READER,
    P + "ips:index": READER,
    P + "ips:show": READER,
    P + "os-server-password:show": READER,
    P + "os-server-password:clear": MEMBER,
    P + "servers:update": MEMBER,
    P + "servers:delete": MEMBER,
    P + "servers:start": MEMBER,
    P + "servers:stop": MEMBER,
    P + "servers:reboot": MEMBER,
    P + "servers:rebuild": MEMBER,
    P + "servers:create_image": MEMBER,
    P + "os-pause-server:pause": MEMBER,
    P + "os-pause-server:unpause": MEMBER,
    P + "os-suspend-server:suspend": MEMBER,
    P + "os-suspend-server:resume": MEMBER,
    P + "os-lock-server:lock": MEMBER,
    P + "os-lock-server:unlock": MEMBER,
    P + "os-console-output": MEMBER,
    P + "os-remote-consoles": MEMBER,
    P + "os-admin-actions:reset_state": ADMIN,
    P + "os-admin-actions:inject_network_info": ADMIN,
    P + "os-deferred-delete:force": MEMBER,
    P + "os-deferred-delete:restore": MEMBER,
    P + "server-metadata:index": READER,
    P + "server-metadata:show": READER,
    P + "server-metadata:create": MEMBER,
    P + "server-metadata:update": MEMBER,
    P + "server-metadata:update_all": MEMBER,
    P + "server-metadata:delete": MEMBER,
    P + "os-instance-actions:list": READER,
    P + "os-instance-actions:show": READER,
    P + "os-instance-actions:events": ADMIN,
}
