"""Default policy of the Image (Glance v2) API.

Rule names are upstream Glance's (``glance/policies/*.py``) with the defaults of
a cloud that does not enforce token scope: admins may do everything; a
project member manages its own project's images (``project_id`` of the target
is the image owner); making an image public is for admins only; a member
project answers (accepts/rejects) the sharing of an image itself.  Reading is
decided by visibility (stratus/image/api.py) before these rules are checked.
Target keys: ``project_id`` (image owner), ``member_id`` (for member status).
"""
from __future__ import annotations

ADMIN = "role:admin"
ADMIN_OR_OWNER = "role:admin or project_id:%(project_id)s"

IMAGE_POLICY_DEFAULTS = {
    "context_is_admin": ADMIN,
    "add_image": "role:admin or project_id:%(project_id)s",
    "get_image": "",
    "get_images": "",
    "modify_image": ADMIN_OR_OWNER,
    "delete_image": ADMIN_OR_OWNER,
    "publicize_image": ADMIN,
    "communitize_image": ADMIN_OR_OWNER,
    "upload_image": ADMIN_OR_OWNER,
    "download_image": "",
    "deactivate": ADMIN_OR_OWNER,
    "reactivate": ADMIN_OR_OWNER,
    "add_member": ADMIN_OR_OWNER,
    "delete_member": ADMIN_OR_OWNER,
    "get_member": "",
    "get_members": "",
    "modify_member": "role:admin or project_id:%(member_id)s",
    "set_image_owner": ADMIN,
}
