"""API microversion negotiation (``OpenStack-API-Version: <service> X.Y`` and the
legacy ``X-OpenStack-Nova-API-Version``), shared by services that version
their API that way.  Pure functions; the service's routing applies them."""
from __future__ import annotations

import re
from dataclasses import dataclass

from stratus.common import errors

_VERSION = re.compile(r"^([1-9]\d*)\.(0|[1-9]\d*)$")


@dataclass(frozen=True, order=True)
class Version:
    major: int
    minor: int

    @classmethod
    def parse(cls, text: str) -> "Version":
        m = _VERSION.match(text.strip())
        if not m:
            raise errors.BadRequest(f"Invalid microversion string {text!r}: "
                                    "expected MAJOR.MINOR or 'latest'.")
        return cls(int(m.group(1)), int(m.group(2)))

    def __str__(self) -> str:
        return f"{self.major}.{self.minor}"


def requested(headers, service: str, legacy_header: str | None = None) -> str | None:
    """The version string asked for in the headers, or None if none was."""
    value = headers.get("openstack-api-version")
    if value:
        for item in value.split(","):
            parts = item.strip().split(None, 1)
            if len(parts) == 2 and parts[0].lower() == service:
                return parts[1].strip()
    if legacy_header:
        v = headers.get(legacy_header)
        if v:
            return v.strip()
    return None


def negotiate(asked: str | None, minimum: Version, maximum: Version) -> Version:
    """The version to serve: the minimum when none is asked, the maximum for
    'latest'; 406 outside [minimum, maximum]."""
    if asked is None:
        return minimum
    if asked.lower() == "latest":
        return maximum
    v = Version.parse(asked)
    if not (minimum <= v <= maximum):
        raise errors.NotAcceptable(
            f"Version {v} is not supported by the API. Minimum is {minimum} and maximum is "
            f"{maximum}.")
    return v


def response_headers(service: str, version: Version, legacy_header: str | None = None) -> dict:
    headers = {"OpenStack-API-Version": f"{service} {version}",
               "Vary": "OpenStack-API-Version" + (f", {legacy_header}" if legacy_header else "")}
    if legacy_header:
        headers[legacy_header] = str(version)
    return headers
