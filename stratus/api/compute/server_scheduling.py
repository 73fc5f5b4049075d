"""What server create hands the scheduler besides the flavor and hints, and
the checks that make a bad scheduling input the caller's 400.

* ``image_request(session, image)``: ``{"image_props": {...}}`` (the image's
  architecture / hypervisor type / VM mode / requested hypervisor version,
  by nova's names) for the instance's ``request_spec``; empty when the image
  has none.  ImagePropertiesFilter reads it.
* ``check_flavor_demands(snapshot_specs)``: a flavor whose ECU or bandwidth
  extra specs (``stratus:ecu``, ``stratus:ecus_per_vcpu``,
  ``stratus:bandwidth_mbps``, ``quota:vif_inbound_average``,
  ``quota:vif_outbound_average``) are not non-negative numbers is refused
  with 400 naming the key, as the extra-specs API refuses to store one.
"""
from __future__ import annotations

from typing import Any, Mapping

from sqlalchemy import select

from stratus.common import errors
from stratus.scheduler import image_props, request


def image_request(session, image) -> dict[str, Any]:
    from stratus.db.models import image as im
    props = {p.name: p.value for p in session.scalars(
        select(im.ImageProperty).where(
            im.ImageProperty.name.in_(tuple(image_props.LEGACY_NAMES) +
                                      image_props.CURRENT_NAMES),
            im.ImageProperty.image_id == image.id))}
    wanted = image_props.from_image(props)
    return {"image_props": wanted} if wanted else {}


def check_flavor_demands(extra_specs: Mapping[str, Any]) -> None:
    try:
        request.check_demands(extra_specs)
    except request.BadDemand as exc:
        raise errors.BadRequest(str(exc)) from None
