"""``/info``: the cluster's capabilities and limits, unauthenticated (what
swiftclient's ``capabilities`` and Tempest's discoverability read)."""
from __future__ import annotations

import time
import uuid

from starlette.responses import JSONResponse, PlainTextResponse

from stratus.api.object_store.accounts import POLICY


def capabilities(conf) -> dict:
    o = conf.object_store
    return {
        "swift": {"version": "2.35.0", "strict_cors_mode": True,
                  "max_file_size": o.max_file_size,
                  "max_meta_name_length": o.max_meta_name_length,
                  "max_meta_value_length": o.max_meta_value_length,
                  "max_meta_count": o.max_meta_count,
                  "max_meta_overall_size": o.max_meta_overall_size,
                  "max_header_size": 8192, "max_object_name_length": o.max_object_name_length,
                  "container_listing_limit": o.container_listing_limit,
                  "account_listing_limit": o.container_listing_limit,
                  "max_account_name_length": 256,
                  "max_container_name_length": o.max_container_name_length,
                  "extra_header_count": 0, "valid_api_versions": ["v1"],
                  "policies": [{"name": POLICY, "default": True}],
                  "allow_account_management": False, "account_autocreate": True},
        "slo": {"max_manifest_segments": o.max_manifest_segments,
                "max_manifest_size": 2097152, "min_segment_size": 1,
                "yield_frequency": 10, "allow_async_delete": False},
        "dlo": {"max_get_time": 86400},
        "keystoneauth": {},
        "expiring_objects": {},
    }


async def info(request):
    runtime = request.scope["stratus.runtime"]
    return JSONResponse(capabilities(runtime.conf),
                        headers={"Content-Type": "application/json; charset=utf-8"})


async def healthcheck(request):
    """Swift's healthcheck middleware: ``OK`` while the API serves."""
    trans = f"tx{uuid.uuid4().hex[:21]}-{int(time.time()):010x}"
    return PlainTextResponse("OK", headers={"X-Trans-Id": trans})
